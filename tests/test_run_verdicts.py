"""Every crawl run gets a verdict with a cause: an outage is never mistaken for a quiet week.

End-to-end tests crawl config-only HTML sources pointed at `tests/fault_server.py` (real Scrapy in
child processes, real HTTP on 127.0.0.1, real SQLite); the verdict rules themselves are tested as
the pure function they are. The listing pages are reconstructed — not captures.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from fundradar.config.loader import HealthThresholds
from fundradar.crawlers.middlewares import describe_download_error, retry_after_seconds
from fundradar.crawlers.runlog import History, RunFacts, verdict
from fundradar.crawling import CrawlSummary, crawl
from fundradar.pipeline import db
from fundradar.pipeline.health import latest_health
from fundradar.pipeline.models import CallRow, CrawlRun

from .conftest import REPO
from .fault_server import (
    Fail,
    FaultServer,
    GzipBomb,
    Hang,
    LargeBody,
    Page,
    RedirectLoop,
    ResetMidBody,
    RetryAfter,
    Slow,
    closed_port,
)

T = HealthThresholds()


TOPICS = (
    "ocean governance", "coral reef restoration", "youth employment", "climate adaptation",
    "renewable energy", "disaster risk reduction", "sargassum research", "digital schools",
    "public health networks", "cultural heritage", "fisheries management", "water security",
    "sustainable tourism", "biodiversity monitoring", "women entrepreneurs", "food security",
    "coastal erosion", "university mobility", "green hydrogen", "waste recycling",
)  # fmt: skip


def listing(prefix: str, n: int = 3, first: int = 0) -> str:
    """A listing page of `n` calls, each a complete call (title and deadline on the card); the
    titles differ in words, not just a number, so deduplication keeps them apart (sources of one
    test take different `first` topics: the same call on two sites would be merged)."""
    items = "".join(
        f'<li class="call"><h2><a href="/calls/{prefix.lower()}-{i}">{prefix}: call for '
        f"{TOPICS[first + i - 1]} projects</a></h2>"
        f'<p class="deadline">Deadline: {10 + i} March 2027</p></li>'
        for i in range(1, n + 1)
    )
    return f"<html><body><h1>Calls</h1><ul>{items}</ul></body></html>"


REDESIGNED = (
    "<html><body><h1>Calls</h1><div class='grid'><article class='tile'>"
    "<h3>Something</h3></article></div></body></html>"
)


def html_source(sid: str, *urls: str, **health: Any) -> dict[str, Any]:
    source: dict[str, Any] = {
        "id": sid, "kind": "html", "funder": f"Funder {sid.upper()}", "start_urls": list(urls),
        "language": "en", "selectors": {"item": "li.call", "title": "h1"},
        "options": {"detail": False, "card": {"title": "h2", "deadline": ".deadline"}},
    }  # fmt: skip
    if health:
        source["health"] = health
    return source


def use_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sources: list[dict[str, Any]], **defaults: Any
) -> Path:
    """A config folder with the packaged files plus `sources`, crawling fast and uncached."""
    folder = tmp_path / "config"
    shutil.copytree(REPO / "config", folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    data = yaml.safe_load((folder / "sources.yaml").read_text(encoding="utf-8"))
    data["defaults"].update(download_delay=0, http_cache=False, download_timeout=3,
                            retry_after_max=5, **defaults)  # fmt: skip
    data["sources"].extend(sources)
    (folder / "sources.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    monkeypatch.setenv("FUNDRADAR_CONFIG", str(folder))
    return folder


def by_source(summaries: list[CrawlSummary]) -> dict[str, CrawlSummary]:
    return {s.source: s for s in summaries}


def last_run(source: str) -> CrawlRun:
    with db.session_scope() as s:
        run = s.scalars(
            select(CrawlRun).where(CrawlRun.source == source).order_by(CrawlRun.id.desc())
        ).first()
        assert run is not None
        s.expunge(run)
        return run


def titles(source: str) -> list[str]:
    with db.session_scope() as s:
        return sorted(s.scalars(select(CallRow.title).where(CallRow.source == source)))


def stored_calls(source: str) -> int:
    with db.session_scope() as s:
        return int(s.scalar(select(func.count()).where(CallRow.source == source)) or 0)


# --- end to end: one crawl, several faults -------------------------------------------------------


def test_unreachable_503_and_changed_markup_each_get_their_cause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault_server: FaultServer
) -> None:
    fs = fault_server
    fs.route("/fine", Page(listing("Fine")))
    fs.route("/down", Fail(503))
    fs.route("/redesigned", Page(REDESIGNED))
    fs.route("/flaky", Fail(503, times=2, then=Page(listing("Flaky", 2, first=3))))
    dead = f"http://127.0.0.1:{closed_port()}/calls"
    use_sources(tmp_path, monkeypatch, [
        html_source("t_fine", fs.url("/fine")), html_source("t_dead", dead),
        html_source("t_down", fs.url("/down")), html_source("t_redesigned", fs.url("/redesigned")),
        html_source("t_flaky", fs.url("/flaky")),
    ])  # fmt: skip
    got = by_source(crawl(["t_fine", "t_dead", "t_down", "t_redesigned", "t_flaky"]))

    assert got["t_fine"].status == "ok" and got["t_fine"].calls == 3
    assert stored_calls("t_fine") == 3  # the others' faults cost the fine source nothing

    dead_run = last_run("t_dead")
    assert (dead_run.status, dead_run.cause) == ("unreachable", "site unreachable")
    assert "connection refused by 127.0.0.1" in (dead_run.message or "")
    assert "selectors" not in (dead_run.message or "")

    down = last_run("t_down")
    assert (down.status, down.cause) == ("http-error", "error 503")
    assert fs.hits_on("/down") == [503, 503, 503]  # asked, then 2 retries, then given up
    assert "HTTP 503" in (down.message or "") and "after retries" in (down.message or "")

    redesigned = last_run("t_redesigned")
    assert redesigned.status == "empty"
    assert redesigned.cause == "no calls found, the site may have changed"
    assert "1 page read: selectors may need repair" in (redesigned.message or "")

    flaky = last_run("t_flaky")
    assert flaky.status == "ok" and flaky.cause is None, flaky.message
    assert fs.hits_on("/flaky") == [503, 503, 200] and stored_calls("t_flaky") == 2


def test_429_with_retry_after_is_retried_after_the_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault_server: FaultServer
) -> None:
    fs = fault_server
    fs.route("/patient", RetryAfter(2, times=1, then=Page(listing("Patient", first=3))))
    fs.route("/greedy", RetryAfter(3600, times=None))
    use_sources(tmp_path, monkeypatch, [html_source("t_patient", fs.url("/patient")),
                                        html_source("t_greedy", fs.url("/greedy"))])  # fmt: skip
    got = by_source(crawl(["t_patient", "t_greedy"]))

    assert got["t_patient"].status == "ok" and got["t_patient"].calls == 3
    first, second = fs.times_of("/patient")
    assert second - first >= 1.9, "the retry came before the Retry-After wait"
    assert last_run("t_patient").stats["fundradar/retry_after/waited"] == 1

    greedy = last_run("t_greedy")
    # an hour is beyond retry_after_max (5 s here): not waited for, not hammered, named
    assert (greedy.status, greedy.cause) == ("blocked", "too many requests (429)")
    assert fs.hits_on("/greedy") == [429]
    assert "asked to wait 3600 s" in (greedy.message or "")


def test_robots_txt_disallowing_the_listing_is_blocked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault_server: FaultServer
) -> None:
    fault_server.robots("Disallow: /")
    fault_server.route("/calls", Page(listing("Private")))
    use_sources(tmp_path, monkeypatch, [html_source("t_robots", fault_server.url("/calls"))])
    (summary,) = crawl(["t_robots"])
    run = last_run("t_robots")
    assert (run.status, run.cause) == ("blocked", "blocked by robots.txt")
    assert fault_server.hits_on("/calls") == []  # robots.txt obeyed: never asked
    assert summary.status == "blocked"


def test_gzip_bomb_and_huge_page_are_cut_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault_server: FaultServer
) -> None:
    fs = fault_server
    fs.route("/bomb", GzipBomb(200 * 2**20))
    fs.route("/huge", LargeBody(50 * 2**20))
    fs.route("/fine", Page(listing("Mixed")))
    use_sources(tmp_path, monkeypatch, [
        html_source("t_bomb", fs.url("/bomb")), html_source("t_huge", fs.url("/huge")),
        html_source("t_mixed", fs.url("/fine"), fs.url("/bomb")),
    ])  # fmt: skip
    got = by_source(crawl(["t_bomb", "t_huge", "t_mixed"]))

    bomb = last_run("t_bomb")
    assert (bomb.status, bomb.cause) == ("http-error", "page too large, download cut")
    assert bomb.stats["fundradar/download_error/too_large"] >= 1
    assert "inflates beyond 10 MB" in (bomb.message or "")
    # decompressed no further than the cap: Scrapy's counter of inflated bytes never grew
    assert bomb.stats.get("httpcompression/response_bytes", 0) <= 10 * 2**20

    huge = last_run("t_huge")
    assert (huge.status, huge.cause) == ("http-error", "page too large, download cut")
    assert "larger than download max size" in (huge.message or "")

    # one start URL a bomb, the other fine: the calls are kept and the cut is still said
    assert got["t_mixed"].status == "ok" and got["t_mixed"].calls == 3
    assert "1 page too_large" in (last_run("t_mixed").message or "")


def test_slow_hung_reset_redirect_loop_and_bad_utf8(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault_server: FaultServer
) -> None:
    fs = fault_server
    fs.route("/slow", Slow(1.0, Page(listing("Slow", 2, first=6))))
    fs.route("/hung", Hang(30))
    fs.route("/reset", ResetMidBody())
    fs.route("/loop", RedirectLoop())
    bad = listing("Accents", 2, first=12).replace("sustainable tourism", "tourisme \xe9cologique")
    fs.route("/latin", Page(bad.encode("latin-1"), content_type="text/html; charset=utf-8"))
    use_sources(tmp_path, monkeypatch, [
        html_source("t_slow", fs.url("/slow")), html_source("t_hung", fs.url("/hung")),
        html_source("t_reset", fs.url("/reset")), html_source("t_loop", fs.url("/loop")),
        html_source("t_latin", fs.url("/latin")),
    ])  # fmt: skip
    got = by_source(crawl(["t_slow", "t_hung", "t_reset", "t_loop", "t_latin"]))

    assert got["t_slow"].status == "ok" and got["t_slow"].calls == 2  # slow is not down
    hung = last_run("t_hung")
    assert (hung.status, hung.cause) == ("unreachable", "site unreachable")
    assert "no answer from 127.0.0.1" in (hung.message or "")
    reset = last_run("t_reset")
    assert (reset.status, reset.cause) == ("unreachable", "site unreachable"), reset.message
    assert "dropped mid-answer" in (reset.message or "")
    loop = last_run("t_loop")
    assert (loop.status, loop.cause) == ("http-error", "endless redirects"), loop.message
    # invalid UTF-8 costs no call and no accent: repaired, kept, and said
    assert got["t_latin"].status == "ok" and got["t_latin"].calls == 2
    assert "invalid UTF-8 repaired on 1 page" in (last_run("t_latin").message or "")
    assert "Accents: call for tourisme écologique projects" in titles("t_latin")


FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Fonds régional — appels</title>
<link>{url}</link><description>Appels à projets</description>
<item><title>Appel à projets : coopération régionale, éducation et santé</title>
<link>{url}appel-cooperation</link><guid>{url}appel-cooperation</guid>
<pubDate>Mon, 16 Nov 2026 10:00:00 GMT</pubDate>
<description>Date limite : 31 mars 2027. Ouvert aux États membres de l'OECO.</description></item>
</channel></rss>
"""


