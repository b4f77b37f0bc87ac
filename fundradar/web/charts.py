"""The review page's charts: deadlines by week for the next six months (bands stacked), calls
by theme and calls by funder.

Drawn on the server by pygal (a maintained SVG charting library: axes, stacking, label
rotation and legends without our own geometry), inline so no JavaScript is needed and the
CSP stays "no script". Each chart is rendered twice, at phone and desktop width, and CSS shows
the one that fits: SVG text scales with its box, so one drawing squeezed to 390 px would shrink
12 px labels to 6 px. pygal's own <style>, <script> and style="" parts are removed (the CSP
forbids inline styles and scripts): `stylesheet()` serves pygal's own CSS as a file, its
per-chart `#chart-<uuid>` prefix turned into `svg.pygal-chart`. Labels come from stored
calls: control characters are dropped (lxml refuses them) and lxml escapes the rest.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pygal
from markupsafe import Markup
from pygal.style import Style
from sqlalchemy.orm import Session

from fundradar.pipeline.exports.query import CallFilter, iter_calls
from fundradar.pipeline.normalise.dates import to_local
from fundradar.pipeline.normalise.text import strip_invisible
from fundradar.settings import DISPLAY_TZ
from fundradar.wording import plural

WEEKS = 26  # six months of weeks from this one
TOP = 10  # themes and funders shown; the rest counted in a note
BANDS = ("high", "medium", "low", "unscored")
COLOURS = ("#0b6e69", "#b26a00", "#6b7a8c", "#b8c0ca")  # the cards' band colours
LABEL_PX = 12  # the smallest text drawn, at 1:1 scale
NARROW, WIDE, HALF = 330, 1040, 500  # drawing widths: phone, desktop full row, desktop half
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_STRIP = (
    re.compile(r"<style\b.*?</style>", re.S),
    re.compile(r"<script\b.*?</script>", re.S),
    re.compile(r"<!--.*?-->", re.S),
    re.compile(r'\sstyle="[^"]*"'),
    re.compile(r'\sid=""'),
)


@dataclass
class Chart:
    name: str  # "deadlines", "themes", "funders": CSS hook and test handle
    title: str
    summary: str  # the data as one sentence (aria-label) for screen readers
    narrow: Markup = field(default_factory=Markup)
    wide: Markup = field(default_factory=Markup)
    note: str = ""
    empty: bool = False
    layout: str = "half"  # "full": a row to itself on a wide screen
    counts: dict[str, int] = field(default_factory=dict)


def _style() -> Style:
    return Style(
        background="transparent", plot_background="transparent", foreground="#1d2733",
        foreground_strong="#1d2733", foreground_subtle="#d9dee5", colors=COLOURS,
        font_family="system-ui, sans-serif", label_font_size=LABEL_PX,
        major_label_font_size=LABEL_PX, legend_font_size=LABEL_PX, value_font_size=LABEL_PX,
        value_label_font_size=LABEL_PX,
        tooltip_font_size=LABEL_PX, title_font_size=14,
    )  # fmt: skip


def _svg(chart: pygal.graph.graph.Graph) -> Markup:
    text = chart.render(is_unicode=True)
    for pattern in _STRIP:
        text = pattern.sub("", text)
    # every text already escaped by lxml; nothing of the page's own markup is in it
    return Markup(text.replace("<svg ", '<svg role="presentation" focusable="false" ', 1))


@functools.cache
def stylesheet() -> str:
    """pygal's CSS for our style (fonts, colours, text anchors), as one file for all charts."""
    css: list[str] = []
    for kind in (pygal.StackedBar, pygal.HorizontalBar):
        chart = kind(style=_style(), js=[], disable_xml_declaration=True)
        for band in BANDS:  # pygal writes a colour rule per series drawn: draw them all
            chart.add(band, [1])
        svg = chart.render(is_unicode=True)
        prefix = f"#chart-{chart.uuid}" if hasattr(chart, "uuid") else None
        for block in re.findall(r"<style[^>]*>(.*?)</style>", svg, re.S):
            block = block.replace("&gt;", ">")
            css.append(re.sub(re.escape(prefix) if prefix else r"#chart-[0-9a-f-]+",
                              "svg.pygal-chart", block))  # fmt: skip
    # no JavaScript to show tooltips: hide their empty boxes (pygal hides them inline)
    css.append("svg.pygal-chart .tooltip-overlay,svg.pygal-chart .tooltip{display:none}")
    return "\n".join(dict.fromkeys(css))


def label(text: object, limit: int = 40) -> str:
    clean = _CONTROL.sub("", strip_invisible(str(text))).strip() or "(none)"
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def _week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _day_label(d: date) -> str:
    return f"{d.day} {_MONTHS[d.month - 1]}"


