"""Internal deadlines coming up, for the weekly digest's reminders.

The digest (alerts/compose.py) shows funders' deadlines; an application's internal deadline
(by default 10 days earlier) is the one the unit works to. `upcoming_internal_deadlines` is
the data for that reminder section: plain values, no ORM objects, so the digest can render
them after its session is closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from fundradar.pipeline.models import Application
from fundradar.pipeline.partnerships.applications import OPEN_STAGES
from fundradar.settings import DISPLAY_TZ


@dataclass(frozen=True)
class InternalDeadline:
    """One open application whose internal deadline falls within the window (or has passed
    while it is still open: `days_left` < 0, shown as overdue)."""

    application_id: int
    title: str
    stage: str  # idea | preparing | submitted
    owner: str | None
    internal_deadline: date  # a Saint Lucia date
    days_left: int  # from today in Saint Lucia; negative: overdue
    funder: str | None
    funder_deadline: datetime | None  # aware UTC
    call_id: int | None  # None once the call was deleted (the application is archived)
    call_key: str | None
    lead: str | None  # the lead organisation's name
    partners: tuple[str, ...]  # the other organisations' names
    amount_requested: Decimal | None
    currency: str | None


def upcoming_internal_deadlines(
    session: Session, now: datetime, within_days: int, *, overdue_days: int = 14,
    tz: str = DISPLAY_TZ,
) -> list[InternalDeadline]:  # fmt: skip
    """Open applications (idea, preparing, submitted: submitted ones too, since partners' letters
    may still be due) whose internal deadline is between `overdue_days` ago and `within_days`
    from today (Saint Lucia), soonest first. Archived ones are included: the work goes on
    even when the call page has gone."""
    today = now.astimezone(ZoneInfo(tz)).date()
    start, end = today - timedelta(days=overdue_days), today + timedelta(days=within_days)
    stmt = (
        select(Application)
        .where(Application.stage.in_(OPEN_STAGES))
        .where(Application.internal_deadline.is_not(None))
        .where(Application.internal_deadline >= start, Application.internal_deadline <= end)
        .order_by(Application.internal_deadline, Application.id)
    )
    out = []
    for app in session.scalars(stmt):
        assert app.internal_deadline is not None
        lead = next((p.organisation.name for p in app.partners if p.role == "lead"), None)
        others = tuple(p.organisation.name for p in app.partners if p.role != "lead")
        out.append(InternalDeadline(
            application_id=app.id, title=app.title, stage=app.stage, owner=app.owner,
            internal_deadline=app.internal_deadline,
            days_left=(app.internal_deadline - today).days, funder=app.funder,
            funder_deadline=app.funder_deadline, call_id=app.call_id, call_key=app.call_key,
            lead=lead, partners=others, amount_requested=app.amount_requested,
            currency=app.currency,
        ))  # fmt: skip
    return out
