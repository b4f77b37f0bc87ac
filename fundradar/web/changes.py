"""A tracked change (CallChange row) as one sentence: "deadline moved from 15 to 30 April 2027".

Officers read changes to decide whether to act; "deadline: 2027-04-15T16:00:00+00:00 →
2027-04-30T16:00:00+00:00" makes them do the date arithmetic. Deadlines are shown on the day
people count (`deadline_day`: a date-only deadline is its date in the funder's zone), with the
clock time only when the day did not change.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fundradar.pipeline.normalise.dates import deadline_day, to_local
from fundradar.settings import DISPLAY_TZ
from fundradar.wording import plural

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip
LABELS = {"opens_at": "opening date", "budget_min": "minimum budget",
          "budget_max": "maximum budget", "deadlines": "deadlines"}  # fmt: skip
MAX_VALUE = 160  # a changed summary is said to have changed, not quoted in full


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _day(d: date, *, month: bool = True, year: bool = True) -> str:
    text = str(d.day)
    if month:
        text += f" {_MONTHS[d.month - 1]}"
    if year:
        text += f" {d.year}"
    return text


def span(old: date, new: date) -> str:
    """'15 to 30 April 2027', '28 March to 30 April 2027', '30 Dec 2026 to 6 January 2027'
    style: each part said once when both days share it."""
    if old.year != new.year:
        return f"{_day(old)} to {_day(new)}"
    if old.month != new.month:
        return f"{_day(old, year=False)} to {_day(new)}"
    return f"{_day(old, month=False, year=False)} to {_day(new)}"


def _plain(value: Any) -> str:
    if value in (None, "", []):
        return "nothing"
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def describe(field: str, old: Any, new: Any, kind: str | None = None,
             tz: str | None = None) -> str:  # fmt: skip
    """One sentence for a change of `field` from `old` to `new` (stored JSON values)."""
    name = LABELS.get(field, field.replace("_", " "))
    if field in ("deadline", "opens_at"):
        before, after = _when(old), _when(new)
        if before is None and after is None:
            return f"{name} changed"
        if before is None:
            return f"{name} set to {_day(deadline_day(after, kind, tz))}"  # type: ignore[arg-type]
        if after is None:
            return f"{name} removed (was {_day(deadline_day(before, kind, tz))})"  # type: ignore[arg-type]
        d0, d1 = deadline_day(before, kind, tz), deadline_day(after, kind, tz)
        assert d0 is not None and d1 is not None
        if d0 == d1:
            t0, t1 = to_local(before, DISPLAY_TZ), to_local(after, DISPLAY_TZ)
            return f"{name} moved from {t0:%H:%M} to {t1:%H:%M} AST on {_day(d1)}"
        gap = f"{plural(abs((d1 - d0).days), 'day')} {'later' if d1 > d0 else 'earlier'}"
        return f"{name} moved from {span(d0, d1)} ({gap})"
    if field in ("summary", "eligibility", "description"):
        return f"{name} rewritten"
    if old in (None, "", []):
        return f"{name} set to {_plain(new)}"
    if new in (None, "", []):
        return f"{name} removed (was {_plain(old)})"
    return f"{name} changed from {_plain(old)} to {_plain(new)}"
