"""The review page's two charts: calls by deadline week and calls by theme.

Drawn on the server as inline SVG (no JavaScript, no chart library from a CDN): this module
computes the geometry, `templates/_charts.html` draws it, and Jinja escapes every label (theme
names come from the scorer's profile, but treat them as text all the same).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from fundradar.pipeline.exports.query import CallFilter, iter_calls
from fundradar.pipeline.normalise.dates import to_local
from fundradar.settings import DISPLAY_TZ
from fundradar.wording import plural

WEEKS = 12  # this week and the next eleven, then "later"
TOP_THEMES = 10
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    x: float
    y: float
    width: float
    height: float


@dataclass
class Chart:
    title: str
    kind: str  # "columns" (deadline weeks) or "rows" (themes)
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    note: str = ""

    @property
    def empty(self) -> bool:
        return not any(b.count for b in self.bars)

    @property
    def summary(self) -> str:
        """The chart as one sentence, for screen readers (aria-label)."""
        parts = [f"{b.label}: {b.count}" for b in self.bars if b.count]
        return f"{self.title}. " + ("; ".join(parts) if parts else "no calls")


def _week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _day_label(d: date) -> str:
    return f"{d.day} {_MONTHS[d.month - 1]}"


def deadline_weeks(weeks: Counter[date], later: int, this_week: date) -> Chart:
    width, height, top, bottom, left = 640, 210, 18, 34, 8
    labels = [this_week + timedelta(weeks=i) for i in range(WEEKS)]
    counts = [weeks.get(w, 0) for w in labels] + [later]
    names = [_day_label(w) for w in labels] + ["later"]
    slot = (width - left * 2) / len(counts)
    peak = max(counts) or 1
    chart = Chart("Open calls by deadline week (weeks start Monday, Saint Lucia time)",
                  "columns", width, height)  # fmt: skip
    for i, (name, n) in enumerate(zip(names, counts, strict=True)):
        h = (height - top - bottom) * n / peak
        chart.bars.append(Bar(name, n, left + i * slot + 3, height - bottom - h, slot - 6, h))
    return chart


def by_theme(themes: Counter[str], untagged: int) -> Chart:
    top = themes.most_common(TOP_THEMES)
    row, label_w, width = 24, 210, 640
    chart = Chart("Calls by theme", "rows", width, max(1, len(top)) * row + 8)
    peak = max((n for _, n in top), default=1)
    for i, (name, n) in enumerate(top):
        w = (width - label_w - 50) * n / peak
        chart.bars.append(Bar(name, n, label_w, 4 + i * row, w, row - 6))
    if len(themes) > TOP_THEMES:
        chart.note = f"{plural(len(themes) - TOP_THEMES, 'more theme')} not shown."
    if untagged:
        chart.note = (chart.note + f" {plural(untagged, 'call')} without a theme.").strip()
    return chart


def build(session: Session, flt: CallFilter, now: datetime, tz: str = DISPLAY_TZ) -> list[Chart]:
    """Both charts for the calls `flt` selects (all of them, not only the page shown)."""
    this_week = _week_start(to_local(now, tz).date())
    horizon = this_week + timedelta(weeks=WEEKS)
    weeks: Counter[date] = Counter()
    later = 0
    themes: Counter[str] = Counter()
    untagged = 0
    for row in iter_calls(session, flt, ("id", "deadline", "status", "themes")):
        if row.deadline is not None and row.status != "closed":
            day = to_local(row.deadline, tz).date()
            if day >= this_week:
                if day >= horizon:
                    later += 1
                else:
                    weeks[_week_start(day)] += 1
        names = [t for t in (row.themes or ()) if isinstance(t, str) and t]
        themes.update(set(names))
        untagged += not names
    return [deadline_weeks(weeks, later, this_week), by_theme(themes, untagged)]