def test_feed_with_invalid_utf8_is_repaired_not_garbled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault_server: FaultServer
) -> None:
    """The probe's feed: declared UTF-8, mostly UTF-8, a few Latin-1 bytes. Read as a whole in
    another encoding (ISO-8859-2 was seen), every accent was garbled with no warning."""
    text = FEED.format(url=fault_server.url("/"))
    good, bad = text.split("Date limite")
    body = good.encode("utf-8") + ("Date limite" + bad).encode("latin-1")  # "États" in Latin-1
    fault_server.route("/feed.xml", Page(body, content_type="application/rss+xml"))
    source = {"id": "t_feed", "kind": "feed", "funder": "Fonds régional",
              "start_urls": [fault_server.url("/feed.xml")], "language": "fr",
              "options": {"detail": "never"}}  # fmt: skip
    use_sources(tmp_path, monkeypatch, [source])
    (summary,) = crawl(["t_feed"])
    assert summary.status == "ok" and summary.calls == 1, summary.message
    assert titles("t_feed") == ["Appel à projets : coopération régionale, éducation et santé"]
    run = last_run("t_feed")
    assert run.stats["fundradar/encoding_repaired"] == 1
    assert run.stats["fundradar/encoding_repaired_bytes"] == 1  # the É of "États"
    assert "invalid UTF-8 repaired on 1 page" in (run.message or "")
    with db.session_scope() as s:
        summary_text = s.scalars(select(CallRow.summary).where(CallRow.source == "t_feed")).one()
    assert "États membres" in (summary_text or "")


