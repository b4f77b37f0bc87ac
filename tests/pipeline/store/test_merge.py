"""Merging the pages of one call: never overwritten with less, rebuilt by precedence, scored as
merged, the same whatever the order the pages were seen in.

The calls here are reconstructed — not captures: written after the real pages they name
(Interreg Caraïbes, the Canada Fund for Local Initiatives) to exercise the merge.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from fundradar.pipeline import db, store
from fundradar.pipeline.exports.csv_feed import csv_chunks
from fundradar.pipeline.importer import import_lines
from fundradar.pipeline.models import CallChange, CallRow, Sighting
from fundradar.pipeline.normalise import normalise
from fundradar.pipeline.record import Call
from fundradar.pipeline.store.merge import Page, merge_page, rebuild

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


# --- the pure merge ---------------------------------------------------------------------------


def page(source: str, url: str, rank: int, since: datetime = NOW, **data):  # type: ignore[no-untyped-def]
    stamp = since.isoformat()
    return Page(source, url, rank, data, {k: stamp for k in data})


def test_a_page_seen_again_changes_a_field_only_when_it_brings_a_value() -> None:
    first = {"title": "Call", "funder": "AFD", "budget_max": 100.0, "currency": "EUR",
             "summary": "Long text.", "deadlines": ["2027-03-31T11:00:00+00:00"]}  # fmt: skip
    since = {k: NOW.isoformat() for k in first}
    later = NOW + timedelta(days=7)
    new = {"title": "Call", "deadlines": ["2027-04-30T10:00:00+00:00"],
           "deadline_kind": "datetime"}  # fmt: skip
    data, when, changed = merge_page(first, since, new, later)
    assert changed
    assert data == {**first, "deadlines": ["2027-04-30T10:00:00+00:00"],
                    "deadline_kind": "datetime"}  # fmt: skip
    assert when["deadlines"] == later.isoformat() and when["funder"] == NOW.isoformat()
    # the same again changes nothing, not even the times
    assert merge_page(data, when, new, later + timedelta(days=7)) == (data, when, False)
    # a visit that lost the deadline keeps it ("not_found" is no value)
    lost = {"title": "Call", "deadline_kind": "not_found"}
    assert merge_page(data, when, lost, later)[0]["deadlines"] == ["2027-04-30T10:00:00+00:00"]


def test_rebuild_is_fieldwise_by_rank_then_newest() -> None:
    funder = page("afd", "https://afd.fr/a", 0, title="FISONG", summary="Funder's text.",
                  deadlines=["2027-03-31T11:00:00+00:00"], deadline_kind="datetime")  # fmt: skip
    aggregator = page(
        "fundsforngos",
        "https://f.org/a",
        2,
        NOW + timedelta(days=3),
        title="FISONG (AFD)",
        summary="Copied.",
        budget_max=300000.0,
        currency="EUR",
        funder="AFD",
        deadlines=["2027-03-31T22:59:00+00:00"],
    )
    merged = rebuild([aggregator, funder], NOW).values
    assert merged["title"] == "FISONG" and merged["summary"] == "Funder's text."
    # the funder's page has no budget and no funder name: it does not hide the aggregator's
    assert (merged["budget_max"], merged["currency"], merged["funder"]) == (300000.0, "EUR", "AFD")
    assert merged["deadlines"] == [datetime(2027, 3, 31, 11, tzinfo=UTC)]
    assert merged["deadline_kind"] == "datetime"

    # within a rank the newest value wins; a tie goes by source, then URL
    old = page("afd", "https://afd.fr/fr", 0, title="Ancien titre")
    new = page("afd", "https://afd.fr/en", 0, NOW + timedelta(days=1), title="New title")
    assert rebuild([old, new], NOW).values["title"] == "New title"
    tie_a = page("afd", "https://afd.fr/b", 0, title="B")
    tie_b = page("afd", "https://afd.fr/a", 0, title="A")
    for pages in itertools.permutations([tie_a, tie_b, aggregator]):
        assert rebuild(pages, NOW).values["title"] == "A"


def test_no_deadline_anywhere_is_not_found_and_rolling_is_a_value() -> None:
    a = page("afd", "https://afd.fr/a", 0, title="X", deadline_kind="not_found")
    b = page("agg", "https://agg.org/a", 2, title="X", deadline_kind="rolling")
    assert rebuild([a], NOW).values["deadline_kind"] == "not_found"
    both = rebuild([a, b], NOW).values
    assert (both["deadline_kind"], both["deadlines"], both["deadline"]) == ("rolling", [], None)


# --- through `fundradar import` ----------------------------------------------------------------

CFLI = {
    "id": "cfli-ec-2027",
    "title": "Canada Fund for Local Initiatives – Eastern Caribbean 2027",
    "url": "https://www.international.gc.ca/cfli-eastern-caribbean-2027",
    "funder": "Global Affairs Canada",
    "summary": "Small grants for local projects in the OECS member states on climate adaptation "
    "and coastal resilience.",
    "eligibility": "Governments, regional bodies and NGOs of OECS member states may apply.",
    "budget": "up to CAD 100,000 per project",
    "deadline": "3 May 2027 17:00",
    "timezone": "America/St_Lucia",
}


def test_reimport_with_only_a_new_deadline_keeps_everything_else() -> None:
    """The issue's repro: a second import naming only the deadline used to erase the funder,
    budget, summary and eligibility (score 85 -> 62, the OECS reason gone)."""
    import_lines([json.dumps(CFLI)], now=NOW)
    with db.session_scope() as s:
        before = s.scalars(select(CallRow)).one()
        score, reasons = before.score, list(before.reasons)
    assert score is not None and score >= 70 and any("OECS" in r for r in reasons)

    only = {k: CFLI[k] for k in ("id", "title", "url", "timezone")}
    only["deadline"] = "17 May 2027 17:00"
    report = import_lines([json.dumps(only)], now=NOW + timedelta(days=1))
    assert report.results[0].status == "updated" and report.results[0].changes == ("deadlines",)
    with db.session_scope() as s:
        row = s.scalars(select(CallRow)).one()
        assert row.funder == "Global Affairs Canada"
        assert (row.budget_max, row.currency, row.budget_scope) == (100000, "CAD", "per_project")
        assert row.summary == CFLI["summary"] and row.eligibility_text == CFLI["eligibility"]
        assert (row.score, row.reasons) == (score, reasons)
        assert row.deadline == datetime(2027, 5, 17, 21, tzinfo=UTC)  # 17:00 in Saint Lucia
        change = s.scalars(select(CallChange)).one()
        assert (change.field, change.source) == ("deadlines", "import")
        assert change.old_value == ["2027-05-03T21:00:00+00:00"]
        assert change.new_value == ["2027-05-17T21:00:00+00:00"]
        assert change.seen_at == NOW + timedelta(days=1)


def test_a_deadline_moved_by_seconds_is_not_a_change() -> None:
    """Date-only deadlines became 23:59:59 (they were 23:59:00): rows stored before must not all
    read "deadline moved" at the next crawl. A real move is still a change (test above)."""
    import_lines([json.dumps({**CFLI, "deadline": "3 May 2027 23:59"})], now=NOW)
    report = import_lines([json.dumps({**CFLI, "deadline": "3 May 2027"})],
                          now=NOW + timedelta(days=1))  # fmt: skip
    assert report.results[0].changes == ()
    with db.session_scope() as s:
        assert s.scalars(select(CallChange).where(CallChange.field == "deadlines")).all() == []
        row = s.scalars(select(CallRow)).one()
        # the newer reading is kept: end of that day in Saint Lucia, given as a date
        assert row.deadline == datetime(2027, 5, 4, 3, 59, 59, tzinfo=UTC)
        assert row.deadline_kind == "date"


def test_a_funder_page_without_budget_keeps_the_imported_budget() -> None:
    import_lines([json.dumps(CFLI)], now=NOW)
    site = Call(
        source="cfli_site",
        url="https://www.international.gc.ca/cfli-2027-page",
        title=CFLI["title"],
        funder="Global Affairs Canada",
        deadline_texts=["3 May 2027 17:00"],
        summary="The funder's own description.",
    )
    site.extra["timezone"] = "America/St_Lucia"
    with db.session_scope() as s:
        stored = store.upsert(s, normalise(site, now=NOW), now=NOW + timedelta(hours=1))
        row = stored.row
        assert stored.match == "title" and row.extra["data_source"] == "cfli_site"
        assert row.summary == "The funder's own description."  # rank 0 beats the import
        assert (row.budget_max, row.currency) == (100000, "CAD")  # the import fills the gap
        assert row.eligibility_text == CFLI["eligibility"]
        assert row.url == site.url and row.key == "url:" + site.url


# --- the same pages in any order ---------------------------------------------------------------


def raw_calls() -> list[Call]:
    """Eight items, reconstructed — not captures: one call on its funder's site in French and
    English and on an aggregator; one imported and found on the funder's site; three others."""
    interreg = "https://www.interreg-caraibes.fr"
    calls = [
        Call(source="interreg_caraibes", url=f"{interreg}/fr/appel-a-projets-2027",
             title="Appel à projets Interreg Caraïbes 2027 : résilience climatique",
             summary="Projets de coopération entre les régions ultrapériphériques et les pays "
             "de l'OECO pour l'adaptation au changement climatique.",
             funder="Interreg Caraïbes", deadline_texts=["31 mars 2027 à 12h00"],
             language="fr"),
        Call(source="interreg_caraibes", url=f"{interreg}/en/call-for-projects-2027",
             title="Interreg Caribbean 2027 call for projects: climate resilience",
             summary="Cooperation projects open to OECS member states: climate adaptation, "
             "disaster risk reduction.", eligibility_text="Public bodies and regional "
             "organisations of the OECS member states.",
             funder="Interreg Caraïbes", deadline_texts=["31 March 2027, 12:00"],
             language="en"),
        Call(source="fundsforngos", url="https://www2.fundsforngos.org/interreg-caraibes-2027/",
             title="Interreg Caribbean 2027 call for projects: climate resilience",
             funder="fundsforNGOs (aggregator)", budget_text="up to EUR 300,000 per project",
             deadline_texts=["31 March 2027"], language="en"),
        Call(source="import", url=CFLI["url"], source_ref=CFLI["id"], title=CFLI["title"],
             summary=CFLI["summary"], funder=CFLI["funder"], budget_text=CFLI["budget"],
             deadline_texts=["3 May 2027 17:00"], language="en"),
        Call(source="cfli_site", url="https://www.international.gc.ca/cfli-2027-page",
             title=CFLI["title"], funder="Global Affairs Canada",
             deadline_texts=["3 May 2027 17:00"], summary="The funder's own description."),
        Call(source="afd", url="https://www.afd.fr/fr/appels-a-projets/fisong-2027",
             title="FISONG 2027 – Économie bleue inclusive", funder="AFD",
             deadline_texts=["26 février 2027 à 12h00"], language="fr"),
        Call(source="anr", url="https://anr.fr/fr/detail/call/aapg-2027/",
             title="Appel à projets générique 2027", funder="ANR",
             deadline_texts=["15 octobre 2027"], language="fr"),
        Call(source="auf", url="https://www.auf.org/appels/caraibe-2027",
             title="Appel à projets Caraïbe numérique", funder="AUF",
             summary="Pas de date limite : candidatures au fil de l'eau.", language="fr"),
    ]  # fmt: skip
    for call in calls:
        call.extra["timezone"] = "America/St_Lucia" if call.source.startswith("cfli") else (
            "Europe/Paris")  # fmt: skip
    return calls


