"""Politeness and thrift: robots.txt, throttling, User-Agent, conditional requests, and no
second download of a known call's detail page while its listing entry is unchanged.

The end-to-end tests crawl through the local fixture server in child processes (real Scrapy,
real HTTP on 127.0.0.1) and read what the server was asked.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from fundradar.config.loader import load_sources
from fundradar.crawlers.known import listing_hash
from fundradar.crawlers.spiders.afd import AfdSpider
from fundradar.crawling import crawl
from fundradar.fixture_server import FixtureServer
from fundradar.pipeline import db, store
from fundradar.pipeline.models import CallRow, CrawlRun

from .conftest import REPO, SAMPLES, make_spider
from .spider_harness import normalised, offline_crawl

AFD_DETAILS = (
    "/fr/appels-a-projets/fisong", "/fr/appels-a-projets/initiatives",
    "/fr/appels-a-projets/appel", "/fr/appels-a-projets/coreom", "/en/calls-for-projects/fis",
)  # fmt: skip


def test_settings_are_polite() -> None:
    from scrapy.utils.project import get_project_settings

    from fundradar.crawlers.runner import crawl_settings

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "fundradar.crawlers.settings")
    settings = get_project_settings()
    settings.setdict(crawl_settings(), priority="cmdline")
    AfdSpider.update_settings(settings)  # what Scrapy's Crawler does for every runner
    assert settings.getbool("ROBOTSTXT_OBEY")
    assert settings.getbool("AUTOTHROTTLE_ENABLED")
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") <= 2
    assert settings.getfloat("DOWNLOAD_DELAY") >= 1
    assert settings.getbool("HTTPCACHE_ENABLED")
    assert settings.get("HTTPCACHE_POLICY").endswith("RFC2616Policy")


def _config_with(folder: Path, **defaults: object) -> Path:
    """The packaged sources.yaml with some `defaults:` keys replaced, in `folder`."""
    import yaml

    data = yaml.safe_load((REPO / "config" / "sources.yaml").read_text(encoding="utf-8"))
    data["defaults"].update(defaults)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sources.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return folder


def test_config_defaults_are_applied_inside_scrapy_for_any_runner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fundradar_home: Path
) -> None:
    """No runner of ours in between (as under Scrapyd): Scrapy's own Crawler applies the
    config's delay, concurrency, cache, timeout and Retry-After cap through the spider, above
    the project's settings and below a run's explicit ones."""
    from scrapy.crawler import Crawler
    from scrapy.settings import Settings

    from fundradar.crawlers import settings as project_settings

    config = _config_with(
        tmp_path / "config", download_delay=7.5, concurrent_per_domain=1, http_cache=False,
        download_timeout=33, retry_after_max=9,
    )  # fmt: skip
    monkeypatch.setenv("FUNDRADAR_CONFIG", str(config))

    def project() -> Settings:
        settings = Settings()
        settings.setmodule(project_settings, priority="project")
        return settings

    got = Crawler(AfdSpider, project()).settings
    assert got.getfloat("DOWNLOAD_DELAY") == 7.5
    assert got.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 1
    assert got.getbool("HTTPCACHE_ENABLED") is False
    assert got.getfloat("DOWNLOAD_TIMEOUT") == 33
    assert got.getfloat("FUNDRADAR_RETRY_AFTER_MAX") == 9
    assert got.get("HTTPCACHE_DIR") == str(fundradar_home / "httpcache")

    # a run's own `-s` (the runner's, Scrapyd's) beats the config
    explicit = project()
    explicit.setdict({"DOWNLOAD_DELAY": 0.5, "DOWNLOAD_TIMEOUT": 5}, priority="cmdline")
    got = Crawler(AfdSpider, explicit).settings
    assert (got.getfloat("DOWNLOAD_DELAY"), got.getfloat("DOWNLOAD_TIMEOUT")) == (0.5, 5)

    # the fixture server, named by the run, turns waiting, caching and retrying off
    fixture = project()
    fixture.set("FUNDRADAR_FIXTURE_SERVER", "http://127.0.0.1:9", priority="cmdline")
    got = Crawler(AfdSpider, fixture).settings
    assert got.getfloat("DOWNLOAD_DELAY") == 0
    assert not got.getbool("AUTOTHROTTLE_ENABLED") and not got.getbool("RETRY_ENABLED")
    assert not got.getbool("HTTPCACHE_ENABLED")


def test_user_agent_names_fundradar_and_the_configured_contact() -> None:
    spider = make_spider(AfdSpider)
    contact = load_sources().defaults.contact
    assert "fundradar/" in spider.user_agent and contact in spider.user_agent


def test_each_source_has_its_time_zone_from_config() -> None:
    zones = {s.id: s.timezone for s in load_sources().sources}
    assert zones["fcr_martinique"] == "America/Martinique"
    assert zones["fcr_guadeloupe"] == "America/Guadeloupe"
    assert zones["ambafrance_lc"] == "America/St_Lucia"
    assert zones["afd"] == "Europe/Paris"
    for call in offline_crawl(AfdSpider, known={}).items:
        assert call.extra["timezone"] == "Europe/Paris"


def test_unchanged_listing_entry_means_no_detail_request(session, now) -> None:  # type: ignore[no-untyped-def]
    first = offline_crawl(AfdSpider, known={})
    for call in first.items:
        store.upsert(session, normalised(call, now), now=now)
    session.commit()
    second = offline_crawl(AfdSpider)  # known calls loaded from the database
    details = [
        u
        for u in second.requested
        if u.startswith(tuple("https://www.afd.fr" + p for p in AFD_DETAILS))
    ]
    assert details == []
    assert len(second.items) == 6
    for call in second.items:
        assert call.extra["unchanged_listing"] is True
        n = normalised(call, now)  # the stored typed fields carry the call through the pipeline
        assert n.deadline is not None and n.status in ("open", "forthcoming", "closed")
    stats = second.spider.crawler.stats
    assert stats.get_value("fundradar/detail_skipped_unchanged") == 6


def test_changed_listing_entry_is_fetched_again(session, now) -> None:  # type: ignore[no-untyped-def]
    first = offline_crawl(AfdSpider, known={})
    for call in first.items:
        store.upsert(session, normalised(call, now), now=now)
    session.commit()
    spider = make_spider(AfdSpider)
    url = first.items[0].url
    # the stored hash is of an older card text: the listing changed since
    spider.known[
        url if url in spider.known else next(iter(spider.known))
    ].listing_hash = listing_hash("old")
    second = offline_crawl(AfdSpider, spider=spider)
    assert url in second.requested


def test_hydrated_call_becomes_closed_without_a_download(now) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from fundradar.crawlers.known import KnownCall

    known = KnownCall(listing_hash="h", fields={"title": "Old call", "status": "open"},
                      deadlines=[(now - timedelta(days=1)).isoformat()],
                      extra={"timezone": "Europe/Paris"})  # fmt: skip
    call = known.to_call("afd", "https://www.afd.fr/fr/appels-a-projets/x", "h")
    assert normalised(call, now).status == "closed"


# --- end to end through the fixture server ----------------------------------------------------


def _paths(server: FixtureServer, host: str) -> list[str]:
    return [path for h, path, _ in server.requests if h == host]


def test_second_crawl_of_unchanged_fixtures_requests_no_detail_page() -> None:
    with FixtureServer([SAMPLES / "afd"]) as server:
        (first,) = crawl(["afd"], fixture_server=server.url)
        first_paths = _paths(server, "www.afd.fr")
        server.requests.clear()
        (second,) = crawl(["afd"], fixture_server=server.url)
        second_paths = _paths(server, "www.afd.fr")
    assert first.status == "ok" and first.calls == 6  # (the FR/EN FISONG may be one call)
    assert sum(p.startswith(AFD_DETAILS) for p in first_paths) == 6
    assert second.status == "ok" and second.calls == 6, second.message
    assert not any(p.startswith(AFD_DETAILS) for p in second_paths), second_paths
    assert sum("/liste" in p or "/list?" in p for p in second_paths) == 3  # listings are re-read
    with db.session_scope() as s:
        run = s.scalars(
            select(CrawlRun).where(CrawlRun.source == "afd").order_by(CrawlRun.id.desc())
        ).first()
        assert run.items_unchanged == 6 and run.coverage["deadline"] == 1.0


def test_robots_txt_is_obeyed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    with (config / "sources.yaml").open("a", encoding="utf-8") as fh:
        fh.write(
            "\n  - id: robots_test\n    kind: html\n    funder: Robots Test Funder\n"
            "    start_urls: [https://funder.example.org/calls/]\n"
            "    selectors: {item: li, title: h1}\n"
        )
    monkeypatch.setenv("FUNDRADAR_CONFIG", str(config))
    site = tmp_path / "fixtures" / "robots_test"
    site.mkdir(parents=True)
    (site / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")
    (site / "list.html").write_text(
        '<ul><li><a href="/calls/open-call">Open call</a></li>'
        '<li><a href="/private/secret-call">Secret call</a></li></ul>'
    )
    (site / "open.html").write_text("<h1>Open call</h1><p>Deadline: 15 January 2027</p>")
    (site / "secret.html").write_text("<h1>Secret call</h1><p>Deadline: 15 January 2027</p>")
    h = "https://funder.example.org"
    responses = [
        {"url": h + "/robots.txt", "file": "robots.txt", "content_type": "text/plain"},
        {"url": h + "/calls/", "file": "list.html"},
        {"url": h + "/calls/open-call", "file": "open.html"},
        {"url": h + "/private/secret-call", "file": "secret.html"},
    ]
    index = {"source": "robots_test", "origin": "reconstructed", "responses": responses}
    (site / "index.json").write_text(json.dumps(index))
    with FixtureServer([site]) as server:
        (summary,) = crawl(["robots_test"], fixture_server=server.url)
        paths = _paths(server, "funder.example.org")
    assert "/robots.txt" in paths
    assert "/calls/open-call" in paths
    assert "/private/secret-call" not in paths
    # the disallowed call is still known from its listing entry (title and link, deadline not
    # found): robots.txt stops the download, not the call
    assert summary.calls == 2
    with db.session_scope() as s:
        kinds = dict(s.execute(select(CallRow.title, CallRow.deadline_kind)).all())
    assert kinds["Secret call"] == "not_found" and kinds["Open call"] != "not_found"


def test_unchanged_pages_are_revalidated_not_downloaded(tmp_path: Path) -> None:
    """With the HTTP cache on (as in live crawls), a page whose ETag is unchanged costs a 304.

    `scrapy crawl` with the cache on and no item pipelines, so the thrift by listing hash stays
    out of the way and the detail pages are asked for again: only HTTP saves the download.
    """
    cache = tmp_path / "httpcache"
    with FixtureServer([SAMPLES / "afd"]) as server:
        for _ in range(2):
            proc = subprocess.run(
                [sys.executable, "-m", "scrapy", "crawl", "afd", "-L", "WARNING",
                 "-s", f"FUNDRADAR_FIXTURE_SERVER={server.url}", "-s", "HTTPCACHE_ENABLED=1",
                 "-s", f"HTTPCACHE_DIR={cache}", "-s", "ITEM_PIPELINES={}",
                 "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0", "-o", "-:jsonlines"],
                cwd=REPO, capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            assert proc.returncode == 0, proc.stderr[-2000:]
            assert len(proc.stdout.strip().splitlines()) == 6  # six calls both times
        answers = [(p, status) for h, p, status in server.requests if h == "www.afd.fr"]
    statuses = [s for p, s in answers if p.startswith(AFD_DETAILS)]
    assert statuses.count(200) == 6  # first crawl
    assert statuses.count(304) == 6  # second crawl: If-None-Match answered "not modified"
