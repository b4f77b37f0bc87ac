"""The CSV feed officers open in Excel or Google Sheets between digests.

Chosen for reading, not for completeness: twelve columns plus the link, best calls first (band,
then soonest deadline); then the call's id and its latest verdict in the words an officer types
('relevant', 'not relevant: <reason>', 'shortlist'), so verdicts typed into that column in a
spreadsheet go back with `fundradar review --from-csv`. Written so a spreadsheet shows it right
and can never be turned against the reader:

- UTF-8 with a byte-order mark, or Excel on Windows shows "Ã©" for "é" (French and Spanish
  titles are common);
- ISO 8601 dates; the deadline in Saint Lucia time with its offset (`2026-03-31T12:00-04:00`),
  the first-seen day as a Saint Lucia date; empty cells for unknowns, never "None" or "nan";
- every text cell that a spreadsheet would read as a formula (starting with = + - @, tab or
  carriage return, also after leading spaces) gets a leading apostrophe: scraped titles are
  hostile, and `=HYPERLINK(...)` or `=cmd|...` in a cell runs on the officer's machine;
- links only when they are http(s) (`pipeline.normalise.urls.safe_url`).

`refresh_feed()` rewrites `$FUNDRADAR_HOME/exports/calls.csv` after every crawl, atomically.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from fundradar import settings
from fundradar.exceptions import ExportError
from fundradar.pipeline.exports import clean_text, one_line
from fundradar.pipeline.exports.files import atomic_text
from fundradar.pipeline.exports.query import CallFilter, decoder, iter_calls, iter_tuples
from fundradar.pipeline.models import utcnow
from fundradar.pipeline.normalise.dates import deadline_day
from fundradar.pipeline.normalise.urls import safe_url
from fundradar.pipeline.record import Call
from fundradar.pipeline.review import verdict_words

log = logging.getLogger(__name__)

COLUMNS = (
    "score", "band", "title", "funder", "programme", "deadline", "days_left", "status",
    "budget", "themes", "reasons", "first_seen", "url", "id", "verdict",
)  # fmt: skip
# What the rows are built from (only these columns are read from the database).
SOURCE_COLUMNS = (
    "id", "score", "band", "title", "funder", "programme", "deadline", "status", "budget_min",
    "budget_max", "currency", "budget_scope", "themes", "reasons", "first_seen", "url",
    "deadline_kind", "timezone", "verdict", "verdict_reason",
)  # fmt: skip
TOP_REASONS = 3
BOM = "\ufeff"
FEED_NAME = "calls.csv"
_CHUNK_ROWS = 1000

# Characters a spreadsheet may read as the start of a formula (OWASP "CSV injection"), plus
# their full-width forms, which some spreadsheet locales also accept.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise(cell: str) -> str:
    """`'=1+1` for `=1+1` (and for `  =1+1`): shown as text, never evaluated."""
    if cell.startswith(_FORMULA_START) or cell.lstrip().startswith(_FORMULA_START):
        return "'" + cell
    return cell


def unneutralise(cell: str) -> str:
    """The text `neutralise` was given: its apostrophe taken off again (reading the feed back,
    `fundradar review --from-csv`); any other cell as it is. A text that itself began with
    "'=" reads as "=": the one ambiguity, and the way Excel reads a leading apostrophe too."""
    if cell.startswith("'") and neutralise(cell[1:]) == cell:
        return cell[1:]
    return cell


def _latest_verdict(row: Any) -> tuple[str | None, str | None]:
    # a row of SOURCE_COLUMNS carries its latest verdict; a CallRow object has its history
    if hasattr(row, "verdict"):
        return row.verdict, row.verdict_reason
    verdicts = getattr(row, "verdicts", None)
    return (verdicts[-1].verdict, verdicts[-1].reason) if verdicts else (None, None)


def _budget(row: Any) -> str:
    # one wording for budgets everywhere: the call record's own display (duck-typed on the row)
    return Call.budget_display(row)


def _cell(value: Any) -> str | int:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return value  # numbers as numbers: -3 days left is a number, not a formula
    # every text cell: no NUL or bidi override, even from rows stored before normalising did it
    return neutralise(clean_text(str(value)))


class RowFormatter:
    """Turns stored calls into feed rows. Built once per export: the zone and today's date are
    looked up once, not 100,000 times (this loop is the export's cost; see bench/export.py)."""

    def __init__(self, now: datetime, tz: str = settings.DISPLAY_TZ) -> None:
        self.zone = ZoneInfo(tz)
        self.today = now.astimezone(self.zone).date()

    def deadline_cells(self, row: Any) -> tuple[str | None, int | None]:
        """(deadline, days_left) as the call gave its deadline (`Call.deadline_kind`):
        a clock time as ISO 8601 in Saint Lucia time ('2026-03-31T12:00-04:00'); a date only as
        that date in the funder's zone ('2027-01-15'), never a converted clock time; 'rolling'
        or 'not found — check the page' with no days left."""
        kind = getattr(row, "deadline_kind", None)
        if row.deadline is None:
            words = {"rolling": "rolling", "not_found": "not found — check the page"}
            return words.get(kind or ""), None
        if kind == "date":
            day = deadline_day(row.deadline, kind, getattr(row, "timezone", None), self.zone.key)
            assert day is not None
            return day.isoformat(), (day - self.today).days
        local = row.deadline.astimezone(self.zone)
        return local.isoformat(timespec="minutes"), (local.date() - self.today).days

    def __call__(self, row: Any) -> list[str | int]:
        """One call as the feed's cells, in COLUMNS order."""
        deadline_iso, days_left = self.deadline_cells(row)
        first_seen = (
            row.first_seen.astimezone(self.zone).date().isoformat() if row.first_seen else None
        )
        themes = "; ".join(one_line(str(t)) for t in (row.themes or ()) if t)
        reasons = " | ".join(one_line(str(r)) for r in (row.reasons or ())[:TOP_REASONS] if r)
        values = (
            row.score, row.band, one_line(row.title), one_line(row.funder),
            one_line(row.programme), deadline_iso, days_left, row.status, _budget(row), themes,
            reasons, first_seen, safe_url(row.url), row.id, verdict_words(*_latest_verdict(row)),
        )  # fmt: skip
        return [_cell(v) for v in values]


def csv_row(row: Any, *, now: datetime, tz: str = settings.DISPLAY_TZ) -> list[str | int]:
    """One call as the feed's cells (for a single row; exports reuse one RowFormatter)."""
    return RowFormatter(now, tz)(row)


def csv_chunks(
    session: Session, flt: CallFilter | None = None, *, now: datetime | None = None,
    tz: str = settings.DISPLAY_TZ, counter: list[int] | None = None,
    progress: Callable[[int], object] | None = None, reference: bool = False,
) -> Iterator[str]:  # fmt: skip
    """The feed as text chunks (BOM and header first), streamed from the database.

    `counter`, when given, receives the number of calls written (for a summary line);
    `progress`, when given, is called with the number of calls in each chunk as it is written.
    `reference=True` formats with `RowFormatter`, the plain reference (same bytes, slower);
    the default is `csv_fast.fast_lines` over plain tuples (same bytes, several times faster).
    """
    now = now or utcnow()
    flt = flt or CallFilter()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")  # CRLF: RFC 4180, what Excel writes
    buf.write(BOM)
    writer.writerow(COLUMNS)
    if reference:
        fmt = RowFormatter(now, tz)
        rows = map(fmt, iter_calls(session, flt, SOURCE_COLUMNS))
        n = 0
        while batch := list(islice(rows, _CHUNK_ROWS)):
            writer.writerows(batch)
            n += len(batch)
            if progress is not None:
                progress(len(batch))
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    else:
        from fundradar.pipeline.exports.csv_fast import FAST_COLUMNS, RAW_COLUMNS, fast_lines

        yield buf.getvalue()  # BOM and header
        buf.seek(0)
        buf.truncate()
        decode = {name: decoder(session, name) for name in RAW_COLUMNS}
        tuples = iter_tuples(session, flt, FAST_COLUMNS, raw=RAW_COLUMNS)
        lines = fast_lines(tuples, now, tz, decode)
        n = 0
        while batch := list(islice(lines, _CHUNK_ROWS)):
            n += len(batch)
            if progress is not None:
                progress(len(batch))
            yield "".join(batch)
    yield buf.getvalue()  # what is left (the reference's header when no call was selected)
    if counter is not None:
        counter.append(n)


def write_csv(
    out: IO[str], session: Session, flt: CallFilter | None = None, *,
    now: datetime | None = None, tz: str = settings.DISPLAY_TZ, reference: bool = False,
) -> int:  # fmt: skip
    """Write the feed to a text stream opened with encoding utf-8 and newline=''.

    Returns the number of calls written.
    """
    counter: list[int] = []
    chunks = csv_chunks(session, flt, now=now, tz=tz, counter=counter, reference=reference)
    for chunk in chunks:
        out.write(chunk)
    return counter[0]


def write_csv_file(
    path: Path, session: Session, flt: CallFilter | None = None, *,
    now: datetime | None = None, reference: bool = False,
) -> int:  # fmt: skip
    """Write the feed to `path` atomically; returns the number of calls."""
    with atomic_text(path, encoding="utf-8", newline="") as fh:
        return write_csv(fh, session, flt, now=now, reference=reference)


def feed_path() -> Path:
    return settings.load().exports / FEED_NAME


def refresh_feed(now: datetime | None = None) -> Path | None:
    """Rewrite the CSV feed after a crawl (default selection: calls not closed, not dismissed).

    A failure to write is logged, not raised: the crawl's data is stored either way and the
    old feed stays in place, complete.
    """
    from fundradar.pipeline import db

    path = feed_path()
    try:
        with db.session_scope() as session:
            n = write_csv_file(path, session, CallFilter(), now=now)
    except ExportError as exc:
        log.error("CSV feed not refreshed: %s", exc)
        return None
    log.info("CSV feed: %d calls written to %s", n, path)
    return path