def store_in_order(url: str, order: list[int]) -> tuple[str, list[tuple[str, int | None]]]:
    calls = raw_calls()
    db.init(url)
    session = db.session_factory(url)()
    try:
        for i in order:
            call = calls[i]
            store.upsert(session, normalise(call, now=NOW), now=NOW)
            session.commit()
        csv_text = "".join(csv_chunks(session, now=NOW))
        # the id column holds database keys, given in the order calls were stored: blanked,
        # every other byte must be the same whatever the order
        csv_text = re.sub(r",[0-9]+,([^,\r\n]*)\r\n", r",#,\1\r\n", csv_text)
        assert csv_text.count(",#,") == 5
        scores = session.execute(select(CallRow.title, CallRow.score).order_by(CallRow.title))
        return csv_text, [tuple(r) for r in scores]  # type: ignore[misc]
    finally:
        session.close()


def test_the_same_pages_in_three_orders_give_the_same_csv_byte_for_byte(tmp_path: Path) -> None:
    n = len(raw_calls())
    orders = [list(range(n))] + [random.Random(seed).sample(range(n), n) for seed in (1, 2)]
    assert len({tuple(o) for o in orders}) == 3
    results = [store_in_order(f"sqlite:///{tmp_path / f'order{i}.db'}", o)
               for i, o in enumerate(orders)]  # fmt: skip
    csvs = [r[0] for r in results]
    assert csvs[0] == csvs[1] == csvs[2]
    assert results[0][1] == results[1][1] == results[2][1]
    # the French and English Interreg pages and the aggregator copy are one call, one score
    url = f"sqlite:///{tmp_path / 'order0.db'}"
    with db.session_scope(url) as s:
        assert s.scalar(select(func.count(CallRow.id))) == 5
        interreg = s.scalars(select(CallRow).where(CallRow.funder == "Interreg Caraïbes")).one()
        assert {x.source for x in interreg.sightings} == {"interreg_caraibes", "fundsforngos"}
        assert len(interreg.sightings) == 3
        assert (interreg.budget_max, interreg.currency) == (300000, "EUR")  # from the aggregator
        assert interreg.eligibility_text is not None and interreg.band in ("high", "medium")
        assert s.scalar(select(func.count(Sighting.id))) == 8
    assert csvs[0].count("\r\n") == 6  # header + five calls


