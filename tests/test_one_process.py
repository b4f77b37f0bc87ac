"""All sources in one crawl process (issue 16 item 1), and re-crawls that skip what did not change
(item 3). Real child processes (`python -m fundradar.crawlers.runner`) on a local site.

Sites and spiders here are reconstructed — not a capture (tests/oneproc/spiders.py).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from fundradar.crawlers.runlog import TOKEN_STAT
from fundradar.crawlers.runner import clear_stop, request_stop, run_children, shard
from fundradar.crawling import crawl, run_of
from fundradar.pipeline import db
from fundradar.pipeline.models import CallRow, CrawlRun, Sighting

from .fault_server import FaultServer, Handler, Hang, Page, _send
from .test_run_verdicts import TOPICS, by_source, html_source, listing, use_sources


def set_defaults(folder: Path, **defaults: object) -> None:
    path = folder / "sources.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["defaults"].update(defaults)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_broken_spider_fails_alone_and_each_source_has_its_own_run(
    fault_server: FaultServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fs = fault_server
    use_sources(tmp_path, monkeypatch, [html_source("good_site", fs.url("/good"))])
    fs.route("/good", Page(listing("Lagoon", 3)))
    fs.route("/broken", Page(listing("Reef", 2, first=4)))
    monkeypatch.setenv("FUNDRADAR_TEST_SITE", fs.url("/broken"))
    monkeypatch.setenv("SCRAPY_SETTINGS_MODULE", "tests.oneproc.settings")
    db.init()
    ids = ["broken_init", "good_site", "broken_start", "broken_parse", "no_such_spider"]
    outcome = run_children(ids)
    results = {r.source: r for r in outcome}
    assert sorted(results) == sorted(ids) and not outcome.not_started
    assert len({r.log_file for r in outcome}) == 1  # one process crawled them all
    assert len({r.token for r in outcome}) == len(ids)  # each source its own mark
    runs = {sid: run_of(sid, r.token) for sid, r in results.items()}
    assert all(run is not None for run in runs.values()), runs
    for sid, run in runs.items():
        assert run is not None and (run.stats or {}).get(TOKEN_STAT) == results[sid].token

    good = runs["good_site"]
    assert good is not None and good.status == "ok" and good.items_seen == 3
    assert results["good_site"].returncode == 0
    init, missing = runs["broken_init"], runs["no_such_spider"]
    assert init is not None and init.status == "failed"
    assert "constructor fails" in (init.message or "") and init.cause
    assert missing is not None and missing.status == "failed"
    assert "no_such_spider" in (missing.message or "")
    start, parse = runs["broken_start"], runs["broken_parse"]
    assert start is not None and start.status == "failed" and start.requests == 0
    assert parse is not None and parse.status == "failed" and parse.cause == "the spider crashed"
    # could not run at all: a failed exit for those; the others finished, their runs judge them
    assert results["broken_init"].returncode == results["no_such_spider"].returncode == 1
    assert fs.hits_on("/good") == [200]


def test_sigterm_to_the_crawl_children_marks_unfinished_runs_interrupted(
    fault_server: FaultServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fs = fault_server
    sources = [html_source("quick", fs.url("/quick")), html_source("stuck", fs.url("/stuck"))]
    folder = use_sources(tmp_path, monkeypatch, sources)
    set_defaults(folder, download_timeout=60)  # the hung page outlives the stop
    fs.route("/quick", Page(listing("Lagoon", 2)))
    fs.route("/stuck", Hang(60))
    told: list[str] = []
    got: dict[str, Any] = {}

    def run() -> None:
        # two processes (one source each): the stop reaches every child, each source is
        # reported by its own; one process runs the same code with one child
        got.update(by_source(crawl(["quick", "stuck"], on_done=lambda s: told.append(s.source),
                                   processes=2)))  # fmt: skip

    thread = threading.Thread(target=run)
    try:
        thread.start()
        # the quick source is reported as soon as it closes, while the other still crawls
        _wait(lambda: told == ["quick"] and bool(fs.times_of("/stuck")), 90, "quick done")
        started = time.monotonic()
        request_stop()
        thread.join(60)
        took = time.monotonic() - started
    finally:
        clear_stop()
    assert not thread.is_alive() and told == ["quick", "stuck"]
    assert len(list((tmp_path / "home" / "logs").glob("crawl-*.log"))) == 2  # a child each
    assert took < 30  # the stop does not wait for the 60 s download timeout
    assert got["quick"].status == "ok" and got["quick"].calls == 2
    assert got["stuck"].status == "interrupted"
    with db.session_scope() as s:
        run = s.get_one(CrawlRun, got["stuck"].run_id)
        assert run.status == "interrupted" and "stopped by SIGTERM" in (run.message or "")
        assert s.get_one(CrawlRun, got["quick"].run_id).status == "ok"


# --- incremental re-crawls ------------------------------------------------------------------


@dataclass
class Validated:
    """A page with an ETag that answers 304 to a matching If-None-Match, as most CMSs do."""

    body: str

    def answer(self, handler: Handler, hit: int) -> int:
        etag = '"' + hashlib.sha256(self.body.encode()).hexdigest()[:16] + '"'
        # no Cache-Control: no freshness, so the cache revalidates every time (RFC 2616 13.3)
        headers = {"ETag": etag, "Content-Type": "text/html; charset=utf-8"}
        if handler.headers.get("If-None-Match") == etag:
            return _send(handler, 304, b"", headers)
        return _send(handler, 200, self.body.encode(), headers)


def detail_listing(deadlines: list[int]) -> str:
    cards = "".join(
        f'<li class="call"><h2><a href="/d/{i}">Call for {TOPICS[i]} projects</a></h2>'
        f'<p class="deadline">Deadline: {day} March 2027</p></li>'
        for i, day in enumerate(deadlines)
    )
    return f"<html><body><h1>Calls</h1><ul>{cards}</ul></body></html>"


def detail_page(i: int, day: int) -> str:
    return (
        f"<html><body><main><h1>Call for {TOPICS[i]} projects</h1>"
        f"<p>Deadline: {day} March 2027</p><p>Grants for Caribbean islands.</p>"
        "</main></body></html>"
    )


def serve(fs: FaultServer, deadlines: list[int]) -> None:
    fs.route("/calls", Validated(detail_listing(deadlines)))
    for i, day in enumerate(deadlines):
        fs.route(f"/d/{i}", Validated(detail_page(i, day)))


def test_a_recrawl_skips_unchanged_details_and_revalidates_the_listing(
    fault_server: FaultServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fs = fault_server
    source = {
        "id": "thrifty", "kind": "html", "funder": "Thrifty Fund", "language": "en",
        "start_urls": [fs.url("/calls")],
        "selectors": {"item": "li.call", "link": "h2 a::attr(href)", "title": "h1"},
    }  # fmt: skip
    set_defaults(use_sources(tmp_path, monkeypatch, [source]), http_cache=True)
    deadlines = [10, 11, 12, 13]
    serve(fs, deadlines)

    def requests() -> dict[str, list[int]]:
        paths = ["/calls", *(f"/d/{i}" for i in range(len(deadlines)))]
        return {p: fs.hits_on(p) for p in paths}

    [first] = crawl(["thrifty"])
    assert first.status == "ok" and first.calls == 4 and first.skipped == 0
    assert requests() == {"/calls": [200], "/d/0": [200], "/d/1": [200], "/d/2": [200],
                          "/d/3": [200]}  # fmt: skip

    [second] = crawl(["thrifty"])  # nothing changed: a 304 for the listing, no detail asked
    assert second.status == "ok" and second.calls == 4
    assert second.skipped == 4 and second.revalidated == 1
    assert requests() == {"/calls": [200, 304], "/d/0": [200], "/d/1": [200], "/d/2": [200],
                          "/d/3": [200]}  # fmt: skip

    deadlines[2] = 28  # one call's deadline moved: its card and its page change
    serve(fs, deadlines)
    [third] = crawl(["thrifty"])
    assert third.status == "ok" and third.calls == 4 and third.skipped == 3
    # only the changed call's page is fetched again (the listing changed too: a full 200)
    assert requests() == {"/calls": [200, 304, 200], "/d/0": [200], "/d/1": [200],
                          "/d/2": [200, 200], "/d/3": [200]}  # fmt: skip
    with db.session_scope() as s:
        runs = s.query(CrawlRun).filter_by(source="thrifty").order_by(CrawlRun.id).all()
        # every call still counted as seen: nothing unlisted, the health verdict stays ok
        assert [r.status for r in runs] == ["ok", "ok", "ok"]
        assert [r.items_seen for r in runs] == [4, 4, 4]


# --- progress -------------------------------------------------------------------------------


def _crawl_cli(stderr_tty: bool) -> tuple[str, str]:
    """`fundradar crawl --fixtures afd eu_ft` with stderr on a terminal (a pty) or a pipe."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import termios

    from .conftest import REPO

    cmd = [sys.executable, "-m", "fundradar", "crawl", "--fixtures", "afd", "eu_ft"]
    if not stderr_tty:
        done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=180)
        return done.stdout, done.stderr
    parent, child = pty.openpty()
    # a real terminal has a size; a new pty has 0 columns, where tqdm draws nothing
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=child, text=True)
    os.close(child)
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: _drain(parent, chunks), daemon=True)
    reader.start()
    out, _ = proc.communicate(timeout=180)
    reader.join(5)
    os.close(parent)
    return out, b"".join(chunks).decode("utf-8", "replace")


