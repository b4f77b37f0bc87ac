"""What the partnerships dashboard shows, read from the database (read-only, no web here).

Pure functions of a session and a clock, each returning plain dataclasses, so the page, a test
or a future digest section read the same figures:

- `funnel`: applications by stage, in the order an application moves (idea → … → withdrawn);
- `amounts`: amounts requested and awarded, grouped by funder, theme or year and by currency
  (euros and dollars are never added together);
- `upcoming`: internal and funder deadlines still ahead, in Saint Lucia time;
- `partners_by`: partner organisations (merged entries not counted twice) by kind or territory;
- `calls_per_week`: calls found per week (first seen, Saint Lucia weeks starting Monday) and how
  many of them officers marked relevant or shortlisted (their latest verdict).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from fundradar.pipeline.models import (
    Application,
    CallRow,
    Organisation,
    Verdict,
)
from fundradar.pipeline.normalise.dates import deadline_day, format_deadline, to_local
from fundradar.pipeline.review import latest_verdict_ids
from fundradar.settings import DISPLAY_TZ

ACTIVE_STAGES = ("idea", "preparing")  # deadlines still to meet
AMOUNT_GROUPS = ("funder", "theme", "year")
PARTNER_GROUPS = ("kind", "country")
HORIZON_DAYS = 90  # upcoming deadlines shown: the next three months
WEEKS = 13  # calls found: the last quarter (13 weeks), this one included
NO_FUNDER = "(funder not named)"
NO_THEME = "(no theme)"
NO_COUNTRY = "(not stated)"


@dataclass(frozen=True)
class StageCount:
    stage: str
    count: int


@dataclass(frozen=True)
class AmountRow:
    """Money asked and won for one group (a funder, a theme or a year) in one currency."""

    group: str
    currency: str  # "" when the application does not say
    requested: Decimal
    awarded: Decimal
    applications: int

    @property
    def label(self) -> str:
        return f"{self.group} · {self.currency}" if self.currency else self.group


@dataclass(frozen=True)
class Amounts:
    by: str  # funder | theme | year
    rows: list[AmountRow] = field(default_factory=list)
    without_amount: int = 0  # applications with neither amount given


@dataclass(frozen=True)
class Upcoming:
    """One deadline ahead: an application's internal one, or a funder's."""

    kind: str  # "internal" | "funder"
    day: date  # the calendar day it falls on (Saint Lucia, or the funder's for date-only)
    days_left: int
    text: str  # as people read it: "Tue 15 Dec 2026" / "Fri 15 Jan 2027, 12:00 AST"
    title: str
    application_id: int | None
    call_id: int | None
    stage: str | None  # the application's stage; None for a shortlisted call without one


@dataclass(frozen=True)
class WeekCount:
    week: date  # Monday, Saint Lucia time
    found: int
    relevant: int  # of those, latest verdict relevant or shortlist


def funnel(session: Session) -> list[StageCount]:
    """Applications by their current stage, every stage listed (zero included), in order."""
    from fundradar.pipeline.partnerships.applications import stage_counts

    return [StageCount(stage, int(n)) for stage, n in stage_counts(session)]


def _year(app: Any, tz: str) -> str:
    # the year the money is asked for: the funder's deadline, else the year the work began
    when = app.funder_deadline or app.created_at
    return str(to_local(when, tz).year) if when else "(no date)"


def amounts(session: Session, by: str, tz: str = DISPLAY_TZ) -> Amounts:
    """Amounts requested and awarded per funder, theme or year, per currency, largest first.

    An application under several themes counts in each (the theme totals overlap; the page
    says so). An application whose call was deleted keeps its copied funder; its themes are
    gone with the call.
    """
    if by not in AMOUNT_GROUPS:
        raise ValueError(f"amounts by {by!r}: one of {', '.join(AMOUNT_GROUPS)}")
    # the columns the totals need, not whole rows (a dashboard of 2,000 applications)
    stmt = select(
        Application.funder, Application.funder_deadline, Application.created_at,
        Application.amount_requested, Application.amount_awarded, Application.currency,
        CallRow.themes,
    ).outerjoin(CallRow, CallRow.id == Application.call_id)  # fmt: skip
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 2)
    seen: Counter[tuple[str, str]] = Counter()
    without = 0
    for app in session.execute(stmt).all():
        themes = app.themes
        if app.amount_requested is None and app.amount_awarded is None:
            without += 1
            continue
        if by == "funder":
            groups = [(app.funder or "").strip() or NO_FUNDER]
        elif by == "year":
            groups = [_year(app, tz)]
        else:
            groups = sorted({t for t in themes or () if isinstance(t, str) and t}) or [NO_THEME]
        currency = (app.currency or "").strip().upper()
        for g in groups:
            key = (g, currency)
            totals[key][0] += app.amount_requested or 0
            totals[key][1] += app.amount_awarded or 0
            seen[key] += 1
    rows = [AmountRow(g, c, req, won, seen[(g, c)]) for (g, c), (req, won) in totals.items()]
    if by == "year":
        rows.sort(key=lambda r: (r.group, r.currency))
    else:
        rows.sort(key=lambda r: (-r.requested, -r.awarded, r.group, r.currency))
    return Amounts(by, rows, without)


def _shortlisted():  # type: ignore[no-untyped-def]
    return select(Verdict.call_id).where(
        Verdict.id.in_(latest_verdict_ids()), Verdict.verdict == "shortlist"
    )


def _utc_window(first: date, last: date) -> tuple[datetime, datetime]:
    """UTC instants safely around the local days first..last: two days' margin covers any
    zone a date-only deadline is read in (UTC-12 to UTC+14); the exact day is decided after."""
    lo = datetime.combine(first - timedelta(days=2), time(0), UTC)
    hi = datetime.combine(last + timedelta(days=3), time(0), UTC)
    return lo, hi


def upcoming(
    session: Session, now: datetime, *, days: int = HORIZON_DAYS, tz: str = DISPLAY_TZ
) -> list[Upcoming]:
    """Deadlines from today to `days` ahead, soonest first (internal before funder on a day).

    - internal deadlines of applications still in preparation (idea, preparing);
    - funder deadlines of those applications (the call's current deadline when the call is
      still stored: it may have moved since the application was made);
    - funder deadlines of shortlisted calls no application answers yet (at any stage).
    """
    today = to_local(now, tz).date()
    last = today + timedelta(days=days)
    out: list[Upcoming] = []
    answered: set[int] = set()
    stmt = (
        select(Application, CallRow)
        .outerjoin(CallRow, CallRow.id == Application.call_id)
        .where(Application.stage.in_(ACTIVE_STAGES))
    )
    for app, call in session.execute(stmt).all():
        if app.call_id is not None:
            answered.add(app.call_id)
        title = app.title or (call.title if call else "") or "(untitled)"
        if app.internal_deadline and today <= app.internal_deadline <= last:
            d = app.internal_deadline
            out.append(
                Upcoming(
                    "internal",
                    d,
                    (d - today).days,
                    f"{d:%a} {d.day} {d:%b %Y}",
                    title,
                    app.id,
                    app.call_id,
                    app.stage,
                )
            )
        deadline = call.deadline if call is not None else app.funder_deadline
        kind = call.deadline_kind if call is not None else None
        zone = call.timezone if call is not None else None
        day = deadline_day(deadline, kind, zone, tz)
        if day is not None and deadline is not None and today <= day <= last:
            out.append(
                Upcoming(
                    "funder",
                    day,
                    (day - today).days,
                    format_deadline(deadline, kind, zone, display_tz=tz),
                    title,
                    app.id,
                    app.call_id,
                    app.stage,
                )
            )
    # a call answered at any stage (even awarded or withdrawn) is no longer "waiting"
    answered.update(
        session.scalars(select(Application.call_id).where(Application.call_id.is_not(None)))
    )
    lo, hi = _utc_window(today, last)
    waiting = select(CallRow.id, CallRow.title, CallRow.deadline, CallRow.deadline_kind,
                     CallRow.timezone).where(
        CallRow.id.in_(_shortlisted()), CallRow.deadline >= lo, CallRow.deadline < hi
    )  # fmt: skip
    for call in session.execute(waiting).all():
        if call.id in answered:
            continue
        day = deadline_day(call.deadline, call.deadline_kind, call.timezone, tz)
        if day is None or not today <= day <= last:
            continue
        text = format_deadline(call.deadline, call.deadline_kind, call.timezone, display_tz=tz)
        out.append(
            Upcoming("funder", day, (day - today).days, text, call.title or "(untitled call)",
                     None, call.id, None)
        )  # fmt: skip
    out.sort(key=lambda u: (u.day, u.kind != "internal", u.title, u.application_id or 0))
    return out


def partners_by(session: Session, by: str) -> list[tuple[str, int]]:
    """Organisations (a merged entry counted once, as its survivor) by kind or territory,
    most first."""
    if by not in PARTNER_GROUPS:
        raise ValueError(f"partners by {by!r}: one of {', '.join(PARTNER_GROUPS)}")
    column = Organisation.kind if by == "kind" else Organisation.country
    stmt = (
        select(column, func.count()).where(Organisation.merged_into_id.is_(None)).group_by(column)
    )
    counts: Counter[str] = Counter()
    for value, n in session.execute(stmt).all():
        counts[(value or "").strip() or NO_COUNTRY] += int(n)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def calls_per_week(
    session: Session, now: datetime, *, weeks: int = WEEKS, tz: str = DISPLAY_TZ
) -> list[WeekCount]:
    """Calls first seen in each of the last `weeks` weeks (this one included), oldest first,
    with how many of them are now marked relevant or shortlisted.

    Counted by the database in one grouped query: each week is the UTC span between two
    local Mondays at midnight (a CASE over those bounds), so no call is read into Python."""
    zone = ZoneInfo(tz)
    this_week = _monday(to_local(now, tz).date())
    mondays = [this_week - timedelta(weeks=weeks - 1 - i) for i in range(weeks + 1)]
    bounds = [datetime.combine(m, time(0), zone).astimezone(UTC) for m in mondays]
    # a plain IN on the verdicts' subquery: SQLite and PostgreSQL build it once (a join
    # against it was rescanned for every call: 16 s at 20,000 calls)
    liked = select(Verdict.call_id).where(
        Verdict.id.in_(latest_verdict_ids()), Verdict.verdict.in_(("relevant", "shortlist"))
    )
    bucket = case(*((CallRow.first_seen < bounds[i + 1], i) for i in range(weeks)), else_=weeks)
    stmt = (
        select(bucket, func.count(), func.sum(case((CallRow.id.in_(liked), 1), else_=0)))
        .where(CallRow.first_seen >= bounds[0], CallRow.first_seen < bounds[-1])
        .group_by(bucket)
    )
    counts = {int(b): (int(n), int(r)) for b, n, r in session.execute(stmt).all()}
    return [WeekCount(mondays[i], *counts.get(i, (0, 0))) for i in range(weeks)]


@dataclass(frozen=True)
class Dashboard:
    funnel: list[StageCount]
    by_funder: Amounts
    by_theme: Amounts
    by_year: Amounts
    upcoming: list[Upcoming]
    partners_by_kind: list[tuple[str, int]]
    partners_by_country: list[tuple[str, int]]
    weeks: list[WeekCount]

    @property
    def applications(self) -> int:
        return sum(s.count for s in self.funnel)

    @property
    def partners(self) -> int:
        return sum(n for _, n in self.partners_by_kind)


def dashboard(session: Session, now: datetime, tz: str = DISPLAY_TZ) -> Dashboard:
    """Every figure of the dashboard page, as of `now`."""
    return Dashboard(
        funnel=funnel(session),
        by_funder=amounts(session, "funder", tz),
        by_theme=amounts(session, "theme", tz),
        by_year=amounts(session, "year", tz),
        upcoming=upcoming(session, now, tz=tz),
        partners_by_kind=partners_by(session, "kind"),
        partners_by_country=partners_by(session, "country"),
        weeks=calls_per_week(session, now, tz=tz),
    )
