"""`pipeline.store.batch.BatchStore`: new calls written in batches, the same database as one
`upsert` per item, dedupe seeing the calls not written yet, a lost race stored call by call.

The calls are generated here (reconstructed — not captures), in the shape of the real funders'
and aggregators' pages the merge tests use: originals, an aggregator's copy of some (reworded
title, its own name as funder, a link to the funder's page), the other-language page of some,
and the same page seen again.
"""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from fundradar.pipeline import db, store
from fundradar.pipeline.models import CallChange, CallRow, DedupeKey, Sighting
from fundradar.pipeline.normalise import normalise
from fundradar.pipeline.record import Call
from fundradar.pipeline.store.batch import BatchStore

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
TOPICS = [("coastal resilience", "résilience du littoral"), ("sargassum", "sargasses"),
          ("renewable energy", "énergies renouvelables"), ("youth employment", "emploi des jeunes"),
          ("public health", "santé publique"), ("blue economy", "économie bleue")]  # fmt: skip
PLACES = ["Dominica", "Saint Lucia", "Grenada", "the Sahel", "the Pacific"]


def items(n: int, seed: int = 7) -> list[Call]:
    rng = random.Random(seed)
    out: list[Call] = []
    originals: list[tuple[Call, str, str, datetime]] = []
    for i in range(n):
        roll = rng.random()
        if originals and roll < 0.2:
            base, fr, place, when = rng.choice(originals)
            out.append(Call(source="fundsforngos", url=f"https://www2.fundsforngos.org/g-{i}/",
                            title=f"{base.funder}: {base.title}", funder="fundsforNGOs",
                            language="en", deadline_texts=[when.strftime("%Y-%m-%d")],
                            extra={"links_to": [base.url]}))  # fmt: skip
            continue
        if originals and roll < 0.3:
            base, fr, place, when = rng.choice(originals)
            out.append(Call(source=base.source, url=base.url + "-fr", language="fr",
                            title=f"Appel à projets : {fr} ({place}) {when.year}",
                            funder=base.funder,
                            deadline_texts=[when.strftime("%d/%m/%Y")]))  # fmt: skip
            continue
        if out and roll < 0.4:
            again = copy.deepcopy(rng.choice(out))
            out.append(Call(source=again.source, url=again.url, title=again.title,
                            funder=again.funder, language=again.language,
                            deadline_texts=again.deadline_texts, extra=again.extra))  # fmt: skip
            continue
        en, fr = rng.choice(TOPICS)
        place = rng.choice(PLACES)
        when = datetime(2027, 1, 1, 17, tzinfo=UTC) + timedelta(days=rng.randrange(60))
        source = rng.choice(["afd", "interreg_caraibes", "eu_ft"])
        call = Call(source=source, url=f"https://{source}.example.org/calls/{i}",
                    title=f"Call for projects: {en} in {place} {when.year}", language="en",
                    funder=rng.choice(["AFD", "European Commission", "UNDP"]),
                    deadline_texts=[when.strftime("%d %B %Y")],
                    budget_text=f"up to EUR {rng.randrange(50, 900)},000")  # fmt: skip
        originals.append((call, fr, place, when))
        out.append(call)
    return out


def normalised(calls: list[Call]) -> list[Call]:
    return [normalise(copy.deepcopy(c), now=NOW) for c in calls]


def dump(session: Any) -> list[tuple[Any, ...]]:
    """The stored calls as a crawl leaves them, ids left out."""
    out = []
    for row in session.scalars(select(CallRow).order_by(CallRow.key)):
        pages = sorted((s.source, s.canonical_url, s.match, repr(sorted(s.data.items())))
                       for s in row.sightings)  # fmt: skip
        changes = sorted((c.field, repr(c.old_value), repr(c.new_value)) for c in row.changes)
        keys = sorted(session.scalars(select(DedupeKey.key).where(DedupeKey.call_id == row.id)))
        out.append((row.key, row.title, row.funder, row.deadline, row.score, row.band,
                    row.status, row.content_hash, repr(sorted(row.extra.items())),
                    tuple(pages), tuple(changes), tuple(keys)))  # fmt: skip
    return out


def outcomes(written: list[Any]) -> list[str]:
    return [w.stored.outcome if w.stored is not None else f"error {w.error}" for w in written]


