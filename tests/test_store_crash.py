"""A crawl killed with SIGKILL loses at most the batch it had not written, and the next crawl
completes the set (issue 16 item 5).

A real crawl process (`python -m fundradar.crawlers.runner fundsforngos`) reads a feed of 1,500
generated posts (reconstructed — not a capture: the shape of the bundled fundsforNGOs feed, one
distinct made-up call per post) from the fixture server. It is killed once at least two batches
are in the database. What it wrote must be whole (every call with its sighting and its blocking
keys: a batch is one transaction), and a second crawl must store exactly the calls missing,
each once, keeping the first crawl's rows as they were.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from fundradar.fixture_server import FixtureServer
from fundradar.pipeline import db
from fundradar.pipeline.models import CallRow, CrawlRun, DedupeKey, Sighting

POSTS = 1500
FEED_URL = "https://www2.fundsforngos.org/feed/"
REPO = Path(__file__).resolve().parent.parent


def _word(rng: random.Random) -> str:
    return "".join(rng.choice("bcdfgklmnprstvz") + rng.choice("aeiou") for _ in range(4))


def write_feed(home: Path, n: int) -> list[str]:
    """A capture of the fundsforNGOs feed with `n` distinct posts in the test's home (served
    instead of the bundled one); returns the posts' URLs."""
    rng = random.Random(16)
    folder = home / "samples" / "fundsforngos"
    folder.mkdir(parents=True)
    items, urls = [], []
    for i in range(n):
        words = [_word(rng) for _ in range(3)]
        url = f"https://www2.fundsforngos.org/latest-funds-for-ngos/post-{i}-{words[0]}/"
        urls.append(url)
        day = 1 + i % 28
        items.append(f"""<item>
<title>Call for Proposals: {" ".join(w.capitalize() for w in words)} Community Grants</title>
<link>{url}</link>
<pubDate>Thu, 26 Nov 2026 07:30:00 +0000</pubDate>
<guid isPermaLink="false">https://www2.fundsforngos.org/?p={50000 + i}</guid>
<description><![CDATA[<p>Grants for community organisations ({words[1]}).</p>]]></description>
<content:encoded><![CDATA[<p>Small grants for {words[2]} projects.</p>
<p><strong>Deadline: {day:02d}-Mar-2027</strong></p>]]></content:encoded>
</item>""")
    feed = f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
 xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>fundsforNGOs</title><link>https://www2.fundsforngos.org</link>
<description>reconstructed — not a capture</description>
{"".join(items)}
</channel></rss>"""
    (folder / "feed.xml").write_text(feed, encoding="utf-8")
    index = {"source": "fundsforngos", "origin": "reconstructed",
             "note": "Reconstructed — not a capture: generated posts for the crash test.",
             "responses": [{"url": FEED_URL, "file": "feed.xml",
                            "content_type": "application/rss+xml; charset=UTF-8"}]}  # fmt: skip
    (folder / "index.json").write_text(json.dumps(index), encoding="utf-8")
    return urls


def crawl_command(server: str) -> list[str]:
    return [sys.executable, "-m", "fundradar.crawlers.runner", "fundsforngos",
            "--fixture-server", server]  # fmt: skip


def counts() -> tuple[int, int, int, int]:
    """(calls, sightings, distinct sighting pages, calls without a key)."""
    with db.session_scope() as s:
        calls = int(s.scalar(select(func.count(CallRow.id))) or 0)
        sightings = int(s.scalar(select(func.count(Sighting.id))) or 0)
        pages = int(s.scalar(select(func.count(func.distinct(Sighting.canonical_url)))) or 0)
        keyless = int(s.scalar(select(func.count(CallRow.id)).where(
            ~CallRow.id.in_(select(DedupeKey.call_id)))) or 0)  # fmt: skip
    return calls, sightings, pages, keyless


def test_a_crawl_killed_mid_run_loses_at_most_its_batch_and_the_next_completes_it(
    fundradar_home: Path,
) -> None:
    write_feed(fundradar_home, POSTS)
    db.init()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with FixtureServer() as server:
        child = subprocess.Popen(crawl_command(server.url), env=env, cwd=REPO,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 240
        killed_at = 0
        while time.monotonic() < deadline and child.poll() is None:
            killed_at = counts()[0]
            if killed_at >= 200:  # two batches written at least
                child.send_signal(signal.SIGKILL)
                break
            time.sleep(0.05)
        child.wait(timeout=30)
        assert child.returncode == -signal.SIGKILL, "the crawl ended before it could be killed"

        calls, sightings, pages, keyless = counts()
        assert killed_at <= calls < POSTS  # what was written stays; the rest is missing
        assert sightings == pages == calls  # each stored call whole: its page, once
        assert keyless == 0  # and its blocking keys (one transaction per batch)
        with db.session_scope() as s:
            first_rows = {i: k for i, k in s.execute(select(CallRow.id, CallRow.key))}

        done = subprocess.run(crawl_command(server.url), env=env, cwd=REPO, timeout=600,
                              capture_output=True, text=True)  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]

    calls_after, sightings_after, pages_after, keyless_after = counts()
    assert calls_after == sightings_after == pages_after == POSTS  # the set, each call once
    assert keyless_after == 0
    with db.session_scope() as s:
        kept = {i: k for i, k in s.execute(select(CallRow.id, CallRow.key))}
        run = s.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
        assert run is not None and run.status == "ok"
        # the second crawl stored what the first lost, and counted it as new
        assert (run.items_new, run.items_unchanged) == (POSTS - calls, calls)
    assert {i: kept[i] for i in first_rows} == first_rows  # the first crawl's rows as they were