def _drain(fd: int, chunks: list[bytes]) -> None:
    import os

    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:  # the terminal's other end closed
            return
        if not data:
            return
        chunks.append(data)


def test_crawl_shows_progress_on_a_terminal_and_none_when_piped() -> None:
    out, err = _crawl_cli(stderr_tty=True)
    assert "afd" in out and "eu_ft" in out  # the summary, as ever
    assert "pages" in err and "calls" in err and "source" in err  # the live line
    out, err = _crawl_cli(stderr_tty=False)
    assert "afd" in out and "eu_ft" in out
    assert "pages" not in err and "source/s" not in err  # nothing but the summary when piped


def test_isolate_still_crawls_each_source_in_its_own_process(
    fault_server: FaultServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fs = fault_server
    sources = [html_source("iso_a", fs.url("/a")), html_source("iso_b", fs.url("/b"))]
    use_sources(tmp_path, monkeypatch, sources)
    fs.route("/a", Page(listing("Lagoon", 2)))
    fs.route("/b", Page(listing("Harbour", 3, first=4)))
    got = by_source(crawl(["iso_a", "iso_b"], isolate=True))
    assert (got["iso_a"].status, got["iso_a"].calls) == ("ok", 2)
    assert (got["iso_b"].status, got["iso_b"].calls) == ("ok", 3)
    logs = sorted(p.name for p in (Path(tmp_path) / "home" / "logs").glob("crawl-*.log"))
    # one log per child: each source had a process of its own
    assert (
        len(logs) == 2 and logs[0].startswith("crawl-iso_a-") and logs[1].startswith("crawl-iso_b-")
    )


# --- sources dealt over several crawl processes ------------------------------------------------


def test_shard_deals_sources_round_robin_never_more_processes_than_sources() -> None:
    ids = ["a", "b", "c", "d", "e"]
    assert shard(ids, 2) == [["a", "c", "e"], ["b", "d"]]
    assert shard(ids, 8) == [[s] for s in ids]
    assert shard(ids, 1) == [ids] and shard(ids, 0) == [ids]


def test_two_processes_store_a_call_both_sites_list_once(
    fault_server: FaultServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two sources in two crawl processes list the same three calls (same titles, funder and
    deadlines, other addresses): whichever process writes first, the other merges into its
    calls, as one process would."""
    fs = fault_server
    sources = [html_source("twin_a", fs.url("/a")), html_source("twin_b", fs.url("/b"))]
    for source in sources:
        source["funder"] = "Funder TWIN"
    use_sources(tmp_path, monkeypatch, sources)
    fs.route("/a", Page(listing("Lagoon", 3)))
    fs.route("/b", Page(listing("Lagoon", 3).replace('href="/calls/', 'href="/b/calls/')))
    got = by_source(crawl(["twin_a", "twin_b"], processes=2))
    assert (got["twin_a"].status, got["twin_a"].calls) == ("ok", 3)
    assert (got["twin_b"].status, got["twin_b"].calls) == ("ok", 3)
    logs = list((Path(tmp_path) / "home" / "logs").glob("crawl-*.log"))
    assert len(logs) == 2  # a process each
    assert got["twin_a"].new + got["twin_b"].new == 3  # the second of each pair merged
    with db.session_scope() as s:
        assert s.scalar(select(func.count(CallRow.id))) == 3
        pairs = s.execute(select(Sighting.call_id, Sighting.source)).all()
    assert len(pairs) == 6 and len({call for call, _ in pairs}) == 3
    assert {src for _, src in pairs} == {"twin_a", "twin_b"}
