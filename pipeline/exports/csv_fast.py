"""The CSV feed's lines, fast: the same bytes as `csv_feed.RowFormatter` + `csv.writer`.

`RowFormatter` is the reference: plain, one call at a time, every defence applied to every
cell. At 100,000 calls it cost 8–11× a raw `sqlite3` dump (bench/export.py), almost all of it
in Python work that gives the same answer row after row. `fast_lines` gives the same bytes
with less work, and tests/pipeline/exports/test_export_csv_fast.py proves the two feeds
identical on hostile data. Where the work goes instead:

- rows come as plain tuples from a Core select of the needed columns (no ORM objects), with
  dates and JSON as the driver gives them (text on SQLite), converted once per distinct value;
- cells whose values repeat (score, band, status, funder, programme, budget, themes, reasons,
  the deadline and first-seen instants) are computed once by the reference functions and kept
  in small bounded tables as finished CSV fields, so memory stays flat at any number of calls;
- a title that `str.isprintable()` is already clean: every character `clean_text` removes,
  and every white space but the plain space, is not printable (the test checks this over all
  of Unicode), so `one_line` only has spaces to fold, and neutralising only the first
  character to look at;
- a link in the plain form `https://host.example/path?query` is written as is: `safe_url`
  returns such a link unchanged (the test checks it on thousands), so its 17 µs check runs
  only on the others;
- each line is one f-string of finished fields, quoted as `csv.writer` quotes (`field`).

Anything outside these fast paths goes through the reference functions themselves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from fundradar import settings
from fundradar.pipeline.exports import one_line
from fundradar.pipeline.exports.csv_feed import _FORMULA_START, TOP_REASONS, _budget, _cell
from fundradar.pipeline.normalise.dates import deadline_day
from fundradar.pipeline.normalise.urls import safe_url
from fundradar.pipeline.review import verdict_words

# What the fast formatter reads, in this order (a Core select of these columns).
FAST_COLUMNS = (
    "score", "band", "title", "funder", "programme", "deadline", "deadline_kind", "timezone",
    "status", "budget_min", "budget_max", "currency", "budget_scope", "themes", "reasons",
    "first_seen", "url", "id", "verdict", "verdict_reason",
)  # fmt: skip

# Read as the driver gives them and converted once per distinct value (JSON and dates are
# text on SQLite: json.loads and a date parse per row were a third of the export's time).
RAW_COLUMNS = ("deadline", "themes", "reasons", "first_seen")

MEMO_LIMIT = 4096  # entries per table; a full table starts again (bounded memory)

# Links `safe_url` returns unchanged: http(s), a lower-case host name of two labels or more
# whose last label starts with a letter (not an IPv4 address), no port, no user, no fragment,
# a path and a non-empty query of URL characters only (no space, backslash, "@" or "#").
PLAIN_URL = re.compile(
    r"https?://"
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?"
    r"(?:/[A-Za-z0-9._~!$&'()*+,;=:%/-]*)?"
    r"(?:\?[A-Za-z0-9._~!$&'()*+,;=:%/?-]+)?"
)


class _Memo(dict[Any, Any]):
    """`memo[key]`: `fn(key)`, computed once. Only keys of `types` are kept (values of other
    types may compare equal and format differently: 1 == True == 1.0, 0.0 == -0.0)."""

    def __init__(self, fn: Callable[[Any], Any], types: tuple[type, ...] = (str, type(None))):
        super().__init__()
        self.fn, self.types = fn, types

    def __missing__(self, key: Any) -> Any:
        value = self.fn(key)
        if type(key) in self.types:
            if len(self) >= MEMO_LIMIT:
                self.clear()
            self[key] = value
        return value


class _SeqMemo(_Memo):
    """For JSON lists (themes, reasons): keyed by the tuple of their items; kept only when every
    item is a str (a str never equals another type)."""

    def __missing__(self, key: tuple[Any, ...]) -> Any:
        value = self.fn(key)
        if all(type(x) is str for x in key):
            if len(self) >= MEMO_LIMIT:
                self.clear()
            self[key] = value
        return value


def field(cell: Any) -> str:
    """One cell as `csv.writer` writes it (excel dialect, QUOTE_MINIMAL, CRLF line ends):
    quoted, with quotes doubled, when it holds a comma, a quote, CR or LF; as is otherwise.
    Cells are text or integers (`csv_feed._cell`)."""
    text = cell if type(cell) is str else str(cell)
    if '"' in text or "," in text or "\r" in text or "\n" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def _joined(sep: str) -> Callable[[Sequence[Any]], str]:
    # the reference's expression for themes and reasons, then its cell rule, as a CSV field
    return lambda items: field(_cell(sep.join(one_line(str(t)) for t in items if t)))


def _text_field(value: Any) -> str:
    return field(_cell(one_line(value)))


def _plain_field(value: Any) -> str:
    return field(_cell(value))


def _same(value: Any) -> Any:
    return value


def fast_lines(
    rows: Iterable[Sequence[Any]], now: datetime, tz: str = settings.DISPLAY_TZ,
    decode: Mapping[str, Callable[[Any], Any]] | None = None,
) -> Iterator[str]:  # fmt: skip
    """The feed's CSV lines for rows of FAST_COLUMNS, equal to `csv.writer` writing
    `RowFormatter`'s cells (CRLF line ends).

    `decode` names the columns of RAW_COLUMNS that come as the driver gives them, with the
    conversion SQLAlchemy would make (`query.decoder`); each distinct value is converted once.
    """
    decode = decode or {}
    as_deadline = decode.get("deadline", _same)
    as_first_seen = decode.get("first_seen", _same)
    as_themes = decode.get("themes", _same)
    as_reasons = decode.get("reasons", _same)
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    words = {"rolling": "rolling", "not_found": "not found — check the page"}

    # deadline and days_left: two fields, kept as one "deadline,days_left" piece
    def clock(raw: Any) -> str:
        local = as_deadline(raw).astimezone(zone)
        iso = _cell(local.isoformat(timespec="minutes"))
        return f"{field(iso)},{field((local.date() - today).days)}"

    def day_only(key: tuple[Any, str | None]) -> str:
        day = deadline_day(as_deadline(key[0]), "date", key[1], zone.key)
        assert day is not None
        return f"{field(_cell(day.isoformat()))},{field((day - today).days)}"

    def undated(kind: Any) -> str:
        return f"{field(_cell(words.get(kind or '')))},"

    def first_seen_field(raw: Any) -> str:
        value = as_first_seen(raw)
        return field(_cell(value.astimezone(zone).date().isoformat() if value else None))

    def budget_field(key: tuple[Any, ...]) -> str:
        lo, hi, currency, scope = key
        row = SimpleNamespace(budget_min=lo, budget_max=hi, currency=currency, budget_scope=scope)
        return field(_cell(_budget(row)))

    themes_field, reasons_field = _joined("; "), _joined(" | ")
    themes_of = _SeqMemo(themes_field)  # by the tuple of the list's items
    reasons_of = _SeqMemo(reasons_field)

    def themes_list(value: Any) -> str:
        try:
            return themes_of[tuple(value or ())]
        except TypeError:  # an unhashable item (a JSON object): the reference expression
            return themes_field(value or ())

    def reasons_list(value: Any) -> str:
        top = (value or ())[:TOP_REASONS]
        try:
            return reasons_of[tuple(top)]
        except TypeError:
            return reasons_field(top)

    raw_types = (str, datetime, type(None))  # raw values a memo may keep (SQLite text, dates)
    number = (float, int, type(None))
    scores = _Memo(_plain_field, (int, type(None)))  # never bool: True == 1 prints apart
    plain = _Memo(_plain_field)  # band, status
    texts = _Memo(_text_field)  # funder, programme
    clocks = _Memo(clock, raw_types)
    days = _Memo(day_only, (tuple,))
    no_deadline = _Memo(undated)
    seen = _Memo(first_seen_field, raw_types)
    budgets = _Memo(budget_field, (tuple,))
    themes_raw = _Memo(lambda raw: themes_list(as_themes(raw)), raw_types)
    reasons_raw = _Memo(lambda raw: reasons_list(as_reasons(raw)), raw_types)
    # (verdict, reason): text or None from the database, so a tuple key is safe to keep
    verdicts = _Memo(lambda key: field(_cell(verdict_words(*key))), (tuple,))
    plain_url = PLAIN_URL.fullmatch
    formula = _FORMULA_START

    for (score, band, title, funder, programme, deadline, kind, call_tz, status, lo, hi,
         currency, scope, themes, reasons, first_seen, url, call_id, verdict,
         verdict_reason) in rows:  # fmt: skip
        if type(title) is str and title.isprintable():  # no CR or LF: only , and " to quote
            if title[:1] == " " or title[-1:] == " " or "  " in title:
                title = " ".join(title.split())
            if title.startswith(formula):
                title = "'" + title
            if '"' in title or "," in title:
                title = '"' + title.replace('"', '""') + '"'
        else:
            title = _text_field(title)

        if deadline is None:
            when = no_deadline[kind]
        elif kind == "date":
            when = days[(deadline, call_tz)]
        else:
            when = clocks[deadline]

        if type(lo) in number and type(hi) in number and lo != 0 and hi != 0:
            budget = budgets[(lo, hi, currency, scope)]  # 0.0 and -0.0 print apart: not kept
        else:
            budget = budget_field((lo, hi, currency, scope))

        try:
            themes = themes_raw[themes]
        except TypeError:  # a list already (typed rows, or a driver that decodes JSON)
            themes = themes_list(as_themes(themes))
        try:
            reasons = reasons_raw[reasons]
        except TypeError:
            reasons = reasons_list(as_reasons(reasons))

        if url and type(url) is str and plain_url(url):  # no quote, CR or LF in a plain link
            if "," in url:
                url = f'"{url}"'
        else:
            url = _plain_field(safe_url(url))

        yield (
            f"{scores[score]},{plain[band]},{title},{texts[funder]},{texts[programme]},{when},"
            f"{plain[status]},{budget},{themes},{reasons},{seen[first_seen]},{url},"
            f"{call_id if type(call_id) is int else _plain_field(call_id)},"
            f"{verdicts[(verdict, verdict_reason)]}\r\n"
        )