@pytest.mark.parametrize("size", [9, 1000])  # small batches; one batch held to the end
def test_batches_store_the_same_calls_as_one_upsert_per_item(size: int) -> None:
    calls = items(160)
    db.init()
    with db.session_scope() as s:
        one_by_one = [store.store_one(s, c, now=NOW).outcome for c in normalised(calls)]
        reference = dump(s)
        s.execute(delete(CallRow))  # sightings, changes and keys go with them (cascade)
    session = db.session_factory()()
    batch = BatchStore(session, size=size)
    written = []
    for c in normalised(calls):
        written += batch.add(c, now=NOW)
    written += batch.flush()
    assert [w.call.url for w in written] != []  # every item came back with its outcome
    assert sorted(outcomes(written)) == sorted(one_by_one)
    assert dump(session) == reference
    counts = {o: one_by_one.count(o) for o in set(one_by_one)}
    assert counts["new"] < len(calls) and counts.get("sighting", 0) + counts.get("updated", 0)
    session.close()


def test_a_pending_call_is_not_written_but_dedupe_sees_it() -> None:
    db.init()
    session = db.session_factory()()
    batch = BatchStore(session, size=100)
    funder_page, copy_of_it = normalised([
        Call(source="afd", url="https://afd.example.org/calls/coreom", language="fr",
             title="CORÉOM 2027 : coopération régionale des outre-mer", funder="AFD",
             deadline_texts=["31 mars 2027"]),
        Call(source="fundsforngos", url="https://www2.fundsforngos.org/coreom-2027/",
             title="AFD: CORÉOM 2027 : coopération régionale des outre-mer", language="fr",
             funder="fundsforNGOs", deadline_texts=["2027-03-31"],
             extra={"links_to": ["https://afd.example.org/calls/coreom"]}),
    ])  # fmt: skip
    assert batch.add(funder_page, now=NOW) == []
    with db.session_scope() as other:  # nothing written yet
        assert other.scalar(select(func.count(CallRow.id))) == 0
    written = batch.add(copy_of_it, now=NOW)
    # the pending call was written first, then the copy merged into it
    assert outcomes(written)[0] == "new" and written[0].call is funder_page
    assert written[1].call is copy_of_it and written[1].stored.outcome in ("sighting", "updated")
    with db.session_scope() as other:
        assert other.scalar(select(func.count(CallRow.id))) == 1
        assert other.scalar(select(func.count(Sighting.id))) == 2
    session.close()


def test_a_batch_that_loses_a_race_is_stored_call_by_call() -> None:
    db.init()
    session = db.session_factory()()
    batch = BatchStore(session, size=100)
    page = Call(source="afd", url="https://afd.example.org/calls/race", funder="AFD",
                title="Small grants for sargassum monitoring in Dominica 2027", language="en",
                deadline_texts=["31 March 2027"])  # fmt: skip
    other_page = Call(source="afd", url="https://afd.example.org/calls/other", funder="AFD",
                      title="Youth employment in the Pacific 2027", language="en",
                      deadline_texts=["30 April 2027"])  # fmt: skip
    mine, theirs, second = normalised([page, page, other_page])
    assert batch.add(mine, now=NOW) == [] and batch.add(second, now=NOW) == []
    with db.session_scope() as other:  # another writer stores the same page meanwhile
        store.store_one(other, theirs, now=NOW)
    written = batch.flush()
    assert outcomes(written) == ["unchanged", "new"]
    with db.session_scope() as s:
        assert s.scalar(select(func.count(CallRow.id))) == 2
        assert s.scalar(select(func.count(Sighting.id))) == 2
        assert s.scalar(select(func.count(CallChange.id))) == 0
    session.close()


def test_a_batch_is_due_after_its_size_or_its_seconds() -> None:
    db.init()
    clock = [0.0]
    session = db.session_factory()()
    batch = BatchStore(session, size=3, seconds=1.0, clock=lambda: clock[0])
    calls = normalised(items(40, seed=3))
    originals = [c for c in calls if c.source != "fundsforngos" and not c.url.endswith("-fr")]
    firsts = list({c.url: c for c in originals}.values())
    assert batch.add(firsts[0], now=NOW) == [] and not batch.due()
    clock[0] = 1.5
    assert batch.due()
    assert outcomes(batch.flush()) == ["new"]
    assert batch.add(firsts[1], now=NOW) == [] and batch.add(firsts[2], now=NOW) == []
    assert outcomes(batch.add(firsts[3], now=NOW)) == ["new", "new", "new"]  # the third is due
    session.close()