def test_second_run_with_far_fewer_calls_is_degraded_and_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault_server: FaultServer
) -> None:
    fs = fault_server
    use_sources(tmp_path, monkeypatch, [html_source("t_shrink", fs.url("/calls"))])
    fs.route("/calls", Page(listing("Shrink", 10)))
    assert crawl(["t_shrink"])[0].status == "ok"
    fs.route("/calls", Page(listing("Shrink", 3)))  # a markup change that loses most calls
    crawl(["t_shrink"])
    run = last_run("t_shrink")
    assert (run.status, run.cause) == ("degraded", "far fewer calls than usual (3 vs 10)")
    fs.route("/calls", Page(listing("Shrink", 10)))
    assert crawl(["t_shrink"])[0].status == "ok"


def test_sources_list_shows_verdict_cause_and_possibly_broken(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from .test_sources_cmd import run_cli

    t0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
    with db.session_scope() as s:
        s.add(CrawlRun(source="afd", started_at=t0, finished_at=t0 + timedelta(minutes=1),
                       status="unreachable", cause="site unreachable",
                       message="DNS lookup failed for www.afd.fr"))  # fmt: skip
        for week in range(3):  # three quiet weeks, each looking fine
            at = t0 + timedelta(days=7 * week)
            done = at + timedelta(minutes=1)
            s.add(CrawlRun(source="anr", started_at=at, finished_at=done, status="ok",
                           items_seen=4, items_unchanged=4, message="4 calls"))  # fmt: skip
    code, out, _ = run_cli(capsys, "sources", "list")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert "unreachable: site unreachable (DNS lookup failed for www.afd.fr)" in lines["afd"]
    assert "possibly broken, no new call in 3 runs; ok (4 calls)" in lines["anr"]
    assert "never run" in lines["auf"]


# --- the verdict rules, as a pure function -------------------------------------------------------


def facts(**kw: Any) -> RunFacts:
    base: dict[str, Any] = {"calls": 10, "pages_read": 2, "requests": 3,
                            "coverage": {"title": 1.0, "url": 1.0}}  # fmt: skip
    base.update(kw)
    return RunFacts(**base)


def test_empty_only_when_pages_were_read() -> None:
    v = verdict(facts(calls=0, pages_read=0, download_errors={"dns": 2},
                      last_error="DNS lookup failed for www.afd.fr"), History(), T)  # fmt: skip
    assert (v.status, v.cause, v.message) == (
        "unreachable", "site unreachable", "DNS lookup failed for www.afd.fr")  # fmt: skip
    v = verdict(facts(calls=0, pages_read=3), History(), T)
    assert v.status == "empty" and "selectors may need repair" in v.message
    # a news page whose entries were all read and none announces a call: a quiet week
    v = verdict(facts(calls=0, pages_read=1, entries_filtered=8), History(), T)
    assert (v.status, v.cause, v.message) == (
        "ok", None, "0 calls: 8 entries read, none announcing a call (keywords)")  # fmt: skip
    v = verdict(facts(calls=0, pages_read=0, http_errors={403: 1}), History(), T)
    assert (v.status, v.cause) == ("blocked", "access refused (403)")


def test_calls_kept_without_a_deadline_are_counted_in_the_runs_health() -> None:
    v = verdict(facts(calls=6, no_deadline=2), History(), T)
    assert (v.status, v.message) == ("ok", "6 calls; 2 without a readable deadline")
    assert (
        RunFacts.from_stats({"fundradar/no_deadline": 2}, calls=6, reason="finished").no_deadline
        == 2
    )


def test_spider_crash_and_early_stop_are_failed() -> None:
    v = verdict(facts(calls=0, pages_read=2, spider_exceptions={"KeyError": 2}), History(), T)
    assert (v.status, v.cause) == ("failed", "the spider crashed") and "KeyError x2" in v.message
    v = verdict(facts(reason="shutdown", calls=4), History(), T)
    assert (v.status, v.cause) == ("failed", "the crawl stopped early")
    v = verdict(facts(calls=5, spider_exceptions={"ValueError": 1}), History(ok_calls=[5]), T)
    assert v.status == "degraded" and v.cause == "the spider crashed on 1 page"


def test_degraded_has_a_margin_and_a_minimum_drop() -> None:
    usual = History(ok_calls=[12, 10, 11], last_status="ok")
    # 5 of a median 11 is 45%: under 50% but within the 10-point margin of a source that was ok
    assert verdict(facts(calls=5), usual, T).status == "ok"
    v = verdict(facts(calls=3), usual, T)
    assert (v.status, v.cause) == ("degraded", "far fewer calls than usual (3 vs 11)")
    # once degraded, it recovers only at the ratio itself (no weekly flip-flop around 45%)
    was_degraded = History(ok_calls=[12, 10, 11], last_status="degraded")
    assert verdict(facts(calls=5), was_degraded, T).status == "degraded"
    assert verdict(facts(calls=6), was_degraded, T).status == "ok"
    # a small source losing one call of two is noise, not an alarm (min_drop 2)
    assert verdict(facts(calls=1), History(ok_calls=[2, 2, 2]), T).status == "ok"
    strict = T.model_copy(update={"min_drop": 1, "margin": 0.0})
    assert verdict(facts(calls=0, pages_read=1), History(ok_calls=[2]), strict).status == "empty"


def test_required_field_coverage_below_its_threshold_is_degraded() -> None:
    t = T.model_copy(update={"coverage": {"deadline": 0.6}})
    low = facts(coverage={"title": 1.0, "url": 1.0, "deadline": 0.3})
    v = verdict(low, History(), t)
    assert (v.status, v.cause) == ("degraded", "deadline missing on 70% of calls")
    near = facts(coverage={"title": 1.0, "url": 1.0, "deadline": 0.55})
    assert verdict(near, History(last_status="ok"), t).status == "ok"  # within the margin


def test_possibly_broken_after_n_quiet_runs(session) -> None:  # type: ignore[no-untyped-def]
    t0 = datetime(2026, 11, 2, 9, tzinfo=UTC)

    def add(week: int, new: int) -> None:
        at = t0 + timedelta(days=7 * week)
        session.add(CrawlRun(source="auf", started_at=at, finished_at=at, status="ok",
                             items_seen=5, items_new=new, message="5 calls"))  # fmt: skip
        session.commit()

    def auf():  # type: ignore[no-untyped-def]
        return next(h for h in latest_health(session) if h.source == "auf")

    add(0, 5)
    for week in (1, 2):
        add(week, 0)
        assert not auf().possibly_broken, week
    add(3, 0)
    h = auf()
    assert h.possibly_broken and h.quiet_runs == 3 and h.status == "ok" and not h.ok
    add(4, 1)  # a new call: alive again
    assert not auf().possibly_broken


def test_download_error_sentences_and_retry_after_dates() -> None:
    from scrapy.exceptions import CannotResolveHostError, DownloadTimeoutError

    assert describe_download_error(CannotResolveHostError("x"), "https://www.afd.fr/fr/x") == (
        "dns", "DNS lookup failed for www.afd.fr")  # fmt: skip
    assert describe_download_error(DownloadTimeoutError("took longer than 60 s"),
                                   "https://anr.fr/")[0] == "timeout"  # fmt: skip
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert retry_after_seconds(b"120") == 120
    assert retry_after_seconds("Mon, 07 Dec 2026 12:00:30 GMT", now=now) == 30
    assert retry_after_seconds(b"soon") is None and retry_after_seconds(None) is None
