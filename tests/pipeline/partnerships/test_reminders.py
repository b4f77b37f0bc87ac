"""Internal deadlines for the digest's reminders: open applications only, within the window
(or overdue for up to two weeks), soonest first, counted in Saint Lucia days."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fundradar.pipeline.partnerships import applications as apps
from fundradar.pipeline.partnerships.organisations import find_or_create
from fundradar.pipeline.partnerships.reminders import upcoming_internal_deadlines
from fundradar.pipeline.review import record_verdict
from tests.pipeline.exports.exports_factory import add_call


def _app(session, n: int, internal: date | None, stage: str = "idea"):  # type: ignore[no-untyped-def]
    call = add_call(session, n)
    record_verdict(session, call, "shortlist", author="m")
    app = apps.create_from_call(session, call.id, author="m", owner=f"owner {n}")
    apps.update(session, app.id, author="m", internal_deadline=internal)
    path = {
        "preparing": ["preparing"],
        "submitted": ["preparing", "submitted"],
        "declined": ["preparing", "submitted", "declined"],
    }.get(stage, [])
    for step in path:
        apps.move(session, app.id, step, author="m")
    return app


def test_upcoming_internal_deadlines(session) -> None:  # type: ignore[no-untyped-def]
    # 1 December 2026, 02:00 UTC is still 30 November in Saint Lucia
    now = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    soon = _app(session, 1, date(2026, 12, 7), "preparing")
    overdue = _app(session, 2, date(2026, 11, 25))
    _app(session, 3, date(2026, 12, 31))  # beyond the window
    _app(session, 4, date(2026, 12, 2), "declined")  # closed: no reminder
    _app(session, 5, None)  # no internal deadline
    _app(session, 6, date(2026, 11, 1))  # overdue for more than two weeks: dropped
    submitted = _app(session, 7, date(2026, 12, 14), "submitted")  # the window's last day
    lead = find_or_create(session, "Université des Antilles")
    other = find_or_create(session, "AFD")
    apps.add_partner(session, soon.id, lead.id, role="lead", author="m")
    apps.add_partner(session, soon.id, other.id, author="m")
    apps.update(session, soon.id, author="m", amount_requested="50000", currency="EUR")
    found = upcoming_internal_deadlines(session, now, 14)
    assert [(r.application_id, r.days_left) for r in found] == [
        (overdue.id, -5),
        (soon.id, 7),
        (submitted.id, 14),
    ]
    first = found[1]
    assert (first.stage, first.owner, first.lead, first.partners) == (
        "preparing",
        "owner 1",
        "Université des Antilles",
        ("AFD",),
    )
    assert first.internal_deadline == date(2026, 12, 7) and first.call_id == soon.call_id
    assert str(first.amount_requested) == "50000.00" and first.currency == "EUR"
    assert first.funder == "European Commission" and first.funder_deadline is not None
    assert [r.application_id for r in upcoming_internal_deadlines(session, now, 6)] == [overdue.id]
