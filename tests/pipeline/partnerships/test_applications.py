"""Applications: made from a shortlisted call, moved through their stages with a history,
edited with validation, partnered, and archived (never deleted) when their call is."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, select

from fundradar.exceptions import ApplicationError
from fundradar.pipeline.models import (
    Application,
    ApplicationEvent,
    CallOrganisation,
    CallRow,
    Organisation,
)
from fundradar.pipeline.partnerships import applications as apps
from fundradar.pipeline.partnerships.organisations import find_or_create
from fundradar.pipeline.review import record_verdict
from tests.pipeline.exports.exports_factory import NOW, add_call


def shortlisted(session, n: int = 1, **fields) -> CallRow:  # type: ignore[no-untyped-def]
    call = add_call(session, n, **fields)
    record_verdict(session, call, "shortlist", author="marie")
    return call


def test_create_needs_a_shortlisted_call(session) -> None:  # type: ignore[no-untyped-def]
    call = add_call(session, 1)
    with pytest.raises(ApplicationError, match="it has no verdict\\): shortlist it first"):
        apps.create_from_call(session, call.id, author="marie")
    record_verdict(session, call, "relevant", author="marie")
    with pytest.raises(ApplicationError, match="latest verdict is relevant\\): shortlist it"):
        apps.create_from_call(session, call.id, author="marie")
    record_verdict(session, call, "shortlist", author="marie")
    app = apps.create_from_call(session, call.id, author="marie", owner="  Jean  Baptiste ")
    assert app.stage == "idea" and app.owner == "Jean Baptiste"
    with pytest.raises(ApplicationError, match=f"already has application {app.id}"):
        apps.create_from_call(session, call.id, author="marie")


def test_create_copies_the_call_and_sets_the_internal_deadline(session) -> None:  # type: ignore[no-untyped-def]
    # 2027-01-15 03:00 UTC is 14 January 23:00 in Saint Lucia: the internal deadline counts
    # from the Saint Lucia date, 10 days before 14 January
    deadline = datetime(2027, 1, 15, 3, 0, tzinfo=UTC)
    call = shortlisted(
        session,
        1,
        deadline=deadline,
        deadline_kind="datetime",
        funder="Agence française de développement",
    )
    app = apps.create_from_call(session, call.id, author="marie", now=NOW)
    assert (app.call_id, app.call_key, app.title) == (call.id, call.key, call.title)
    assert app.funder == "Agence française de développement"
    assert app.funder_deadline == deadline
    assert app.internal_deadline == date(2027, 1, 4)
    assert app.created_by == "marie"
    [event] = app.events
    assert (event.from_stage, event.to_stage, event.author) == (None, "idea", "marie")
    assert event.note == f"made from call {call.id} ({call.key})"
    # the funder is in the directory, linked to the call as its funder
    link = session.scalars(
        select(CallOrganisation).where(CallOrganisation.call_id == call.id)
    ).one()
    org = session.get(Organisation, link.organisation_id)
    assert (link.role, org.name, org.origin, org.acronym) == ("funder", app.funder, "calls", "AFD")


def test_date_only_deadline_and_no_deadline(session) -> None:  # type: ignore[no-untyped-def]
    # a date-only deadline in Paris: 31 March stays 31 March (stored as midnight Paris, which is
    # 30 March in Saint Lucia), so the internal deadline is 21 March
    paris_midnight = datetime(2027, 3, 30, 22, 0, tzinfo=UTC)
    dated = shortlisted(
        session, 1, deadline=paris_midnight, deadline_kind="date", timezone="Europe/Paris"
    )
    undated = shortlisted(session, 2, deadline=None, deadline_kind="rolling")
    assert apps.create_from_call(session, dated.id, author="m").internal_deadline == date(
        2027, 3, 21
    )
    assert apps.create_from_call(session, undated.id, author="m").internal_deadline is None


def test_each_stage_change_is_recorded_with_author_time_and_note(session) -> None:  # type: ignore[no-untyped-def]
    app = apps.create_from_call(session, shortlisted(session).id, author="marie", now=NOW)
    steps = [
        ("preparing", "jean", None),
        ("submitted", "marie", "sent by the portal"),
        ("awarded", "jean", "letter of 3 March"),
    ]
    for i, (stage, who, note) in enumerate(steps, start=1):
        event = apps.move(
            session, app.id, stage, author=who, note=note, now=NOW + timedelta(days=i)
        )
        assert app.stage == stage and event.to_stage == stage
    session.expire_all()
    history = [
        (e.from_stage, e.to_stage, e.author, e.at, e.note) for e in apps.history(session, app.id)
    ]
    assert history == [
        (None, "idea", "marie", NOW, f"made from call {app.call_id} ({app.call_key})"),
        ("idea", "preparing", "jean", NOW + timedelta(days=1), None),
        ("preparing", "submitted", "marie", NOW + timedelta(days=2), "sent by the portal"),
        ("submitted", "awarded", "jean", NOW + timedelta(days=3), "letter of 3 March"),
    ]
    assert session.get(Application, app.id).updated_at == NOW + timedelta(days=3)
    other = apps.create_from_call(session, shortlisted(session, 2).id, author="m")
    apps.move(session, other.id, "preparing", author="m")
    # soonest internal deadline first (call 1 closes a day before call 2)
    assert [a.id for a in apps.list_applications(session)] == [app.id, other.id]
    assert [a.id for a in apps.list_applications(session, call_id=app.call_id)] == [app.id]
    assert [a.id for a in apps.list_applications(session, stages=["awarded"])] == [app.id]
    assert apps.stage_counts(session) == [
        ("idea", 0),
        ("preparing", 1),
        ("submitted", 0),
        ("awarded", 1),
        ("declined", 0),
        ("withdrawn", 0),
    ]


@pytest.mark.parametrize("closing", ["declined", "withdrawn"])
def test_other_endings(session, closing) -> None:  # type: ignore[no-untyped-def]
    app = apps.create_from_call(session, shortlisted(session).id, author="m")
    apps.move(session, app.id, "preparing", author="m")
    if closing == "declined":
        apps.move(session, app.id, "submitted", author="m")
    apps.move(session, app.id, closing, author="m")
    assert app.stage == closing


def test_refused_transitions_say_why_and_change_nothing(session) -> None:  # type: ignore[no-untyped-def]
    app = apps.create_from_call(session, shortlisted(session).id, author="m")
    with pytest.raises(
        ApplicationError,
        match="from idea to submitted; from idea it can go to preparing, withdrawn",
    ):
        apps.move(session, app.id, "submitted", author="m")
    with pytest.raises(ApplicationError, match="from idea to awarded"):
        apps.move(session, app.id, "awarded", author="m")
    with pytest.raises(ApplicationError, match="already idea"):
        apps.move(session, app.id, "idea", author="m")
    with pytest.raises(ApplicationError, match="unknown stage 'won' \\(one of idea, preparing"):
        apps.move(session, app.id, "won", author="m")
    apps.move(session, app.id, "preparing", author="m")
    with pytest.raises(ApplicationError, match="from preparing to idea"):
        apps.move(session, app.id, "idea", author="m")
    apps.move(session, app.id, "withdrawn", author="m")
    for stage in ("idea", "preparing", "submitted", "awarded"):
        with pytest.raises(
            ApplicationError, match="withdrawn, a closed stage: it cannot be reopened"
        ):
            apps.move(session, app.id, stage, author="m")
    assert app.stage == "withdrawn"
    assert [e.to_stage for e in app.events] == ["idea", "preparing", "withdrawn"]
    with pytest.raises(ApplicationError, match="no application with id 999"):
        apps.move(session, 999, "preparing", author="m")


def test_update_validates_and_says_what_changed(session) -> None:  # type: ignore[no-untyped-def]
    app = apps.create_from_call(session, shortlisted(session).id, author="m")
    event = apps.update(
        session,
        app.id,
        author="jean",
        owner="Marie",
        amount_requested="50000",
        currency="eur",
        internal_deadline="2026-12-20",
    )
    assert app.amount_requested == Decimal("50000.00") and app.currency == "EUR"
    assert app.internal_deadline == date(2026, 12, 20)
    assert event is not None and event.author == "jean" and event.to_stage is None
    assert event.note is not None
    assert "owner: none → Marie" in event.note
    assert "amount requested: none → 50,000.00 EUR" in event.note
    assert "currency: none → EUR" in event.note
    assert "internal deadline: " in event.note and "→ 2026-12-20" in event.note
    # the same values again: nothing changed, no event
    assert apps.update(session, app.id, author="jean", owner="Marie", currency="EUR") is None
    bad = [
        ({"amount_requested": "-5"}, "negative"),
        ({"amount_requested": "12.345"}, "more than 2 decimals"),
        ({"amount_requested": "lots"}, "not an amount"),
        ({"amount_requested": "NaN"}, "not an amount"),
        ({"currency": "EURO"}, "not an ISO 4217 code"),
        ({"currency": "ECD"}, "not an ISO 4217 code"),
        ({"amount_awarded": "40000"}, "only be set once it is awarded"),
        ({"currency": None}, "give the currency"),
        ({"internal_deadline": "20/12/2026"}, "not a date"),
    ]
    for kwargs, message in bad:
        with pytest.raises(ApplicationError, match=message):
            apps.update(session, app.id, author="jean", **kwargs)
    assert (app.amount_requested, app.currency) == (Decimal("50000.00"), "EUR")  # untouched
    for stage in ("preparing", "submitted", "awarded"):
        apps.move(session, app.id, stage, author="m")
    event = apps.update(session, app.id, author="jean", amount_awarded=Decimal("42500.5"))
    assert app.amount_awarded == Decimal("42500.50")
    assert event is not None and event.note == "amount awarded: none → 42,500.50 EUR"
    assert apps.parse_amount("50 000,50") == Decimal("50000.50")
    assert apps.parse_amount("50,000") == Decimal("50000.00")
    assert apps.parse_amount(0.1) == Decimal("0.10")


def test_partners_one_lead_at_most(session) -> None:  # type: ignore[no-untyped-def]
    app = apps.create_from_call(session, shortlisted(session).id, author="m")
    ird = find_or_create(
        session, "Institut de recherche pour le développement", kind="university_research"
    )
    afd = find_or_create(session, "AFD")
    uwi = find_or_create(session, "University of the West Indies")
    apps.add_partner(session, app.id, ird.id, role="lead", author="m")
    apps.add_partner(session, app.id, afd.id, author="m")
    with pytest.raises(ApplicationError, match="already has a lead \\(Institut de recherche"):
        apps.add_partner(session, app.id, uwi.id, role="lead", author="m")
    with pytest.raises(ApplicationError, match="AFD is already partner"):
        apps.add_partner(session, app.id, afd.id, author="m")
    with pytest.raises(ApplicationError, match="unknown partner role 'boss'"):
        apps.add_partner(session, app.id, uwi.id, role="boss", author="m")
    apps.add_partner(session, app.id, ird.id, role="partner", author="m")  # lead -> partner
    apps.add_partner(session, app.id, uwi.id, role="lead", author="m")
    assert {(p.organisation.name, p.role) for p in app.partners} == {
        (ird.name, "partner"),
        ("AFD", "partner"),
        (uwi.name, "lead"),
    }
    apps.remove_partner(session, app.id, afd.id, author="m")
    with pytest.raises(ApplicationError, match="AFD is not in application"):
        apps.remove_partner(session, app.id, afd.id, author="m")
    assert session.get(Organisation, afd.id) is not None  # the organisation stays
    notes = [e.note for e in app.events[1:]]
    assert notes == [
        f"lead added: {ird.name}",
        "partner added: AFD",
        f"{ird.name}: lead → partner",
        f"lead added: {uwi.name}",
        "partner removed: AFD",
    ]


def _archive_case(session):  # type: ignore[no-untyped-def]
    call = shortlisted(session, 1)
    keep = shortlisted(session, 2)
    app = apps.create_from_call(session, call.id, author="m")
    other = apps.create_from_call(session, keep.id, author="m")
    apps.move(session, app.id, "preparing", author="m")
    session.commit()
    return call, app, other


def test_deleting_a_call_archives_its_applications_orm_delete(session) -> None:  # type: ignore[no-untyped-def]
    call, app, other = _archive_case(session)
    app_id = app.id
    session.delete(call)
    session.commit()
    session.expire_all()
    app = session.get(Application, app_id)
    assert app is not None and app.call_id is None and app.archived_at is not None
    assert (app.call_key, app.stage) == (call.key, "preparing")  # still readable
    assert app.events[-1].note == apps.ARCHIVE_NOTE and app.events[-1].author == "fundradar"
    assert session.get(Application, other.id).archived_at is None
    # moving on after the archive still works: the application outlives its call
    apps.move(session, app_id, "submitted", author="m")


def test_deleting_a_call_archives_its_applications_bulk_delete(session) -> None:  # type: ignore[no-untyped-def]
    call, app, other = _archive_case(session)
    session.execute(delete(CallRow).where(CallRow.id == call.id))
    session.commit()
    session.expire_all()
    assert session.get(Application, app.id).archived_at is not None
    assert session.get(Application, other.id).archived_at is None
    # idempotent: a second sweep archives nothing more and adds no event
    assert apps.archive_for_deleted_calls(session) == 0
    assert len(session.get(Application, app.id).events) == 3


def test_archive_sweep_for_deletions_made_outside(session) -> None:  # type: ignore[no-untyped-def]
    call, app, _other = _archive_case(session)
    # a deletion through the connection (an SQL prompt): no hook runs, the sweep catches it
    session.connection().execute(delete(CallRow.__table__).where(CallRow.id == call.id))
    assert apps.archive_for_deleted_calls(session) == 1
    session.expire_all()
    assert session.get(Application, app.id).archived_at is not None
    events = session.scalars(
        select(ApplicationEvent).where(ApplicationEvent.application_id == app.id)
    ).all()
    assert [e.note for e in events][-1] == apps.ARCHIVE_NOTE


def test_twin_calls_joined_move_applications_to_the_call_kept(session) -> None:  # type: ignore[no-untyped-def]
    from fundradar.pipeline.store.bridge import absorb

    keep, gone = shortlisted(session, 1), shortlisted(session, 2)
    app = apps.create_from_call(session, gone.id, author="m")
    session.commit()
    absorb(session, keep, gone)
    session.commit()
    session.expire_all()
    app = session.get(Application, app.id)
    assert app.call_id == keep.id and app.archived_at is None
    links = session.scalars(select(CallOrganisation)).all()
    assert [(link.call_id, link.role) for link in links] == [(keep.id, "funder")]
