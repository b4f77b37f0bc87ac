"""Storing calls: idempotence, change tracking across crawls, sightings, who owns a call.

The change-tracking test runs the real EU spider on the real recorded response, then on an
edited copy of it (deadline moved, status closed, budget changed, title edited, one topic gone),
both times through the real item pipeline classes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from freezegun import freeze_time
from sqlalchemy import func, select

from fundradar.crawlers.spiders.eu_ft import EuFtSpider
from fundradar.pipeline import db, store
from fundradar.pipeline.models import CallChange, CallRow, Quarantine, Sighting
from fundradar.pipeline.normalise import normalise
from fundradar.pipeline.record import Call
from tests.conftest import SAMPLES, file_response
from tests.pipeline_harness import crawler_and_spider, run_pipelines

EU_FIXTURE = SAMPLES / "eu_ft" / "eu_sedia_search_response.json"
SOIL = "HORIZON-MISS-2027-05-SOIL-01-two-stage"
HDV = "HORIZON-CL5-2027-03-D5-05"
AGRI = "HORIZON-CL6-2026-04-GOVERNANCE-01"
FORESIGHT = "HORIZON-CL4-2027-04-DIGITAL-EMERGING-10"
CBE = "HORIZON-JU-CBE-2026-IAFlag-02"


def eu_crawl(path: Path, at: str):  # type: ignore[no-untyped-def]
    """One crawl of the EU source on a saved response, through the real pipelines."""
    with freeze_time(at):
        crawler, spider = crawler_and_spider(EuFtSpider)
        response = file_response(path, url=spider.start_urls[0])
        items = [i for i in spider.parse(response) if isinstance(i, Call)]
        return run_pipelines(EuFtSpider, items, crawler=crawler, spider=spider)


def edited_fixture(tmp_path: Path) -> Path:
    """The recorded response with the edits a funder makes between two crawls."""
    data = json.loads(EU_FIXTURE.read_text(encoding="utf-8"))
    kept = []
    for row in data["results"]:
        meta = row["metadata"]
        ident = meta["identifier"][0]
        if ident == SOIL:  # second-stage deadline moved by three weeks
            meta["deadlineDate"] = ["2027-04-08T00:00:00.000+0000", "2027-10-05T00:00:00.000+0000"]
        elif ident == HDV:  # closed early
            meta["status"] = ["31094503"]
        elif ident == AGRI:  # budget cut
            meta["budgetOverview"] = [meta["budgetOverview"][0].replace("60000000", "45000000")]
        elif ident == FORESIGHT:  # title reworded
            meta["title"] = [
                "Horizon scanning and foresight in future enabling digital technologies "
                "(Coordination and Support Action)"
            ]
        elif ident == CBE:  # gone from the listing
            continue
        kept.append(row)
    data["results"] = kept
    data["totalResults"] = len(kept)
    path = tmp_path / "eu_edited.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def changes_by_ref(session) -> dict[tuple[str, str], CallChange]:  # type: ignore[no-untyped-def]
    rows = session.execute(select(CallChange, CallRow.source_ref).join(CallRow)).all()
    return {(ref, ch.field): ch for ch, ref in rows}


def test_two_crawls_of_edited_fixtures_record_each_change(tmp_path: Path) -> None:
    first = eu_crawl(EU_FIXTURE, "2026-11-03 12:00:00")
    assert first.stats["fundradar/stored/new"] == 8
    with db.session_scope() as s:
        before = {r.source_ref: r for r in s.scalars(select(CallRow))}
        hdv_status_before = before[HDV].status
        assert s.scalar(select(func.count(CallChange.id))) == 0

    second = eu_crawl(edited_fixture(tmp_path), "2026-11-10 12:00:00")
    assert second.stats["fundradar/stored/updated"] == 4
    assert second.stats["fundradar/stored/unchanged"] == 3
    seen = datetime(2026, 11, 10, 12, tzinfo=UTC)
    with db.session_scope() as s:
        changes = changes_by_ref(s)
        assert set(changes) == {
            (SOIL, "deadlines"), (HDV, "status"), (AGRI, "budget_min"), (AGRI, "budget_max"),
            (FORESIGHT, "title"), (CBE, "listed"),
        }  # fmt: skip
        moved = changes[(SOIL, "deadlines")]
        assert moved.old_value == ["2027-04-08T00:00:00+00:00", "2027-09-14T00:00:00+00:00"]
        assert moved.new_value == ["2027-04-08T00:00:00+00:00", "2027-10-05T00:00:00+00:00"]
        assert moved.seen_at == seen and moved.run_id == second.run_id
        assert hdv_status_before in ("open", "forthcoming")
        assert (changes[(HDV, "status")].old_value, changes[(HDV, "status")].new_value) == (
            hdv_status_before, "closed",
        )  # fmt: skip
        assert changes[(AGRI, "budget_max")].old_value == 60000000
        assert changes[(AGRI, "budget_max")].new_value == 45000000
        assert isinstance(changes[(AGRI, "budget_max")].new_value, int | float)
        assert changes[(FORESIGHT, "title")].new_value.endswith("(Coordination and Support Action)")
        assert changes[(FORESIGHT, "title")].old_value.endswith("technologies (CSA)")

        gone = s.scalars(select(CallRow).where(CallRow.source_ref == CBE)).one()
        assert gone.listed is False and gone.unlisted_at == seen  # marked, never deleted
        assert gone.sightings[0].listed is False
        assert (changes[(CBE, "listed")].old_value, changes[(CBE, "listed")].new_value) == (
            True, False,
        )  # fmt: skip
        still = s.scalars(select(CallRow).where(CallRow.source_ref == AGRI)).one()
        assert still.listed is True and still.last_seen == seen
        assert still.budget_max == 45000000 and still.updated_at == seen
        # versions: one per crawl that changed something
        soil = s.scalars(select(CallRow).where(CallRow.source_ref == SOIL)).one()
        assert [v["seen_at"] for v in store.versions(soil)] == [seen]

    # a third crawl of the original response: each edit undone is a change again, and the gone
    # topic coming back is recorded as listed again
    third = eu_crawl(EU_FIXTURE, "2026-11-12 12:00:00")
    with db.session_scope() as s:
        back = s.scalars(select(CallRow).where(CallRow.source_ref == CBE)).one()
        assert back.listed is True and back.unlisted_at is None
        listed = [c for c in back.changes if c.field == "listed"]
        assert [(c.old_value, c.new_value) for c in listed] == [(True, False), (False, True)]
    assert third.stats["fundradar/stored/updated"] == 4  # the edits undone, each recorded


def _call(**kw) -> Call:  # type: ignore[no-untyped-def]
    base = {"source": "afd", "url": "https://www.afd.fr/fr/appels-a-projets/fisong-2026",
            "title": "FISONG 2026 – Économie bleue inclusive", "funder": "AFD",
            "deadline_texts": ["26 février 2027 à 12h00"], "language": "fr"}  # fmt: skip
    base.update(kw)
    return normalise(Call(**base), now=datetime(2026, 11, 27, tzinfo=UTC))


def test_same_item_twice_is_one_row_with_a_newer_last_seen(session) -> None:  # type: ignore[no-untyped-def]
    t1 = datetime(2026, 11, 20, tzinfo=UTC)
    t2 = t1 + timedelta(days=7)
    a = store.upsert(session, _call(), now=t1)
    b = store.upsert(session, _call(), now=t2)
    session.commit()
    assert (a.outcome, b.outcome) == ("new", "unchanged")
    assert session.scalar(select(func.count(CallRow.id))) == 1
    row = session.scalars(select(CallRow)).one()
    assert row.first_seen == t1 and row.last_seen == t2
    assert len(row.sightings) == 1 and row.sightings[0].last_seen == t2
    assert session.scalar(select(func.count(CallChange.id))) == 0


def test_the_other_language_page_joins_the_call_and_never_flip_flops(session) -> None:  # type: ignore[no-untyped-def]
    """Two pages of one rank seen at the same time: the tie goes by source then URL (/en/ before
    /fr/), whatever the order; after that, seeing both again every week changes nothing."""
    fr: dict[str, str] = {}
    en = {"url": "https://www.afd.fr/en/calls-for-projects/fisong-2026",
          "title": "FISONG 2026 – Inclusive blue economy", "language": "en",
          "deadline_texts": ["26 February 2027, 12:00"]}  # fmt: skip
    t = datetime(2026, 11, 20, tzinfo=UTC)
    outcomes = []
    for week in range(3):
        now = t + timedelta(days=7 * week)
        first = store.upsert(session, _call(**fr), now=now)
        second = store.upsert(session, _call(**en), now=now)
        assert second.match in ("title", "page")
        outcomes.append((first.outcome, second.outcome, second.changes))
    session.commit()
    assert outcomes == [
        ("new", "updated", ("title",)),  # same deadline in both languages: only the title
        ("sighting", "unchanged", ()), ("sighting", "unchanged", ()),
    ]  # fmt: skip
    row = session.scalars(select(CallRow)).one()
    assert row.title == "FISONG 2026 – Inclusive blue economy" and row.language == "en"
    assert sorted(s.language for s in row.sightings) == ["en", "fr"]
    assert [(c.field, c.source) for c in row.changes] == [("title", "afd")]


def test_funder_site_takes_over_from_an_aggregator_and_keeps_it(session) -> None:  # type: ignore[no-untyped-def]
    """fundsforngos is an aggregator (its config funder says so): its copy only fills gaps."""
    t = datetime(2026, 11, 20, tzinfo=UTC)
    agg = {"source": "fundsforngos", "url": "https://www2.fundsforngos.org/afd-fisong-2026/",
           "title": "FISONG 2026 – Économie bleue inclusive (AFD)",
           "funder": "fundsforNGOs (aggregator)", "summary": "Copied text.",
           "deadline_texts": ["26 février 2027"]}  # fmt: skip
    first = store.upsert(session, _call(**agg), now=t)
    assert first.outcome == "new"
    taken = store.upsert(session, _call(), now=t + timedelta(hours=1))
    assert taken.outcome == "updated" and taken.match == "title"
    row = taken.row
    assert row.extra["data_source"] == "afd" and row.key == "url:" + row.canonical_url
    assert row.url.startswith("https://www.afd.fr/")
    assert row.summary is None or row.summary == "Copied text."
    # the aggregator seen again later: a sighting, the funder's data stay
    again = store.upsert(session, _call(**{**agg, "title": "FISONG 2026 (AFD) – reworded"}),
                         now=t + timedelta(days=7))  # fmt: skip
    assert again.outcome == "sighting"
    assert row.title == "FISONG 2026 – Économie bleue inclusive"
    changed = {c.field for c in row.changes}
    assert "title" in changed and "deadlines" in changed  # recorded at the takeover only
    assert len([c for c in row.changes if c.field == "title"]) == 1
    assert {s.source for s in row.sightings} == {"afd", "fundsforngos"}


def test_aggregator_copy_naming_the_eu_identifier_links_to_the_topic(session) -> None:  # type: ignore[no-untyped-def]
    t = datetime(2026, 11, 20, tzinfo=UTC)
    eu = Call(source="eu_ft", source_ref=CBE, title="SSbD bio-based alternatives for fertilising",
              url=f"https://ec.europa.eu/x/topic-details/{CBE}", funder="European Commission",
              deadline_texts=["2026-09-22T00:00:00.000+0000"], language="en")  # fmt: skip
    store.upsert(session, normalise(eu, now=t), now=t)
    copy = Call(source="fundsforngos", url="https://www2.fundsforngos.org/cbe-2026/",
                title=f"Bio-based alternatives for crop protection ({CBE})",
                funder="fundsforNGOs (aggregator)",
                deadline_texts=["22 September 2026"])  # fmt: skip
    stored = store.upsert(session, normalise(copy, now=t), now=t)
    assert (stored.outcome, stored.match) == ("sighting", "identifier")
    assert session.scalar(select(func.count(CallRow.id))) == 1
    assert session.scalar(select(func.count(Sighting.id))) == 2


def test_quarantine_counts_per_source(session) -> None:  # type: ignore[no-untyped-def]
    for source, n in (("afd", 2), ("anr", 1)):
        for i in range(n):
            store.quarantine(session, source=source, url=f"https://x.org/{i}", reason="no title",
                             payload={"title": None, "summary": "x" * 5000})  # fmt: skip
    session.commit()
    assert store.quarantine_counts(session) == {"afd": 2, "anr": 1}
    kept = session.scalars(select(Quarantine)).first()
    assert kept is not None and len(kept.payload["summary"]) == 2001  # cut: evidence, not a copy


def test_a_moved_page_hands_the_call_to_the_page_still_listing_it(session) -> None:  # type: ignore[no-untyped-def]
    """The funder moves its page (no identifier): the new address is linked by title and, being
    newer, gives the call its address; once the old one is gone from the listing the call stays
    listed, and the new page's edits are tracked."""
    t = datetime(2026, 11, 20, tzinfo=UTC)
    old = store.upsert(session, _call(), now=t).row
    moved = {"url": "https://www.afd.fr/fr/appels-a-projets/fisong-2026-economie-bleue"}
    assert store.upsert(session, _call(**moved), now=t + timedelta(days=7)).outcome == "unchanged"
    assert old.extra["data_page"] == moved["url"] and old.url == moved["url"]
    store.mark_unlisted(session, "afd", t + timedelta(days=7), t + timedelta(days=7))
    assert old.listed is True
    later = store.upsert(session, _call(**moved, deadline_texts=["13 mars 2027 à 12h00"]),
                         now=t + timedelta(days=14))  # fmt: skip
    assert later.outcome == "updated" and later.changes == ("deadlines",)