def test_french_and_english_pages_give_one_score_whichever_comes_first(tmp_path: Path) -> None:
    fr, en = raw_calls()[:2]
    scores = []
    for i, order in enumerate(([fr, en], [en, fr])):
        url = f"sqlite:///{tmp_path / f'lang{i}.db'}"
        db.init(url)
        with db.session_scope(url) as s:
            for call in order:
                store.upsert(s, normalise(call, now=NOW), now=NOW)
        with db.session_scope(url) as s:
            row = s.scalars(select(CallRow)).one()
            scores.append((row.score, row.band, row.reasons))
    assert scores[0] == scores[1]


def test_a_page_matching_two_stored_calls_joins_them_and_loses_nothing(session) -> None:  # type: ignore[no-untyped-def]
    """The aggregator's English copy and the French page were stored as two calls; the English
    page matches both: one call remains, with every sighting, change and verdict."""
    from fundradar.pipeline.models import Verdict

    fr, en, agg = raw_calls()[:3]
    first = store.upsert(session, normalise(agg, now=NOW), now=NOW).row
    second = store.upsert(session, normalise(fr, now=NOW), now=NOW + timedelta(hours=1)).row
    assert first.id != second.id  # neither names the other
    session.add(Verdict(call=second, verdict="shortlist", author="officer"))
    twin_key = second.key
    session.commit()
    joined = store.upsert(session, normalise(en, now=NOW), now=NOW + timedelta(hours=2))
    session.commit()
    assert session.scalar(select(func.count(CallRow.id))) == 1
    row = joined.row
    assert row.id == first.id  # the oldest call stays
    pages = {(s.source, s.language) for s in row.sightings}
    assert pages == {
        ("fundsforngos", "en"),
        ("interreg_caraibes", "fr"),
        ("interreg_caraibes", "en"),
    }
    assert [v.verdict for v in row.verdicts] == ["shortlist"]
    assert row.extra["merged_keys"] == [twin_key]
    assert row.funder == "Interreg Caraïbes" and row.budget_max == 300000
