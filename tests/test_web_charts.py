"""The review page's charts (pygal): six months of deadline weeks with bands stacked, themes,
funders; hostile labels escaped; pygal's stylesheet served as a file for the CSP.

Calls reconstructed — not captures.
"""

from __future__ import annotations

import re
from datetime import timedelta

from fundradar.pipeline import db
from fundradar.pipeline.exports.query import CallFilter
from fundradar.web import charts, create_app
from tests.pipeline.exports.exports_factory import NOW, add_call


def test_deadline_weeks_stack_bands_over_six_months() -> None:
    week = timedelta(weeks=1)
    with db.session_scope() as s:
        add_call(s, 1, band="high", deadline=NOW + 2 * week)
        add_call(s, 2, band="medium", deadline=NOW + 2 * week)
        add_call(s, 3, band="low", deadline=NOW + 20 * week)  # within 26 weeks
        add_call(s, 4, band="high", deadline=NOW + 30 * week)  # after six months
        add_call(s, 5, band="high", deadline=None)
        deadlines, themes, funders = charts.build(s, CallFilter(), NOW)
    assert "1 call due after these 6 months" in deadlines.note
    assert "1 open call without a deadline" in deadlines.note
    # 2 calls in one week (two bands), 1 twenty weeks on; the week labels run 26 weeks
    assert ": 2" in deadlines.summary and deadlines.summary.count("week of") == 2
    svg = str(deadlines.wide)
    series = set(re.findall(r'class="series serie-(\d)', svg))
    assert series == {"0", "1", "2", "3"}  # high, medium, low, unscored stacked
    assert len(re.findall(r"<text[^>]*>\d+ (Dec|Jan|Feb|Mar|Apr|May|Jun)</text>", svg)) >= 10
    assert themes.counts == {"climate_resilience": 5}  # every open call, dated or not
    assert funders.counts == {"European Commission": 5}


def test_hostile_labels_are_escaped_and_cleaned() -> None:
    with db.session_scope() as s:
        add_call(s, 1, funder="<script>alert(1)</script>\x00\x07 Fund", themes=["<b>x</b>"])
    html = create_app(clock=lambda: NOW).test_client().get("/").get_data(as_text=True)
    charts_part = html[html.index('class="charts"') : html.index('class="calls"')]
    assert "<script" not in charts_part and "<b>" not in charts_part
    assert "&lt;script&gt;" in charts_part and "\x00" not in charts_part
    assert "style=" not in charts_part  # the CSP forbids inline styles


def test_pygal_stylesheet_is_served_for_every_chart() -> None:
    resp = create_app(clock=lambda: NOW).test_client().get("/charts.css")
    assert resp.status_code == 200 and resp.mimetype == "text/css"
    css = resp.get_data(as_text=True)
    assert "#chart-" not in css and "svg.pygal-chart .axis" in css
    for n in range(len(charts.BANDS)):
        assert f".color-{n}" in css
    assert "font-size:12px" in css and "font-size:10px" not in css
