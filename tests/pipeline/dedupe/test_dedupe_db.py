"""`pipeline.dedupe` against the database: the order of evidence, and the SQL narrowing of
fuzzy candidates (a deadline window, or the funder when there is no deadline)."""

from __future__ import annotations

from datetime import UTC, datetime

from fundradar.pipeline import store
from fundradar.pipeline.dedupe import SeenInRun, candidates, find_match
from fundradar.pipeline.normalise import normalise
from fundradar.pipeline.record import Call

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


def call(**kw) -> Call:  # type: ignore[no-untyped-def]
    base = {"source": "afd", "url": "https://www.afd.fr/fr/appels-a-projets/a", "funder": "AFD",
            "title": "Initiatives OSC 2027 : appel à manifestations d'intentions de projet",
            "deadline_texts": ["31 mars 2027"], "language": "fr"}  # fmt: skip
    base.update(kw)
    return normalise(Call(**base), now=NOW)


def put(session, **kw):  # type: ignore[no-untyped-def]
    return store.upsert(session, call(**kw), now=NOW).row


def test_candidates_come_from_the_deadline_window_or_the_funder(session) -> None:  # type: ignore[no-untyped-def]
    """...and share blocking keys (two title words) with the item: a call of the same days
    with one word or nothing in common is never judged."""
    near = put(session, url="https://x.org/near", title="Near deadline, other OSC initiatives")
    put(session, url="https://x.org/far", title="Far deadline OSC initiatives",
        deadline_texts=["31 mars 2028"])  # fmt: skip
    undated_same_funder = put(session, url="https://x.org/undated",
                              title="Undated AFD initiatives OSC", deadline_texts=[],
                              status_text="ouvert")  # fmt: skip
    put(session, url="https://x.org/undated-other", title="Undated other OSC initiatives",
        funder="ANR", deadline_texts=[], status_text="ouvert")  # fmt: skip
    unrelated = put(session, url="https://x.org/unrelated", title="Sargassum monitoring")
    one_word = put(session, url="https://x.org/one-word", title="Sargassum initiatives monitoring")
    session.flush()
    item = call(url="https://y.org/1", deadline_texts=["1 avril 2027"])
    assert {c["id"] for c in candidates(session, item)} == {near.id, undated_same_funder.id}
    # without a deadline, the funder is the only narrowing
    undated = call(url="https://y.org/2", deadline_texts=[], status_text="ouvert")
    ids = {c["id"] for c in candidates(session, undated)}
    assert undated_same_funder.id in ids and near.id in ids and len(ids) == 3
    assert unrelated.id not in ids and one_word.id not in ids


def test_order_of_evidence(session) -> None:  # type: ignore[no-untyped-def]
    eu = put(session, source="eu_ft", source_ref="HORIZON-CL6-2026-01-OCEAN-02",
             url="https://ec.europa.eu/topic-details/HORIZON-CL6-2026-01-OCEAN-02",
             title="Ocean observation for small islands", funder="European Commission",
             language="en", deadline_texts=["2026-09-22T17:00:00+02:00"])  # fmt: skip
    page = find_match(session, call(source="eu_ft", source_ref="HORIZON-CL6-2026-01-OCEAN-02",
                                    url=eu.url, title="Changed title"))  # fmt: skip
    assert page is not None and (page.row.id, page.how) == (eu.id, "page")
    moved = find_match(session, call(source="eu_ft", source_ref="HORIZON-CL6-2026-01-OCEAN-02",
                                     url="https://ec.europa.eu/new", title="x"))  # fmt: skip
    assert moved is not None and (moved.row.id, moved.how) == (eu.id, "ref")
    linked = find_match(session, call(source="fundsforngos", url=eu.url, title="y"))
    assert linked is not None and (linked.row.id, linked.how) == (eu.id, "url")
    named = find_match(session, call(source="fundsforngos", url="https://agg.org/ocean",
                                     title="Grant (HORIZON-CL6-2026-01-OCEAN-02)",
                                     deadline_texts=[]))  # fmt: skip
    assert named is not None and (named.row.id, named.how) == (eu.id, "identifier")
    fuzzy = find_match(session, call(source="fundsforngos", url="https://agg.org/ocean-2",
                                     title="Ocean observation for small islands",
                                     funder="European Union", language="en",
                                     deadline_texts=["22 September 2026"]))  # fmt: skip
    assert fuzzy is not None and (fuzzy.row.id, fuzzy.how) == (eu.id, "title")
    sibling = find_match(session, call(source="eu_ft", source_ref="HORIZON-CL6-2026-01-OCEAN-03",
                                       url="https://ec.europa.eu/topic-details/OCEAN-03",
                                       title="Ocean observation for small islands",
                                       funder="European Commission", language="en",
                                       deadline_texts=["2026-09-22T17:00:00+02:00"]))  # fmt: skip
    assert sibling is None  # another identifier of the same source: another call
    far = find_match(session, call(source="fundsforngos", url="https://agg.org/ocean-2025",
                                   title="Ocean observation for small islands",
                                   funder="European Union", language="en",
                                   deadline_texts=["22 September 2025"]))  # fmt: skip
    assert far is None  # last year's round


def test_seen_in_run_drops_the_second_copy_only() -> None:
    seen = SeenInRun()
    a = call()
    assert seen.first_time(a)
    assert not seen.first_time(call())
    assert not seen.first_time(call(source_ref=None, url=a.url + "?utm_source=x"))
    assert seen.first_time(call(url="https://www.afd.fr/fr/appels-a-projets/b"))
