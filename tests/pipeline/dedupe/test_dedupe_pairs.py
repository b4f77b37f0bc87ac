"""`same_call` on plain records: the labelled pair set, and the rules one at a time.

The pair set (tests/fixtures/dedupe/pairs.jsonl, built by build_pairs.py there; README says how)
is the figure the issue asks for: precision and recall of the duplicate decision.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import pytest

from pipeline.dedupe.match import funders_agree, same_call
from pipeline.record import Call
from tests.conftest import FIXTURES

PAIRS = [
    json.loads(line)
    for line in (FIXTURES / "dedupe" / "pairs.jsonl").read_text(encoding="utf-8").splitlines()
]


def test_pair_set_is_big_and_varied_enough() -> None:
    assert len(PAIRS) >= 100
    labels = Counter(p["same"] for p in PAIRS)
    assert labels[True] >= 40 and labels[False] >= 40
    kinds = Counter(p["kind"] for p in PAIRS)
    cross_language_same = [
        p for p in PAIRS
        if p["same"] and p["a"]["language"] and p["b"]["language"]
        and p["a"]["language"] != p["b"]["language"]
    ]  # fmt: skip
    assert len(cross_language_same) >= 10
    other_year = sum(n for k, n in kinds.items() if "other-year" in k or "other-round" in k)
    assert other_year >= 15
    # every source of records the README names is present
    assert {k.split(":")[0] for k in kinds} == {"eu", "dev", "src", "holdout"}


def test_precision_and_recall_on_the_labelled_pairs() -> None:
    tp = fp = fn = 0
    wrong = []
    for p in PAIRS:
        same, why = same_call(p["a"], p["b"])
        assert isinstance(why, str) and why
        if same and p["same"]:
            tp += 1
        elif same:
            fp += 1
            wrong.append(("merged", p["note"], why))
        elif p["same"]:
            fn += 1
            wrong.append(("missed", p["note"], why))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(f"\n{len(PAIRS)} pairs: precision {precision:.3f}, recall {recall:.3f}")
    for w in wrong:
        print("  ", *w)
    assert precision >= 0.95, wrong
    assert recall >= 0.95, wrong


def test_the_decision_is_symmetric() -> None:
    for p in PAIRS:
        assert same_call(p["a"], p["b"])[0] == same_call(p["b"], p["a"])[0], p["note"]


# --- the rules, one by one ------------------------------------------------------------------

EU = "https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/"


def eu(ref: str, title: str, deadline: str) -> dict:
    return {"source": "eu_ft", "source_ref": ref, "url": EU + "topic-details/" + ref,
            "title": title, "funder": "European Commission", "language": "en",
            "deadlines": [deadline]}  # fmt: skip


def test_same_source_different_identifiers_are_different_whatever_the_title() -> None:
    a = eu("HORIZON-CL6-2026-01-A", "Soil health living labs", "2026-09-15T15:00:00+00:00")
    b = eu("HORIZON-CL6-2026-01-B", "Soil health living labs", "2026-09-15T15:00:00+00:00")
    same, why = same_call(a, b)
    assert not same and "different identifiers" in why


def test_identifier_in_an_aggregator_title_is_enough() -> None:
    a = eu("HORIZON-CL6-2026-01-A", "Soil health living labs", "2026-09-15T15:00:00+00:00")
    b = {"source": "agg", "url": "https://agg.example/x", "title": "Grant: living labs for soils "
         "(HORIZON-CL6-2026-01-A)", "funder": None, "deadline": None}  # fmt: skip
    assert same_call(a, b) == (True, "same funder identifier HORIZON-CL6-2026-01-A")


def test_same_title_different_year_is_rejected_with_that_reason() -> None:
    a = {"title": "Appel à projets « Je coopère avec les pays de l'OECO » 2021",
         "funder": "Région Guadeloupe", "language": "fr", "url": "https://a.example/1"}  # fmt: skip
    b = dict(a, title="Appel à projets « Je coopère avec les pays de l'OECO » 2022",
             url="https://a.example/2")  # fmt: skip
    same, why = same_call(a, b)
    assert not same and why.startswith("same title, different year")


def test_same_title_without_years_but_deadlines_a_year_apart_is_rejected() -> None:
    a = {"title": "Blue Action Fund call for proposals: small island states",
         "funder": "Blue Action Fund", "deadline": "2024-08-03",
         "url": "https://b.example/1"}  # fmt: skip
    b = dict(a, deadline="2025-08-01", url="https://b.example/2")
    assert same_call(a, b) == (False, "deadlines differ")


def test_deadlines_a_few_hours_apart_agree() -> None:
    """The funder says 17:00 Brussels; the aggregator gives the date only (23:59 its time)."""
    a = eu("HORIZON-X-2026-01-01", "Approaches and tools for software security",
           "2026-09-15T15:00:00+00:00")  # fmt: skip
    b = {"source": "agg", "url": "https://agg.example/y", "title": "Approaches and tools for "
         "software security", "funder": "European Union", "deadline": "2026-09-15"}  # fmt: skip
    assert same_call(a, b)[0]


def test_different_rounds_are_different_calls() -> None:
    a = {"title": "IRIS 2nd Call for Proposals – data for resilient infrastructure",
         "funder": "CDRI", "url": "https://c.example/2"}  # fmt: skip
    b = dict(a, title="IRIS 3rd Call for Proposals – data for resilient infrastructure",
             url="https://c.example/3")  # fmt: skip
    assert same_call(a, b) == (False, "different round or edition of a call")


def test_cross_language_needs_deadline_and_funder_agreement() -> None:
    fr = {"title": "FISONG 2026 – Économie bleue inclusive dans les petits États insulaires",
          "funder": "AFD", "language": "fr", "deadline": "2027-02-26",
          "url": "https://afd.fr/fr/f"}  # fmt: skip
    en = {"title": "FISONG 2026 – Inclusive blue economy in small island developing states",
          "funder": "Agence française de développement", "language": "en",
          "deadline": "2027-02-26", "url": "https://afd.fr/en/f"}  # fmt: skip
    assert same_call(fr, en)[0]
    assert not same_call(fr, dict(en, deadline=None))[0]
    assert not same_call(fr, dict(en, funder="Expertise France"))[0]


def test_works_on_call_records_too() -> None:
    when = datetime(2026, 9, 15, 15, tzinfo=UTC)
    a = Call(source="afd", url="https://afd.fr/fr/x", title="Initiatives OSC 2027 : appel à "
             "manifestations d'intentions", funder="AFD", language="fr",
             deadlines=[when])  # fmt: skip
    b = Call(source="coordinationsud", url="https://cs.example/x", title="AFD – Initiatives OSC "
             "2027", funder="Agence française de développement", language="fr",
             deadlines=[when])  # fmt: skip
    a.extra["canonical_url"] = "https://afd.fr/fr/x"
    assert same_call(a, b)[0]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("European Commission", "Commission européenne", "agree"),
        ("Interreg Caraïbes", "Union européenne (FEDER)", "agree"),
        ("Agence nationale de la recherche", "ANR", "agree"),
        ("Red Mercociudades – Programa de Cooperación Sur Sur", "Mercocidades", "agree"),
        ("AFD", "European Commission", "disagree"),
        ("Caribbean Development Bank", "Blue Action Fund", "disagree"),
        (None, "AFD", "unknown"),
    ],
)
def test_funder_agreement(a: str | None, b: str, expected: str) -> None:
    assert funders_agree(a, b) == expected


def test_regional_variants_of_one_programme_are_different_calls() -> None:
    """Same funder, same deadline, same wording: the places decide (the scorer's geography)."""
    a = {
        "title": "Canada Fund for Local Initiatives – Eastern Caribbean call for proposals 2027",
        "funder": "Global Affairs Canada",
        "deadline": "2027-05-03",
        "url": "https://c.example/1",
    }
    b = dict(a, title="Canada Fund for Local Initiatives – Jamaica call for proposals 2027",
             url="https://c.example/2")  # fmt: skip
    assert same_call(a, b) == (False, "different places named")
    # the OECS as a whole and one of its members can be the same call
    c = dict(a, title="Canada Fund for Local Initiatives – Saint Lucia call for proposals 2027",
             url="https://c.example/3")  # fmt: skip
    d = dict(a, title="Canada Fund for Local Initiatives – OECS call for proposals 2027",
             url="https://c.example/4")  # fmt: skip
    assert same_call(c, d)[0]


def test_a_french_title_tagged_english_still_matches_across_languages() -> None:
    """Page language comes from the whole page; the title's own words say French."""
    fr = {
        "title": "Appel à projets : emploi des jeunes dans la Caraïbe 2027",
        "language": "en",
        "funder": "World Bank",
        "deadline": "2027-04-30",
        "url": "https://w.example/fr",
    }
    en = dict(fr, title="Call for projects: youth employment in the Caribbean 2027",
              url="https://w.example/en")  # fmt: skip
    assert same_call(fr, en)[0]


def test_one_glossary_word_does_not_make_a_second_language() -> None:
    """Two French calls of one funder with the same deadline, on different topics."""
    a = {
        "title": "Appel à propositions : culture (Caraïbe orientale) 2028",
        "language": "fr",
        "funder": "ANR",
        "deadline": "2028-07-21",
        "url": "https://anr.example/1",
    }
    b = dict(a, title="Appel à manifestation d'intérêt : biodiversité (Caraïbe orientale) 2028",
             url="https://anr.example/2")  # fmt: skip
    assert not same_call(a, b)[0]
