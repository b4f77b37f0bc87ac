"""Each crawl reports its own run (issue 11 item 5): two crawls of one source at the same time
used to print the newest run of the source, which could be the other crawl's.

The children are real (`python -m fundradar.crawlers.runner`) on the bundled sample pages.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import select

from fundradar.crawlers.runlog import TOKEN_STAT
from fundradar.crawling import crawl, run_of
from fundradar.fixture_server import FixtureServer
from fundradar.pipeline import db
from fundradar.pipeline.models import CrawlRun


def test_run_of_finds_the_run_by_its_token_not_the_newest() -> None:
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    with db.session_scope() as s:
        mine = CrawlRun(source="afd", started_at=now, status="ok", stats={TOKEN_STAT: "mine"})
        s.add(mine)
        s.flush()
        s.add(CrawlRun(source="afd", started_at=now, status="ok", stats={TOKEN_STAT: "other"}))
        s.flush()
        mine_id = mine.id
    run = run_of("afd", "mine")
    assert run is not None and run.id == mine_id  # not the newer run of the other crawl
    assert run_of("afd", "nobody") is None  # a child that never got a run: not someone else's


def test_two_crawls_of_one_source_at_once_one_crawls_the_other_says_who_does() -> None:
    """Since the crawl lease (issue 11 item 4) the second crawl does not run at all: it reports
    the source as being crawled by the first, and no run of the other is taken for its own."""
    results: dict[str, list] = {}
    db.init()  # two first runs migrating at once is another test's matter (the migration lock)
    with FixtureServer() as server:

        def one(name: str) -> None:
            results[name] = crawl(["fundsforngos"], fixture_server=server.url, sample=True)

        threads = [threading.Thread(target=one, args=(n,)) for n in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=240)
    (a,), (b,) = results["a"], results["b"]
    crawled, busy = (a, b) if a.run_id else (b, a)
    assert crawled.status == "ok" and crawled.run_id
    assert busy.status == "busy" and busy.run_id is None
    assert busy.message.startswith("not crawled here: being crawled by ")
    with db.session_scope() as s:
        runs = s.scalars(select(CrawlRun)).all()
    assert [r.id for r in runs] == [crawled.run_id] and TOKEN_STAT in runs[0].stats
