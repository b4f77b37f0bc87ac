"""FeedSpider / WordPressSpider, and a new feed source made of a config entry and nothing else."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from config.loader import Source
from crawlers.feed import FeedSpider, WordPressSpider
from crawlers.spiders import generic_spider
from fundradar.crawling import crawl
from fundradar.exceptions import FundradarError
from fundradar.fixture_server import FixtureServer
from pipeline import db
from pipeline.models import CallRow

from .conftest import REPO
from .spider_harness import offline_crawl

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <title>Caribbean Resilience Fund — calls</title>
  <id>urn:uuid:crf-calls</id><updated>2026-11-20T10:00:00Z</updated>
  <entry>
    <title>Call for proposals: coastal resilience in the Eastern Caribbean</title>
    <link href="https://crf.example.org/calls/coastal-resilience-2027"/>
    <id>urn:uuid:crf-1</id><updated>2026-11-20T10:00:00Z</updated>
    <content type="html">&lt;p&gt;Open to OECS member states.&lt;/p&gt;
      &lt;p&gt;Deadline: 31 March 2027&lt;/p&gt;&lt;p&gt;Budget: USD 250,000&lt;/p&gt;</content>
  </entry>
  <entry>
    <title>Annual report 2025 published</title>
    <link href="https://crf.example.org/news/annual-report-2025"/>
    <id>urn:uuid:crf-2</id><updated>2026-11-10T10:00:00Z</updated>
    <content type="html">&lt;p&gt;Read our annual report.&lt;/p&gt;</content>
  </entry>
</feed>
"""
ENTRY = """
  - id: caribbean_resilience_fund
    kind: feed
    funder: Caribbean Resilience Fund
    start_urls: [https://crf.example.org/calls/feed.atom]
    timezone: America/Barbados
    options:
      keywords: [call for proposals]
"""


@pytest.fixture
def feed_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary config with one more feed source, and its fixture folder."""
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    with (config / "sources.yaml").open("a", encoding="utf-8") as fh:
        fh.write(ENTRY)
    monkeypatch.setenv("FUNDRADAR_CONFIG", str(config))
    folder = tmp_path / "fixtures" / "caribbean_resilience_fund"
    folder.mkdir(parents=True)
    (folder / "feed.atom").write_text(ATOM, encoding="utf-8")
    (folder / "index.json").write_text(json.dumps({"source": "caribbean_resilience_fund",
        "origin": "reconstructed", "responses": [{
            "url": "https://crf.example.org/calls/feed.atom", "file": "feed.atom",
            "content_type": "application/atom+xml"}]}))  # fmt: skip
    return folder


def test_config_only_feed_source_is_crawled_end_to_end(feed_source: Path) -> None:
    with FixtureServer([feed_source]) as server:
        (summary,) = crawl(["caribbean_resilience_fund"], fixture_server=server.url)
    assert summary.status == "ok", summary.message
    assert summary.calls == 1  # the annual report is not a call (keywords)
    with db.session_scope() as s:
        (row,) = s.scalars(select(CallRow).where(CallRow.source == "caribbean_resilience_fund"))
        assert row.title == "Call for proposals: coastal resilience in the Eastern Caribbean"
        assert row.url == "https://crf.example.org/calls/coastal-resilience-2027"
        assert row.deadline is not None and row.deadline.date().isoformat() == "2027-04-01"
        assert (row.budget_max, row.currency) == (250_000, "USD")
        assert row.funder == "Caribbean Resilience Fund"


def test_config_only_source_is_listed_by_scrapy(feed_source: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "scrapy", "list"], cwd=REPO, env=os.environ.copy(),
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "caribbean_resilience_fund" in proc.stdout.split()


def _source(**kw) -> Source:  # type: ignore[no-untyped-def]
    base = {
        "id": "x_feed",
        "kind": "feed",
        "funder": "X",
        "start_urls": ["https://x.example.org/feed"],
    }
    return Source(**{**base, **kw})


def test_generic_spider_classes_by_kind() -> None:
    assert issubclass(generic_spider(_source()), FeedSpider)
    cls = generic_spider(_source(id="x_wp", kind="wordpress"))
    assert issubclass(cls, WordPressSpider) and cls.name == "x_wp"
    assert cls.__module__ == "crawlers.spiders" and "config-only" in cls.__doc__
    with pytest.raises(FundradarError, match="needs a spider module"):
        generic_spider(_source(id="x_api", kind="api"))


def test_atom_entries_and_keyword_filter(feed_source: Path) -> None:
    from config.loader import load_sources
    from crawlers import spiders

    cls = generic_spider(load_sources().get("caribbean_resilience_fund"))  # the config entry
    assert cls.__module__ == spiders.__name__
    result = offline_crawl(cls, folder=feed_source, known={})
    (call,) = result.items
    assert call.language == "en"  # the feed's xml:lang
    assert call.deadline_texts == ["31 March 2027"]
    assert call.budget_text == "USD 250,000"
    assert call.published_text == "2026-11-20T10:00:00+00:00"
    assert call.extra["timezone"] == "America/Barbados"
    assert result.spider.crawler.stats.get_value("fundradar/listing_entries_filtered") == 1


def test_detail_always_reads_each_entry_page(tmp_path: Path) -> None:
    cls = generic_spider(_source(id="caribbean_resilience_fund", options={"detail": "always"}))
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "feed.atom").write_text(ATOM, encoding="utf-8")
    (folder / "page.html").write_text("<main><h1>Coastal resilience</h1><dl><dt>Status</dt>"
                                      "<dd>Open</dd></dl></main>")  # fmt: skip
    (folder / "index.json").write_text(
        json.dumps(
            {
                "responses": [
                    {
                        "url": "https://x.example.org/feed",
                        "file": "feed.atom",
                        "content_type": "application/atom+xml",
                    },
                    {
                        "url": "https://crf.example.org/calls/coastal-resilience-2027",
                        "file": "page.html",
                    },
                ]
            }
        )
    )
    result = offline_crawl(cls, folder=folder, known={})
    assert "https://crf.example.org/calls/coastal-resilience-2027" in result.requested
    assert len(result.items) == 2
    call = result.by_url()["https://crf.example.org/calls/coastal-resilience-2027"]
    assert call.status_text == "Open"  # from the page
    assert call.deadline_texts == ["31 March 2027"]  # from the feed entry


def test_broken_feed_is_counted_not_fatal(tmp_path: Path) -> None:
    cls = generic_spider(_source())
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "feed.xml").write_text("<html><body>Maintenance</body></html>")
    (folder / "index.json").write_text(json.dumps({"responses": [
        {"url": "https://x.example.org/feed", "file": "feed.xml"}]}))  # fmt: skip
    result = offline_crawl(cls, folder=folder, known={})
    assert result.items == []
    assert result.spider.crawler.stats.get_value("fundradar/empty_listing_pages") == 1
