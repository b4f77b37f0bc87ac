"""Applications, partners and the week's relevant calls as rows, for the workbook and the CSVs.

One definition of each table's columns and values, typed (text, whole numbers, Decimal
amounts, dates), so the workbook writes real dates and numbers (`workbook.py`) and the CSVs
write the same values as text with the CSV feed's defences (`csv_feed.neutralise`, a BOM,
CRLF): text from scraped calls and typed by officers is hostile either way.

Dates are Saint Lucia dates, the way officers count days; a funder's date-only deadline is
that date (`normalise.dates.deadline_day`), never a converted clock time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from fundradar import settings
from fundradar.pipeline.exports import clean_text, one_line
from fundradar.pipeline.exports.csv_feed import BOM, neutralise
from fundradar.pipeline.models import (
    Application,
    ApplicationPartner,
    CallOrganisation,
    utcnow,
)
from fundradar.pipeline.normalise.urls import safe_url

RELEVANT_WINDOW = timedelta(days=7)  # "this week's" relevant calls: first seen in the last 7 days
RELEVANT_BANDS = ("high", "medium")  # band medium or better (the Atom feed's rule), or a verdict


@dataclass(frozen=True)
class Column:
    name: str  # header, in the CSV and the sheet
    kind: str  # text | int | money | date | url | long (wrapped text)
    width: int  # the sheet's column width, in characters


APPLICATION_COLUMNS = (
    Column("id", "int", 6), Column("title", "long", 50), Column("stage", "text", 11),
    Column("owner", "text", 16), Column("funder", "text", 28),
    Column("funder deadline", "date", 13), Column("internal deadline", "date", 13),
    Column("days to internal", "int", 15), Column("amount requested", "money", 16),
    Column("amount awarded", "money", 16), Column("currency", "text", 9),
    Column("lead", "text", 28), Column("partners", "long", 40), Column("call id", "int", 8),
    Column("call key", "text", 30), Column("archived", "date", 12),
    Column("created", "date", 12), Column("notes", "long", 40),
)  # fmt: skip
PARTNER_COLUMNS = (
    Column("id", "int", 6), Column("name", "long", 40), Column("acronym", "text", 10),
    Column("kind", "text", 18), Column("country", "text", 16),
    Column("languages", "text", 10), Column("contact", "text", 28),
    Column("website", "url", 34), Column("calls", "int", 7),
    Column("applications", "int", 12), Column("aliases", "long", 36),
    Column("origin", "text", 8), Column("created", "date", 12), Column("notes", "long", 40),
)  # fmt: skip
CALL_COLUMNS = (
    Column("id", "int", 7), Column("score", "int", 7), Column("band", "text", 8),
    Column("title", "long", 60), Column("funder", "text", 28), Column("programme", "text", 24),
    Column("deadline", "date", 12), Column("days left", "int", 9),
    Column("status", "text", 11), Column("budget max", "money", 16),
    Column("currency", "text", 9), Column("themes", "text", 28),
    Column("first seen", "date", 12), Column("verdict", "text", 14),
    Column("url", "url", 40),
)  # fmt: skip


def _local_day(dt: datetime | None, zone: ZoneInfo) -> date | None:
    return None if dt is None else dt.astimezone(zone).date()


def _days(day: date | None, today: date) -> int | None:
    return None if day is None else (day - today).days


def application_rows(
    session: Session, *, now: datetime | None = None, tz: str = settings.DISPLAY_TZ
) -> Iterator[list[Any]]:
    """Every application (archived ones too), in APPLICATION_COLUMNS order, newest first."""
    zone = ZoneInfo(tz)
    today = (now or utcnow()).astimezone(zone).date()
    stmt = (
        select(Application)
        .options(selectinload(Application.partners).selectinload(ApplicationPartner.organisation))
        .order_by(Application.id.desc())
    )
    for app in session.scalars(stmt):
        lead = next((p.organisation.name for p in app.partners if p.role == "lead"), None)
        others = "; ".join(p.organisation.name for p in app.partners if p.role != "lead")
        yield [
            app.id, one_line(app.title), app.stage, app.owner, one_line(app.funder),
            _local_day(app.funder_deadline, zone), app.internal_deadline,
            _days(app.internal_deadline, today) if app.stage in ("idea", "preparing") else None,
            app.amount_requested, app.amount_awarded, app.currency, lead, others, app.call_id,
            app.call_key, _local_day(app.archived_at, zone), _local_day(app.created_at, zone),
            app.notes,
        ]  # fmt: skip


def partner_rows(session: Session, *, tz: str = settings.DISPLAY_TZ) -> Iterator[list[Any]]:
    """Every organisation not merged into another, in PARTNER_COLUMNS order, by name."""
    from fundradar.pipeline.partnerships.organisations import directory

    zone = ZoneInfo(tz)
    n_calls = func.count(func.distinct(CallOrganisation.call_id))
    calls = dict(session.execute(
        select(CallOrganisation.organisation_id, n_calls)
        .group_by(CallOrganisation.organisation_id)).all())  # fmt: skip
    apps = dict(session.execute(
        select(ApplicationPartner.organisation_id, func.count())
        .group_by(ApplicationPartner.organisation_id)).all())  # fmt: skip
    for org in directory(session):
        yield [
            org.id, org.name, org.acronym, org.kind, org.country,
            ", ".join(org.languages or []), org.contact, safe_url(org.website),
            calls.get(org.id, 0), apps.get(org.id, 0), "; ".join(map(str, org.aliases or [])),
            org.origin, _local_day(org.created_at, zone), org.notes,
        ]  # fmt: skip


def relevant_call_rows(
    session: Session, *, now: datetime | None = None, tz: str = settings.DISPLAY_TZ
) -> Iterator[list[Any]]:
    """This week's relevant calls, best first, in CALL_COLUMNS order: first seen in the last
    7 days, and band medium or better or marked relevant or shortlist by an officer (a
    not-relevant verdict leaves a call out whatever its band)."""
    from fundradar.pipeline.exports.query import CallFilter, iter_calls
    from fundradar.pipeline.normalise.dates import deadline_day
    from fundradar.pipeline.review import verdict_words

    now = now or utcnow()
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    flt = CallFilter(since=now - RELEVANT_WINDOW)
    names = ("id", "score", "band", "title", "funder", "programme", "deadline", "deadline_kind",
             "timezone", "status", "budget_max", "currency", "themes", "first_seen", "url",
             "verdict", "verdict_reason")  # fmt: skip
    for row in iter_calls(session, flt, names):
        if row.band not in RELEVANT_BANDS and row.verdict not in ("relevant", "shortlist"):
            continue
        day = deadline_day(row.deadline, row.deadline_kind, row.timezone, tz)
        budget = None if row.budget_max is None else Decimal(str(row.budget_max))
        yield [
            row.id, row.score, row.band, one_line(row.title), one_line(row.funder),
            one_line(row.programme), day, _days(day, today), row.status, budget, row.currency,
            "; ".join(one_line(str(t)) for t in (row.themes or ()) if t),
            _local_day(row.first_seen, zone), verdict_words(row.verdict, row.verdict_reason),
            safe_url(row.url),
        ]  # fmt: skip


# ------------------------------------------------------------------------------ CSV


def csv_cell(value: Any) -> str | int:
    """A value as the CSV writes it: ISO dates, amounts with 2 decimals, text cleaned of
    controls and neutralised against formulas, '' for none."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    return neutralise(clean_text(str(value)))


def csv_text(columns: Sequence[Column], rows: Iterator[list[Any]],
             counter: list[int] | None = None) -> Iterator[str]:  # fmt: skip
    """The CSV as text chunks: BOM, header, one line per row (CRLF, as Excel writes)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    buf.write(BOM)
    writer.writerow([c.name for c in columns])
    n = 0
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
        n += 1
        if buf.tell() > 1 << 16:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()
    if counter is not None:
        counter.append(n)


def applications_csv(session: Session, *, now: datetime | None = None,
                     counter: list[int] | None = None) -> Iterator[str]:  # fmt: skip
    return csv_text(APPLICATION_COLUMNS, application_rows(session, now=now), counter)


def partners_csv(session: Session, *, counter: list[int] | None = None) -> Iterator[str]:
    return csv_text(PARTNER_COLUMNS, partner_rows(session), counter)
