"""FeedSpider / WordPressSpider, and a new feed source made of a config entry and nothing else."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import feedparser
import pytest
from sqlalchemy import select

from fundradar.config.loader import Source
from fundradar.crawlers.feed import FeedSpider, WordPressSpider
from fundradar.crawlers.spiders import generic_spider
from fundradar.crawling import crawl
from fundradar.exceptions import FundradarError
from fundradar.fixture_server import FixtureServer
from fundradar.pipeline import db
from fundradar.pipeline.models import CallRow, Quarantine

from .conftest import FIXTURES, REPO, make_spider
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
    assert cls.__module__ == "fundradar.crawlers.spiders" and "config-only" in cls.__doc__
    with pytest.raises(FundradarError, match="needs a spider module"):
        generic_spider(_source(id="x_api", kind="api"))


def test_atom_entries_and_keyword_filter(feed_source: Path) -> None:
    from fundradar.config.loader import load_sources
    from fundradar.crawlers import spiders

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


# ------------------------------------------------------------- hostile feeds (issue 17)

BAD_FEED = FIXTURES / "bad_feed"


def _quarantined() -> list[Quarantine]:
    with db.session_scope() as s:
        return list(s.scalars(select(Quarantine).order_by(Quarantine.id)))


def test_feed_with_one_invalid_utf8_byte_keeps_its_accents_and_says_so() -> None:
    """feedparser alone re-reads such a feed as Windows-1252: "sociÃ©tÃ©", with no warning."""
    raw = (BAD_FEED / "encoding.xml").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the fixture really is broken
    assert "dÃ©cembre" in feedparser.parse(raw).entries[0].summary  # what happened before
    cls = generic_spider(_source(start_urls=["https://bad-feed.example.org/encoding.xml"]))
    result = offline_crawl(cls, folder=BAD_FEED, known={})
    (call,) = result.items
    assert call.title == "Appel à projets : société civile et égalité femmes-hommes"
    assert "États membres de l’OECS" in (call.summary or "")
    assert "l’appel est ouvert" in (call.summary or "")  # the bad byte, read as Windows-1252
    assert call.deadline_texts == ["15 décembre 2026"]
    stats = result.spider.crawler.stats
    assert stats.get_value("fundradar/bad_input/encoding") == 1
    (row,) = _quarantined()
    assert row.url == "https://bad-feed.example.org/encoding.xml"
    assert row.reason.startswith("encoding: feed declared UTF-8 but held 1 invalid byte(s)")
    assert not stats.get_value("fundradar/dropped")  # repaired and kept, not refused


def test_feed_entries_with_unsafe_or_missing_links_are_quarantined_not_dropped_silently() -> None:
    cls = generic_spider(_source(start_urls=["https://bad-feed.example.org/links.xml"]))
    result = offline_crawl(cls, folder=BAD_FEED, known={})
    assert [c.url for c in result.items] == ["https://bad-feed.example.org/appel-cooperation-2027"]
    rows = _quarantined()
    reasons = [r.reason for r in rows]
    assert reasons == [
        "link is not http(s): 'javascript:alert(document.cookie)'",
        "link is not http(s): 'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=='",
        "feed entry has no link",
    ]
    assert [r.payload["title"] for r in rows] == [
        "Appel à projets : cliquez ici", "Appel à projets : pièce jointe",
        "Appel à projets : sans lien",
    ]  # fmt: skip
    assert all(r.url == "https://bad-feed.example.org/links.xml" for r in rows)
    stats = result.spider.crawler.stats
    assert stats.get_value("fundradar/dropped_reason/link is not http(s)") == 2
    assert stats.get_value("fundradar/dropped") == 3


def test_wordpress_post_with_a_javascript_link_is_quarantined() -> None:
    cls = generic_spider(_source(id="x_wp", kind="wordpress"))
    spider = make_spider(cls)
    from scrapy.http import TextResponse

    body = json.dumps([{"link": "javascript:alert(1)", "title": {"rendered": "Appel à projets"},
                        "content": {"rendered": "<p>Date limite : 1 mars 2027</p>"}}])  # fmt: skip
    response = TextResponse("https://x.example.org/wp-json/wp/v2/posts", body=body.encode(),
                            encoding="utf-8")  # fmt: skip
    assert list(spider.parse_api(response, page=1, first=response.url)) == []
    (row,) = _quarantined()
    assert row.reason == "link is not http(s): 'javascript:alert(1)'"
    assert row.source == "x_wp" and row.payload["title"] == "Appel à projets"


def test_run_health_counts_the_refused_feed_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: the crawl's run says what was quarantined (it is not a quiet, clean run)."""
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    with (config / "sources.yaml").open("a", encoding="utf-8") as fh:
        fh.write("\n  - id: bad_links_feed\n    kind: feed\n    funder: Fonds régional\n"
                 "    start_urls: [https://bad-feed.example.org/links.xml]\n")  # fmt: skip
    monkeypatch.setenv("FUNDRADAR_CONFIG", str(config))
    with FixtureServer([BAD_FEED]) as server:
        (summary,) = crawl(["bad_links_feed"], fixture_server=server.url)
    assert summary.calls == 1 and summary.dropped == 3
    assert "3 item(s) quarantined" in summary.message
