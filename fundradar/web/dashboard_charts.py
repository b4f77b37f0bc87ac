"""The partnerships dashboard's charts, drawn like the review page's (see `web/charts.py`).

pygal server-side SVG, each chart drawn twice (phone and desktop width, CSS shows the one that
fits) with the review page's style, so every label stays at 12 px on a 390 px screen. The
figures come from `pipeline.partnerships.dashboard`; this module only draws them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import pygal

from fundradar.pipeline.partnerships.dashboard import (
    AmountRow,
    Amounts,
    Dashboard,
    StageCount,
    WeekCount,
)
from fundradar.web.charts import HALF, NARROW, WIDE, Chart, _day_label, _style, _svg, label
from fundradar.wording import plural

TOP = 8  # groups shown in an amounts or partners chart; the rest counted in a note
KIND_LABELS = {
    "government": "government",
    "public_agency": "public agency",
    "university_research": "university or research",
    "private": "private",
    "ngo": "NGO",
    "regional_body": "regional body",
    "other": "other",
}


@dataclass
class DashChart(Chart):
    """A review-page chart with what the dashboard adds: its words when empty, and the
    figures as a table (full names, exact amounts) under it."""

    empty_text: str = "Nothing yet."
    table_head: tuple[str, ...] = ()
    table: list[tuple[str, ...]] = field(default_factory=list)


def kind_label(kind: str | None) -> str:
    return KIND_LABELS.get(kind or "other", kind or "other")


def money(value: float | Decimal | None) -> str:
    """12 500 000 → '12.5 M', 150 000 → '150 k', 900 → '900': short enough for a bar."""
    if value is None:
        return ""
    v = float(value)
    for size, unit in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
        if abs(v) >= size:
            return f"{v / size:.3g}{unit}"
    return f"{v:.0f}"


def _bars(
    name: str,
    title: str,
    rows: Sequence[tuple[str, Sequence[float | None]]],
    series: Sequence[str],
    *,
    formatter: Callable[[float], str] | None = None,
    summary: str,
    note: str = "",
    empty_text: str = "Nothing yet.",
    layout: str = "half",
) -> DashChart:
    """A horizontal bar chart, one row per label (drawn top to bottom in `rows` order)."""
    chart = DashChart(
        name, title, summary, empty=not rows, note=note, empty_text=empty_text, layout=layout
    )
    chart.counts = {k: int(v[0] or 0) for k, v in rows}
    ordered = list(reversed(rows))  # pygal draws the first label at the bottom
    for width in (NARROW, WIDE if layout == "full" else HALF):
        height = 40 + (30 if len(series) == 1 else 44) * max(1, len(rows))
        # the legend sits under the plot, right of the labels: one line per series on a phone
        columns = 1 if width == NARROW else len(series)
        if len(series) > 1:
            height += 24 * (len(series) // columns)
        bar = pygal.HorizontalBar(
            width=width,
            height=height,
            style=_style(),
            js=[],
            disable_xml_declaration=True,
            explicit_size=True,
            show_legend=len(series) > 1,
            legend_at_bottom=True,
            legend_at_bottom_columns=columns,
            print_values=True,
            truncate_label=-1,
            truncate_legend=-1,
            show_y_guides=False,
            show_x_guides=True,
            margin=4,
            margin_right=24,  # room for the last amount on the axis ("600 k")
            spacing=4,
            min_scale=2,
            # a phone has room for three or four amounts along the axis, not six
            max_scale=3 if width == NARROW else 6,
            order_min=0,
            **({"value_formatter": formatter} if formatter else {}),
        )
        bar.x_labels = [label(k, 22 if width == NARROW else 48) for k, _ in ordered]
        for i, s in enumerate(series):
            bar.add(s, [v[i] or None for _, v in ordered])
        if width == NARROW:
            chart.narrow = _svg(bar)
        else:
            chart.wide = _svg(bar)
    return chart


def funnel_chart(stages: list[StageCount]) -> DashChart:
    total = sum(s.count for s in stages)
    summary = "Applications by stage. " + "; ".join(f"{s.stage}: {s.count}" for s in stages)
    rows = [(s.stage, [float(s.count)]) for s in stages]
    chart = _bars(
        "funnel",
        "Applications by stage",
        rows if total else [],
        ["applications"],
        formatter=lambda v: f"{v:.0f}",
        summary=summary,
        empty_text="No application yet: make one from a shortlisted call.",
    )
    chart.counts = {s.stage: s.count for s in stages}
    return chart


def amounts_chart(amounts: Amounts, title: str, layout: str = "half") -> DashChart:
    top = amounts.rows[:TOP]
    currencies = {r.currency for r in amounts.rows}
    # one currency: said once in the legend, the labels keep their room for names
    one = next(iter(currencies)) if len(currencies) == 1 else None

    def name(r: AmountRow) -> str:
        return r.group if one is not None else r.label

    summary = f"{title}. " + (
        "; ".join(
            f"{r.label}: {money(r.requested)} requested, {money(r.awarded)} awarded" for r in top
        )
        or "no amount given yet"
    )
    notes = []
    if len(amounts.rows) > TOP:
        notes.append(f"{plural(len(amounts.rows) - TOP, 'more row')} not shown")
    if amounts.without_amount:
        notes.append(f"{plural(amounts.without_amount, 'application')} without an amount")
    if amounts.by == "theme":
        notes.append("an application under several themes counts in each")
    rows = [(name(r), [float(r.requested), float(r.awarded)]) for r in top]
    series = [f"requested ({one})", f"awarded ({one})"] if one else ["requested", "awarded"]
    chart = _bars(
        f"amounts-{amounts.by}",
        title,
        rows,
        series,
        formatter=money,
        summary=summary,
        note="; ".join(notes) + ("." if notes else ""),
        empty_text="No amount given yet.",
        layout=layout,
    )
    chart.table_head = (amounts.by, "currency", "requested", "awarded", "applications")
    chart.table = [
        (r.group, r.currency or "—", f"{r.requested:,.0f}", f"{r.awarded:,.0f}",
         str(r.applications))
        for r in amounts.rows
    ]  # fmt: skip
    return chart


def partners_chart(name: str, title: str, counts: list[tuple[str, int]], kinds: bool) -> DashChart:
    shown = [(kind_label(k) if kinds else k, n) for k, n in counts[:TOP]]
    summary = f"{title}. " + ("; ".join(f"{k}: {n}" for k, n in shown) or "no partner yet")
    note = f"{plural(len(counts) - TOP, 'more')} not shown." if len(counts) > TOP else ""
    return _bars(
        name,
        title,
        [(k, [float(n)]) for k, n in shown],
        ["organisations"],
        formatter=lambda v: f"{v:.0f}",
        summary=summary,
        note=note,
        empty_text="No partner yet.",
    )


def weeks_chart(weeks: list[WeekCount]) -> DashChart:
    title = "Calls found per week, and how many were marked relevant (weeks start Monday)"
    found = sum(w.found for w in weeks)
    summary = f"{title}. " + (
        "; ".join(
            f"week of {_day_label(w.week)}: {w.found} found, {w.relevant} relevant"
            for w in weeks
            if w.found
        )
        or "no call found"
    )
    chart = DashChart(
        "weeks",
        title,
        summary,
        empty=not found,
        layout="full",
        empty_text="No call found in these weeks.",
    )
    chart.note = "Relevant: latest verdict relevant or shortlist."
    for width, every in ((NARROW, 3), (WIDE, 1)):
        bar = pygal.Bar(
            width=width,
            height=250,
            style=_style(),
            js=[],
            disable_xml_declaration=True,
            explicit_size=True,
            show_legend=True,
            legend_at_bottom=True,
            legend_at_bottom_columns=2,
            truncate_legend=-1,
            show_minor_x_labels=False,
            x_labels_major_every=every,
            truncate_label=-1,
            print_values=False,
            show_y_guides=True,
            min_scale=2,
            max_scale=6,
            margin=4,
            margin_right=20,
            spacing=6,
            order_min=0,
        )
        bar.x_labels = [_day_label(w.week) for w in weeks]
        bar.add("found", [w.found or None for w in weeks])
        bar.add("marked relevant", [w.relevant or None for w in weeks])
        if width == NARROW:
            chart.narrow = _svg(bar)
        else:
            chart.wide = _svg(bar)
    return chart


def build(d: Dashboard) -> dict[str, DashChart]:
    """Every chart of the dashboard, by name."""
    charts = [
        funnel_chart(d.funnel),
        amounts_chart(d.by_funder, "Amounts requested and awarded by funder", layout="full"),
        amounts_chart(d.by_theme, "Amounts requested and awarded by theme"),
        amounts_chart(d.by_year, "Amounts requested and awarded by year"),
        partners_chart("partners-kind", "Partners by kind", d.partners_by_kind, kinds=True),
        partners_chart(
            "partners-country",
            "Partners by country or territory",
            d.partners_by_country,
            kinds=False,
        ),
        weeks_chart(d.weeks),
    ]
    return {c.name: c for c in charts}
