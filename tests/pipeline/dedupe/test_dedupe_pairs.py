"""`same_call` on plain records: the labelled pair set, and the rules one at a time.

The pair set (tests/fixtures/dedupe/pairs.jsonl, built by build_pairs.py there; README says how)
is the figure the issue asks for: precision and recall of the duplicate decision, reported for
each part apart — "old" (the set before issue 10), "new" (issue 10's series, aggregator-link
and one-sided-deadline pairs, looked at while tuning) and "new-holdout" (measured once after).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import pytest

from fundradar.pipeline.dedupe import effective_funder
from fundradar.pipeline.dedupe.match import funders_agree, same_call
from fundradar.pipeline.record import Call
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
    assert {k.split(":")[0] for k in kinds} == {"eu", "dev", "src", "holdout", "new", "new-holdout"}
    assert {k.split(":")[0] for k in kinds if k.startswith("new")} == {"new", "new-holdout"}
    assert all(p["part"] == k.split(":")[0] for p in PAIRS if (k := p["kind"]).startswith("new"))


def test_issue_10_pairs_cover_what_it_asks_for() -> None:
    new = [p for p in PAIRS if p["part"] != "old"]
    kinds = Counter(p["kind"].split(":")[1] for p in new)
    assert kinds["series-different"] >= 15  # numbered series, different calls
    linked = [p for p in new if p["same"] and (p["a"].get("links") or p["b"].get("links"))]
    assert len(linked) >= 8 and any(not (p["a"]["deadlines"] and p["b"]["deadlines"])
                                    for p in linked)  # fmt: skip
    one_sided = [p for p in new if "cross-language-undated" in p["kind"]]
    assert sum(p["same"] for p in one_sided) >= 5 and sum(not p["same"] for p in one_sided) >= 5


def as_judged(record: dict) -> dict:
    """The record as dedupe judges it: an aggregator's own name is no funder (config/sources.yaml
    says which sources are aggregators), as `find_match` does before asking `judge`."""
    return dict(record, funder=effective_funder(record.get("source"), record.get("funder")))


def measure(part: str) -> tuple[float, float, list[tuple[str, str, str]]]:
    tp = fp = fn = 0
    wrong = []
    for p in PAIRS:
        if p["part"] != part:
            continue
        same, why = same_call(as_judged(p["a"]), as_judged(p["b"]))
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
    n = sum(p["part"] == part for p in PAIRS)
    print(f"\n{part}: {n} pairs, precision {precision:.3f} ({tp}/{tp + fp}), "
          f"recall {recall:.3f} ({tp}/{tp + fn})")  # fmt: skip
    for w in wrong:
        print("  ", *w)
    return precision, recall, wrong


def test_precision_and_recall_on_the_old_pairs() -> None:
    precision, recall, wrong = measure("old")
    assert precision >= 0.95, wrong
    assert recall >= 0.95, wrong


def test_precision_and_recall_on_the_new_pairs() -> None:
    """Targets for issue 10's pairs: no false merge of a numbered series (precision >= 0.95)
    and at least nine in ten of the same calls found (recall >= 0.9)."""
    precision, recall, wrong = measure("new")
    assert precision >= 0.95, wrong
    assert recall >= 0.9, wrong


def test_precision_and_recall_on_the_new_holdout() -> None:
    """Measured once after the rules were fixed (README): a floor, so a regression shows. The
    hold-out's recall is the honest figure for one-sided-deadline translations: low."""
    precision, recall, wrong = measure("new-holdout")
    assert precision >= 0.9, wrong
    assert recall >= 0.6, wrong


def test_the_decision_is_symmetric() -> None:
    for p in PAIRS:
        a, b = as_judged(p["a"]), as_judged(p["b"])
        assert same_call(a, b)[0] == same_call(b, a)[0], p["note"]


def test_the_committed_pairs_are_what_build_pairs_builds() -> None:
    import runpy

    built = runpy.run_path(str(FIXTURES / "dedupe" / "build_pairs.py"))["pairs"]
    assert [json.dumps(p, ensure_ascii=False, sort_keys=True) for p in built] == [
        json.dumps(p, ensure_ascii=False, sort_keys=True) for p in PAIRS
    ]


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


def test_cross_language_needs_the_funder_and_the_deadline_or_the_year() -> None:
    fr = {"title": "FISONG 2026 – Économie bleue inclusive dans les petits États insulaires",
          "funder": "AFD", "language": "fr", "deadline": "2027-02-26",
          "url": "https://afd.fr/fr/f"}  # fmt: skip
    en = {"title": "FISONG 2026 – Inclusive blue economy in small island developing states",
          "funder": "Agence française de développement", "language": "en",
          "deadline": "2027-02-26", "url": "https://afd.fr/en/f"}  # fmt: skip
    assert same_call(fr, en)[0]
    assert not same_call(fr, dict(en, funder="Expertise France"))[0]
    assert not same_call(fr, dict(en, deadline="2027-06-30"))[0]
    # a deadline on one side only: the funder and the year (or the call's number) must agree
    undated = dict(en, deadline=None)
    same, why = same_call(fr, undated)
    assert same and "a deadline on one side only" in why
    assert not same_call(fr, dict(undated, funder=None))[0]
    no_year = {k: v.replace("2026 ", "") for k, v in (("fr", fr["title"]), ("en", en["title"]))}
    assert not same_call(dict(fr, title=no_year["fr"]), dict(undated, title=no_year["en"]))[0]
    other_year = dict(undated, title=en["title"].replace("2026", "2027"))
    assert not same_call(fr, other_year)[0]
    # the same call number instead of a year
    ami_fr = {"title": "Appel à manifestation d'intérêt n°3 – Une Caraïbe plus verte et plus "
              "résiliente", "funder": "Interreg Caraïbes", "language": "fr",
              "deadline": "2027-03-31", "url": "https://ic.example/fr/3"}  # fmt: skip
    ami_en = {"title": "Call for expressions of interest No. 3 – A greener, more resilient "
              "Caribbean", "funder": "Interreg Caribbean", "language": "en",
              "url": "https://ic.example/en/3"}  # fmt: skip
    assert same_call(ami_fr, ami_en)[0]
    assert not same_call(ami_fr, dict(ami_en, title=ami_en["title"].replace("3", "4")))[0]


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
