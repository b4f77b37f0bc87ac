"""Numbered series stay apart: Call 134 / Call 146, Window 2 / 3, AMI n°3 / n°4, lot 1 / 2,
2026 / 2027 rounds, "2026-2" / "2026-3", Phase II / III, Round 5 / 6, Cohort 3 / 4 — whatever the
title similarity, even with deadlines a day apart; and the 3,000 generated distinct calls that
once lost 1,255 of their number to false merges all stay, through `fundradar import`."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from fundradar.pipeline.dedupe.match import same_call, series, series_conflict
from fundradar.pipeline.importer import import_lines
from fundradar.pipeline.models import CallRow
from tests.pipeline.dedupe.generated import series_calls, series_lines


def rec(title: str, deadline: str = "2027-03-31T16:00:00+00:00", **kw: object) -> dict:
    base = {
        "source": "funder_site",
        "title": title,
        "funder": "Interreg Caraïbes",
        "language": "fr",
        "deadlines": [deadline],
        "url": "https://x.example/" + title,
    }
    base.update(kw)  # fmt: skip
    return base


SERIES_PAIRS = [
    ("Call 134 on climate adaptation", "Call 146 on climate adaptation"),
    ("Window 2: blue economy grants", "Window 3: blue economy grants"),
    ("AMI n°3 – Une Caraïbe plus verte", "AMI n°4 – Une Caraïbe plus verte"),
    ("Lot 1 – énergies renouvelables", "Lot 2 – énergies renouvelables"),
    ("Fonds de coopération régionale : appel à projets 2026",
     "Fonds de coopération régionale : appel à projets 2027"),
    ("Appel à projets 2026-2 du Fonds de coopération régionale",
     "Appel à projets 2026-3 du Fonds de coopération régionale"),
    ("ACP-EU Science and Technology Programme II", "ACP-EU Science and Technology Programme III"),
    ("Sugar Research Programme (Phase II): call for projects",
     "Sugar Research Programme (Phase III): call for projects"),
    ("Darwin Plus Local: Round 5 now open", "Darwin Plus Local: Round 6 now open"),
    ("Caribbean climate accelerator – Cohort 3", "Caribbean climate accelerator – Cohort 4"),
    ("IRIS 2nd Call for Proposals – resilient infrastructure",
     "IRIS 3rd Call for Proposals – resilient infrastructure"),
    ("Small grants, phase II, call 3", "Small grants, phase III, call 3"),
    ("Round 100 – marine protected areas grants", "Appel à projets n°103 : marine protected areas"),
    ("Call 1948 on renewable energy", "Call 1950 on renewable energy"),
]  # fmt: skip


@pytest.mark.parametrize(("a", "b"), SERIES_PAIRS)
def test_differently_numbered_calls_of_one_series_are_different(a: str, b: str) -> None:
    # same funder, deadlines a day apart: only the number tells them apart
    same, why = same_call(rec(a), rec(b, "2027-04-01T16:00:00+00:00"))
    assert not same, why
    assert "different" in why and ("series" in why or "year" in why or "round" in why), why


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Appel à manifestation d'intérêt n°3 – Une Caraïbe plus verte",
         "Call for expressions of interest No. 3 – A greener Caribbean"),
        ("Darwin Plus Local: Round 3 now open", "Darwin Plus Local – third round (Montserrat)"),
        ("Appel à projets 2026 – coopération régionale",
         "Round 3 of the 2026 call: regional cooperation"),
        ("Canada Fund for Local Initiatives: call for proposals 2024-2025",
         "Canada Fund for Local Initiatives: call for proposals 2024-25"),
        ("Interreg Caraïbes 2021-2027 : premier appel à projets",
         "Interreg Caribbean 2021-2027: first call for projects"),
        ("Appel à manifestation d'intérêt n°3 – Une Caraïbe plus verte",
         "Call for expressions of interest 2027 – a greener Caribbean"),
    ],
)  # fmt: skip
def test_the_same_number_written_differently_is_no_conflict(a: str, b: str) -> None:
    assert series_conflict(series(a), series(b)) is None, (series(a), series(b))


def test_the_english_pronoun_is_no_numeral() -> None:
    assert series("Call for projects “I cooperate with the OECS countries” 2022") == frozenset()
    assert series("Sugar Research Programme – Phase I") == frozenset({("phase", 1, False)})


def test_periods_and_dates_are_not_rounds() -> None:
    assert series("CFLI 2024-25 call for proposals") == frozenset()
    assert series("Programme 2021-2027") == frozenset()
    assert not {k for k, _, _ in series("Call 2026 – 15 January deadline")} & {"year-round"}
    assert series("Appel 2026-2") == frozenset({("year-round", 2, False)})


def test_generated_series_never_merge_pairwise() -> None:
    """Every pair of generated calls within the deadline tolerance, judged directly."""
    for mixed in (False, True):
        calls = series_calls(3000, mixed=mixed)
        for c in calls:
            c["deadlines"] = [str(c["deadline"]).replace(" ", "T") + ":00+00:00"]
        merged = [
            (a["title"], b["title"], same_call(a, b)[1])
            for i, a in enumerate(calls)
            for b in calls[i + 1 : i + 8]  # deadlines two a day: 7 ahead covers ±36 h
            if same_call(a, b)[0]
        ]
        assert merged == [], merged[:5]


def test_3000_generated_distinct_calls_import_as_3000(fundradar_home) -> None:  # type: ignore[no-untyped-def]
    """The user's case end to end: `fundradar import` of 3,000 distinct "Call N on <topic>",
    deadlines a day apart, on a real SQLite database (find_match's SQL narrowing included)."""
    report = import_lines(series_lines(3000))
    assert report.counts == Counter({"new": 3000}), report.summary()
    from fundradar.pipeline import db

    with db.session_scope() as s:
        assert s.scalar(select(func.count()).select_from(CallRow)) == 3000