def deadline_chart(weeks: dict[str, Counter[date]], this_week: date, later: int,
                   undated: int) -> Chart:  # fmt: skip
    starts = [this_week + timedelta(weeks=i) for i in range(WEEKS)]
    total = sum(sum(c.values()) for c in weeks.values())
    title = "Open calls by deadline week, next 6 months (weeks start Monday, Saint Lucia time)"
    per_week = [(w, sum(weeks[b].get(w, 0) for b in BANDS)) for w in starts]
    summary = f"{title}. " + ("; ".join(f"week of {_day_label(w)}: {n}"
                                        for w, n in per_week if n) or "no deadline")  # fmt: skip
    chart = Chart("deadlines", title, summary, empty=not total, layout="full")
    notes = []
    if later:
        notes.append(f"{plural(later, 'call')} due after these 6 months")
    if undated:
        notes.append(f"{plural(undated, 'open call')} without a deadline")
    chart.note = "; ".join(notes) + ("." if notes else "")
    # a phone shows a label every 5 weeks, level (rotated ones ran into the legend)
    for width, every, columns, height in ((NARROW, 5, 2, 240), (WIDE, 2, len(BANDS), 250)):
        bar = pygal.StackedBar(
            width=width, height=height, style=_style(), js=[], disable_xml_declaration=True,
            explicit_size=True, show_legend=True, legend_at_bottom=True,
            legend_at_bottom_columns=columns, truncate_legend=-1,
            show_minor_x_labels=False, x_labels_major_every=every, truncate_label=-1,
            print_values=False, show_y_guides=True, min_scale=2, max_scale=6,
            margin=4, margin_right=20, spacing=6, order_min=0,
        )  # fmt: skip
        bar.x_labels = [_day_label(w) for w in starts]
        for band in BANDS:
            bar.add(band, [weeks[band].get(w, 0) or None for w in starts])
        if width == NARROW:
            chart.narrow = _svg(bar)
        else:
            chart.wide = _svg(bar)
    return chart


def ranking_chart(name: str, title: str, counts: Counter[str], note_word: str,
                  missing: int, missing_text: str) -> Chart:  # fmt: skip
    top = counts.most_common(TOP)
    summary = f"{title}. " + ("; ".join(f"{k}: {n}" for k, n in top) or "no calls")
    chart = Chart(name, title, summary, empty=not top, counts=dict(top))
    notes = []
    if len(counts) > TOP:
        notes.append(f"{plural(len(counts) - TOP, 'more ' + note_word)} not shown")
    if missing:
        notes.append(f"{plural(missing, 'call')} {missing_text}")
    chart.note = "; ".join(notes) + ("." if notes else "")
    rows = list(reversed(top))  # pygal draws the first label at the bottom
    for width in (NARROW, HALF):
        height = 40 + 30 * max(1, len(rows))
        bar = pygal.HorizontalBar(
            width=width, height=height, style=_style(), js=[], disable_xml_declaration=True,
            explicit_size=True, show_legend=False, print_values=True,
            truncate_label=-1, show_y_guides=False,
            show_x_guides=True, margin=4, spacing=4, min_scale=2, max_scale=6, order_min=0,
        )  # fmt: skip
        bar.x_labels = [label(k, 20 if width == NARROW else 34) for k, _ in rows]
        bar.add(note_word, [n for _, n in rows])
        if width == NARROW:
            chart.narrow = _svg(bar)
        else:
            chart.wide = _svg(bar)
    return chart


def build(session: Session, flt: CallFilter, now: datetime, tz: str = DISPLAY_TZ,
          only: set[int] | None = None) -> list[Chart]:  # fmt: skip
    """The three charts for the calls `flt` selects (all of them, not only the page shown),
    or only those of `only` among them (the ids a search found)."""
    this_week = _week_start(to_local(now, tz).date())
    horizon = this_week + timedelta(weeks=WEEKS)
    weeks: dict[str, Counter[date]] = {b: Counter() for b in BANDS}
    later = undated = 0
    themes: Counter[str] = Counter()
    funders: Counter[str] = Counter()
    untagged = unknown_funder = 0
    columns = ("id", "deadline", "status", "themes", "band", "funder")
    for row in iter_calls(session, flt, columns):
        if only is not None and row.id not in only:
            continue
        if row.status != "closed":
            if row.deadline is None:
                undated += 1
            else:
                day = to_local(row.deadline, tz).date()
                if day >= horizon:
                    later += 1
                elif day >= this_week:
                    band = row.band if row.band in BANDS else "unscored"
                    weeks[band][_week_start(day)] += 1
        names = {label(t) for t in (row.themes or ()) if isinstance(t, str) and t}
        themes.update(names)
        untagged += not names
        if row.funder and row.funder.strip():
            funders[label(row.funder)] += 1
        else:
            unknown_funder += 1
    return [
        deadline_chart(weeks, this_week, later, undated),
        ranking_chart("themes", "Calls by theme", themes, "theme", untagged, "without a theme"),
        ranking_chart(
            "funders",
            "Calls by funder",
            funders,
            "funder",
            unknown_funder,
            "without a funder named",
        ),
    ]
