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
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
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


def _year(app: Application, tz: str) -> str:
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
    stmt = select(Application, CallRow.themes).outerjoin(CallRow, CallRow.id == Application.call_id)
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 2)
    seen: Counter[tuple[str, str]] = Counter()
    without = 0
    for app, themes in session.execute(stmt).all():
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


def _shortlisted_ids(session: Session) -> set[int]:
    stmt = select(Verdict.call_id).where(
        Verdict.id.in_(latest_verdict_ids()), Verdict.verdict == "shortlist"
    )
    return set(session.scalars(stmt))


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
    waiting = _shortlisted_ids(session) - answered
    if waiting:
        for call in session.scalars(select(CallRow).where(CallRow.id.in_(sorted(waiting)))):
            day = deadline_day(call.deadline, call.deadline_kind, call.timezone, tz)
            if day is not None and today <= day <= last:
                out.append(
                    Upcoming(
                        "funder",
                        day,
                        (day - today).days,
                        format_deadline(
                            call.deadline, call.deadline_kind, call.timezone, display_tz=tz
                        ),
                        call.title or "(untitled call)",
                        None,
                        call.id,
                        None,
                    )
                )
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
    with how many of them are now marked relevant or shortlisted."""
    this_week = _monday(to_local(now, tz).date())
    first = this_week - timedelta(weeks=weeks - 1)
    # a day's margin either side of the UTC bound: the exact week is decided in local time
    since = datetime.combine(first - timedelta(days=1), datetime.min.time(), now.tzinfo)
    liked = select(Verdict.call_id).where(
        Verdict.id.in_(latest_verdict_ids()), Verdict.verdict.in_(("relevant", "shortlist"))
    )
    found: Counter[date] = Counter()
    relevant: Counter[date] = Counter()
    stmt = select(CallRow.first_seen, CallRow.id.in_(liked)).where(CallRow.first_seen >= since)
    for seen, is_relevant in session.execute(stmt).all():
        week = _monday(to_local(seen, tz).date())
        if first <= week <= this_week:
            found[week] += 1
            relevant[week] += bool(is_relevant)
    return [
        WeekCount(w, found[w], relevant[w])
        for w in (first + timedelta(weeks=i) for i in range(weeks))
    ]


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
