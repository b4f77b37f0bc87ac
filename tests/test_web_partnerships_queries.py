"""The dashboard's figures (pipeline/partnerships/dashboard.py), read from a real database.

Rows are stored straight through the models: reconstructed — not a capture (names imitate
real funders and partners, every value is made up).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete

from fundradar.pipeline.models import (
    APPLICATION_STAGES,
    Application,
    CallRow,
    Organisation,
    Verdict,
)
from fundradar.pipeline.partnerships import dashboard as dash
from tests.pipeline.exports.exports_factory import NOW, add_call

# NOW is Fri 27 Nov 2026 12:00 UTC = 08:00 in Castries; its week starts Mon 23 Nov
MONDAY = date(2026, 11, 23)


def _app(session, call: CallRow | None, stage: str = "idea", **fields) -> Application:  # type: ignore[no-untyped-def]
    values = {
        "call_id": call.id if call else None,
        "call_key": call.key if call else None,
        "title": call.title if call else "An application without a call",
        "funder": call.funder if call else None,
        "funder_deadline": call.deadline if call else None,
        "stage": stage,
        "created_at": NOW - timedelta(days=30),
    }
    values.update(fields)
    app = Application(**values)
    session.add(app)
    session.flush()
    return app


def _org(session, name: str, kind: str = "other", country: str | None = None, **kw) -> Organisation:  # type: ignore[no-untyped-def]
    org = Organisation(name=name, name_key=name.lower(), kind=kind, country=country, **kw)
    session.add(org)
    session.flush()
    return org


def test_funnel_lists_every_stage_in_order_with_counts(session) -> None:  # type: ignore[no-untyped-def]
    a = add_call(session, 1)
    for stage in ("idea", "idea", "submitted", "awarded"):
        _app(session, a, stage)
    got = dash.funnel(session)
    assert [s.stage for s in got] == list(APPLICATION_STAGES)
    assert {s.stage: s.count for s in got} == {
        "idea": 2,
        "preparing": 0,
        "submitted": 1,
        "awarded": 1,
        "declined": 0,
        "withdrawn": 0,
    }


def test_amounts_by_funder_theme_and_year_never_add_currencies(session) -> None:  # type: ignore[no-untyped-def]
    utc = NOW.tzinfo
    afd = add_call(
        session,
        1,
        funder="Agence française de développement",
        themes=["ocean", "energy"],
        deadline=datetime(2027, 3, 1, 16, tzinfo=utc),
    )
    eu = add_call(
        session,
        2,
        funder="European Commission",
        themes=["ocean"],
        deadline=datetime(2028, 1, 10, 16, tzinfo=NOW.tzinfo),
    )
    _app(session, afd, "submitted", amount_requested=Decimal("500000"), currency="EUR")
    _app(
        session,
        afd,
        "awarded",
        amount_requested=Decimal("200000"),
        amount_awarded=Decimal("150000"),
        currency="eur",
    )
    _app(session, eu, "submitted", amount_requested=Decimal("90000"), currency="USD")
    _app(session, eu, "idea")  # no amount: counted apart
    by_funder = dash.amounts(session, "funder")
    assert by_funder.without_amount == 1
    got = [(r.group, r.currency, r.requested, r.awarded, r.applications) for r in by_funder.rows]
    assert got == [
        ("Agence française de développement", "EUR", Decimal("700000"), Decimal("150000"), 2),
        ("European Commission", "USD", Decimal("90000"), Decimal("0"), 1),
    ]
    assert by_funder.rows[0].label == "Agence française de développement · EUR"
    by_theme = {(r.group, r.currency): r.requested for r in dash.amounts(session, "theme").rows}
    # an application under two themes counts in each; dollars stay apart from euros
    assert by_theme == {
        ("ocean", "EUR"): Decimal("700000"),
        ("energy", "EUR"): Decimal("700000"),
        ("ocean", "USD"): Decimal("90000"),
    }
    by_year = [(r.group, r.currency) for r in dash.amounts(session, "year").rows]
    assert by_year == [("2027", "EUR"), ("2028", "USD")]
    with pytest.raises(ValueError, match="one of funder, theme, year"):
        dash.amounts(session, "owner")


def test_amounts_keep_an_archived_applications_funder(session) -> None:  # type: ignore[no-untyped-def]
    call = add_call(session, 1, funder="Région Guadeloupe", themes=["climate"])
    _app(session, call, "submitted", amount_requested=Decimal("1000"), currency="EUR")
    session.execute(delete(CallRow).where(CallRow.id == call.id))
    session.expire_all()
    rows = dash.amounts(session, "funder").rows
    assert [(r.group, r.requested) for r in rows] == [("Région Guadeloupe", Decimal("1000"))]
    assert [r.group for r in dash.amounts(session, "theme").rows] == [dash.NO_THEME]


def test_upcoming_deadlines_internal_funder_and_shortlisted(session) -> None:  # type: ignore[no-untyped-def]
    # Castries is UTC-4: 02:00 UTC on 4 Dec is still 3 Dec there
    soon = add_call(session, 1, title="Soon", deadline=datetime(2026, 12, 4, 2, tzinfo=NOW.tzinfo))
    far = add_call(session, 2, title="Far", deadline=NOW + timedelta(days=200))
    listed = add_call(
        session, 3, title="Shortlisted, no application yet", deadline=NOW + timedelta(days=20)
    )
    ignored = add_call(session, 4, title="Relevant only", deadline=NOW + timedelta(days=5))
    done = add_call(session, 5, title="Already submitted", deadline=NOW + timedelta(days=6))
    session.add_all(
        [
            Verdict(call_id=listed.id, verdict="shortlist", author="a"),
            Verdict(call_id=ignored.id, verdict="relevant", author="a"),
        ]
    )
    _app(session, soon, "preparing", internal_deadline=date(2026, 11, 30))
    _app(session, far, "idea", internal_deadline=date(2026, 11, 26))  # yesterday: gone
    _app(session, done, "submitted", internal_deadline=date(2026, 11, 28))
    won = add_call(
        session, 6, title="Shortlisted and already won", deadline=NOW + timedelta(days=8)
    )
    session.add(Verdict(call_id=won.id, verdict="shortlist", author="a"))
    _app(session, won, "awarded")  # answered: not "shortlisted, no application yet"
    got = dash.upcoming(session, NOW)
    assert [(u.kind, u.day, u.title, u.days_left) for u in got] == [
        ("internal", date(2026, 11, 30), "Soon", 3),
        ("funder", date(2026, 12, 3), "Soon", 6),
        ("funder", date(2026, 12, 17), "Shortlisted, no application yet", 20),
    ]
    assert got[0].text == "Mon 30 Nov 2026"
    assert got[1].text.startswith("Thu 3 Dec 2026, 22:00")
    assert got[2].application_id is None and got[2].call_id == listed.id


def test_upcoming_follows_a_moved_call_deadline(session) -> None:  # type: ignore[no-untyped-def]
    call = add_call(session, 1, deadline=NOW + timedelta(days=10))
    _app(session, call, "preparing")  # copied deadline: day 10
    call.deadline = NOW + timedelta(days=12)
    session.flush()
    assert [u.days_left for u in dash.upcoming(session, NOW)] == [12]


def test_partners_by_kind_and_country_count_a_merged_entry_once(session) -> None:  # type: ignore[no-untyped-def]
    afd = _org(session, "Agence française de développement", "public_agency", "France")
    _org(session, "AFD", "public_agency", "France", merged_into_id=afd.id)
    _org(session, "Université des Antilles", "university_research", "Guadeloupe")
    _org(session, "CNRS", "university_research", "France")
    _org(session, "Blue Caribbean Ltd", "private", None)
    assert dash.partners_by(session, "kind") == [
        ("university_research", 2),
        ("private", 1),
        ("public_agency", 1),
    ]
    assert dash.partners_by(session, "country") == [
        ("France", 2),
        (dash.NO_COUNTRY, 1),
        ("Guadeloupe", 1),
    ]


def test_calls_per_week_counts_found_and_marked_relevant(session) -> None:  # type: ignore[no-untyped-def]
    # Mon 23 Nov 02:00 UTC is still Sunday 22 Nov in Castries: last week
    days = {
        "this-week-a": datetime(2026, 11, 23, 12, tzinfo=NOW.tzinfo),
        "this-week-b": datetime(2026, 11, 27, 11, tzinfo=NOW.tzinfo),
        "last-week": datetime(2026, 11, 23, 2, tzinfo=NOW.tzinfo),
        "too-old": datetime(2026, 8, 1, 12, tzinfo=NOW.tzinfo),
    }
    rows = {
        k: add_call(session, i, key=f"t:{k}", first_seen=v)
        for i, (k, v) in enumerate(days.items(), 1)
    }
    session.add_all(
        [
            Verdict(call_id=rows["this-week-a"].id, verdict="relevant", author="a"),
            Verdict(call_id=rows["this-week-b"].id, verdict="shortlist", author="a"),
            Verdict(call_id=rows["last-week"].id, verdict="relevant", author="a"),
            Verdict(call_id=rows["last-week"].id, verdict="not-relevant", reason="no", author="b"),
        ]
    )
    session.flush()
    weeks = dash.calls_per_week(session, NOW)
    assert len(weeks) == dash.WEEKS and weeks[-1].week == MONDAY
    assert weeks[0].week == MONDAY - timedelta(weeks=dash.WEEKS - 1)
    assert (weeks[-1].found, weeks[-1].relevant) == (2, 2)
    assert (weeks[-2].found, weeks[-2].relevant) == (1, 0)  # changed its mind: not relevant
    assert sum(w.found for w in weeks) == 3  # August is before these 13 weeks


def test_dashboard_gathers_everything(session) -> None:  # type: ignore[no-untyped-def]
    call = add_call(session, 1)
    _app(session, call, "submitted", amount_requested=Decimal(5), currency="EUR")
    _org(session, "OECS Commission", "regional_body", "Saint Lucia")
    d = dash.dashboard(session, NOW)
    assert d.applications == 1 and d.partners == 1
    assert d.by_funder.rows[0].requested == Decimal(5)
    assert len(d.weeks) == dash.WEEKS and d.weeks[-1].found == 1
