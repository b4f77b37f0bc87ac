"""Run crawls in a child process: all sources in one, or (`isolate`) each in its own.

Twisted's reactor cannot be restarted inside one process, so the scheduler, `fundradar crawl`
and the demo never run Scrapy in their own process: they start `python -m crawlers.runner
<source>...` and read each source's outcome from the `crawl_runs` table, where the child's
`RunLog` wrote it, found by the token the parent gave that source.

- Together (the default): ONE child crawls every source at once, one Scrapy crawler per source
  in one reactor. Each crawler has its own settings, downloader and slots, so politeness per
  site is what it was with a process each (DOWNLOAD_DELAY, CONCURRENT_REQUESTS_PER_DOMAIN), and
  its own token, timeout (CLOSESPIDER_TIMEOUT) and run. A spider that cannot be created, or
  fails in its start or parse, fails alone. The child tells the parent on stdout as each source
  finishes (`REPORT_PREFIX` lines), so `on_done` summaries come as they happen, and sends
  progress every second.
- Sharded (`--processes N`, config `defaults.crawl_processes`): the sources dealt round robin
  over N such children, each as above; the parent merges their reports and progress. For a
  crawl bound by one core's CPU; SQLite writers in several processes wait for each other's
  write lock, and the batch store looks its pending calls up again when another process wrote
  new calls meanwhile (`pipeline.store.batch`), so a call two sites list is still stored once.
- Isolated (`--isolate`, config `defaults.isolate`): one child per source, at most `parallel`
  at a time: for a source that misbehaves in ways one process cannot contain (a leak, a hang in
  C code), at ~2 s of start-up per source.

Stopping (SIGTERM from systemd goes to the whole group, the scheduler and every child):

- A child stops *gracefully* at the first SIGTERM or SIGINT and ignores the next ones (Scrapy's
  own handlers would take a second signal as "kill now" and lose the run's bookkeeping): the
  spiders are closed, requests in flight get `STOP_GRACE` seconds to finish, the calls already
  stored stay stored, and each unfinished `CrawlRun` is recorded as `interrupted` (not
  `failed`), with how many calls it kept. It exits with `EXIT_INTERRUPTED`.
- The parent, once `request_stop()` was called (the scheduler's signal handler does), starts no
  further child, passes one SIGTERM to each running child (harmless if it had one already) and
  waits for them; the sources never started are returned in `RunOutcome.not_started`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fundradar import settings as app_settings

log = logging.getLogger("fundradar.crawl")

EXIT_INTERRUPTED = 75  # EX_TEMPFAIL: stopped on request, run it again later
# seconds a stopping crawl may take to finish the requests in flight (systemd waits 90 s)
STOP_GRACE = 10.0
INTERRUPTED = "interrupted"
# a line of the one-process child meant for its parent (the rest of stdout is ignored)
REPORT_PREFIX = "@fundradar "
PROGRESS_EVERY = 1.0  # seconds between progress lines of a reporting child

# set by request_stop(): no new crawl child is started, running ones are asked to stop
_stop = threading.Event()


def request_stop() -> None:
    """Ask the running `run_children` (any thread) to stop gracefully."""
    _stop.set()


def stop_requested() -> bool:
    return _stop.is_set()


def clear_stop() -> None:
    _stop.clear()


def crawl_settings(
    *, fixture_server: str | None = None, sample: bool = False, log_file: Path | None = None,
    token: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """One run's own settings, on top of crawlers/settings.py. The config's (delay, cache...)
    are the spider's: `SourceSpider.update_settings`, so Scrapyd jobs get them too."""
    overrides: dict[str, Any] = {"FUNDRADAR_SAMPLE": sample}
    if fixture_server:
        # the spider then also turns delay, cache and retries off (crawlers/base.py)
        overrides.update(FUNDRADAR_FIXTURE_SERVER=fixture_server)
    if log_file:
        overrides.update(LOG_FILE=str(log_file), LOG_FILE_APPEND=True)
    if token:
        # stored on the run (RunLog): the parent finds *its* child's run, not the newest of the
        # source, which another crawl running at the same time may have written
        overrides.update(FUNDRADAR_CRAWL_TOKEN=token)
    return overrides


def run_in_this_process(
    source_ids: Sequence[str],
    *,
    tokens: Mapping[str, str] | None = None,
    report: bool = False,
    timeout: float | None = None,
    **kwargs: Any,
) -> int:
    """Crawl every source in the current process: one reactor, one crawler per source, all at
    once (the child's entry point; also `scrapy crawl`).

    Each crawler has its own settings, downloader and slots, so each source keeps its own
    DOWNLOAD_DELAY and CONCURRENT_REQUESTS_PER_DOMAIN, as when each had a process of its own.
    A spider that cannot be created, or fails in its start or parse, fails alone: its source
    gets a `failed` run with the cause, the others go on. `tokens` (source -> mark) lets the
    parent find each source's own run; `report` writes one line per finished source (and
    progress every second) on stdout for the parent (`REPORT_PREFIX`).

    0: every crawl finished; EXIT_INTERRUPTED: stopped by a signal (runs marked interrupted);
    1: a crawl did not finish for another reason.
    """
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings
    from scrapy.utils.reactor import install_reactor

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "fundradar.crawlers.settings")
    tokens = dict(tokens or {})
    settings = get_project_settings()
    settings.setdict(crawl_settings(**kwargs), priority="cmdline")
    if timeout:
        # each source on its own clock: a slow one is closed ("closespider_timeout", a failed
        # run with its calls kept) while the others finish
        settings.set("CLOSESPIDER_TIMEOUT", timeout, priority="cmdline")
    process = CrawlerProcess(settings)
    # the reactor now, not by the first crawler: if that one's spider cannot be created, the
    # next crawlers would find no reactor installed
    install_reactor(settings["TWISTED_REACTOR"], settings["ASYNCIO_EVENT_LOOP"])
    from twisted.internet import reactor
    from twisted.internet.task import LoopingCall

    started = time.monotonic()
    signals_seen: list[int] = []
    crawlers: dict[str, Any] = {}
    reported: set[str] = set()
    codes: dict[str, int] = {}

    def tell(event: dict[str, Any]) -> None:
        if report:
            sys.stdout.write(REPORT_PREFIX + json.dumps(event) + "\n")
            sys.stdout.flush()

    def progress() -> None:
        tell({"event": "progress", "sources": {
            sid: {"pages": int(c.stats.get_value("fundradar/pages_read", 0) or 0),
                  "calls": int(c.stats.get_value("fundradar/items_seen", 0) or 0),
                  "done": sid in reported}
            for sid, c in crawlers.items() if _has_stats(c)
        }})  # fmt: skip

    def finish(sid: str, failure: Any = None) -> None:
        """A source is done (or could not run): its run says so, the parent is told."""
        if sid in reported:
            return
        reported.add(sid)
        crawler = crawlers.get(sid)
        reason = crawler.stats.get_value("finish_reason") if _has_stats(crawler) else None
        if failure is not None and reason != "finished":
            _record_failure(sid, crawler, tokens.get(sid), kwargs.get("sample", False), failure)
            codes[sid] = 1
        elif signals_seen and reason != "finished":
            _mark_interrupted([crawler], signal.Signals(signals_seen[0]).name)
            codes[sid] = EXIT_INTERRUPTED
        else:
            codes[sid] = 0 if reason == "finished" else 1
        progress()  # its final counts: a source quicker than the ticker still shows them
        tell({"event": "done", "source": sid, "code": codes[sid],
              "seconds": round(time.monotonic() - started, 3)})  # fmt: skip

    for sid in source_ids:
        try:
            crawler = process.create_crawler(sid)
        except Exception as exc:  # an unknown spider, a module that does not import
            log.error("%s: spider cannot be created: %s", sid, exc)
            finish(sid, exc)
            continue
        crawlers[sid] = crawler
        token = tokens.get(sid)
        if token:
            crawler.settings.set("FUNDRADAR_CRAWL_TOKEN", token, priority="cmdline")
        # AutoThrottle starts at its own 2 s unless told: start at the source's delay instead
        # (the same 2 s by default). It never goes below DOWNLOAD_DELAY either way.
        crawler.settings.set(
            "AUTOTHROTTLE_START_DELAY", crawler.settings.getfloat("DOWNLOAD_DELAY"),
            priority="spider",
        )  # fmt: skip
        try:
            deferred = process.crawl(crawler)
        except Exception as exc:  # raised before the crawl's Deferred exists
            log.error("%s: crawl could not start: %s", sid, exc)
            finish(sid, exc)
            continue

        def on_end(result: Any, sid: str = sid) -> None:
            from twisted.python.failure import Failure

            if isinstance(result, Failure):
                log.error("%s: crawl failed: %s", sid, result.getErrorMessage())
                finish(sid, result.value)
            else:
                finish(sid)

        deferred.addBoth(on_end)

    def force_stop() -> None:
        # a request still in flight (a slow site) would hold the stop for DOWNLOAD_TIMEOUT
        if reactor.running:  # type: ignore[attr-defined]
            reactor.stop()  # type: ignore[attr-defined]

    def stop() -> None:
        process.stop()
        reactor.callLater(STOP_GRACE, force_stop)  # type: ignore[attr-defined]

    def on_signal(signum: int, _frame: Any) -> None:
        # the first signal stops gracefully; more (systemd and the parent both send one) wait
        signals_seen.append(signum)
        if len(signals_seen) == 1:
            reactor.callFromThread(stop)  # type: ignore[attr-defined]

    signal.signal(signal.SIGTERM, on_signal)  # before the reactor runs: no window left open
    signal.signal(signal.SIGINT, on_signal)
    ticker = LoopingCall(progress)
    if report and crawlers:
        ticker.start(PROGRESS_EVERY, now=False)
    if crawlers:
        process.start(install_signal_handlers=False)
    if ticker.running:
        ticker.stop()
    for sid in crawlers:  # stopped before their crawl's Deferred fired (the force stop)
        finish(sid)
    if signals_seen and EXIT_INTERRUPTED in codes.values():
        return EXIT_INTERRUPTED
    return 1 if any(codes.values()) else 0


def _has_stats(crawler: Any) -> bool:
    return crawler is not None and getattr(crawler, "_stats", None) is not None


def _record_failure(
    sid: str, crawler: Any, token: str | None, sample: bool, failure: BaseException
) -> None:
    """A crawl that could not run (its spider not created, its start broken) gets a `failed`
    run of its own with the cause, as a crashed child process used to; the others go on."""
    from fundradar.crawlers.runlog import TOKEN_STAT
    from fundradar.pipeline import db, store
    from fundradar.pipeline.models import CrawlRun

    detail = f"{type(failure).__name__}: {failure}"[:300]
    runlog = getattr(crawler, "_fundradar_runlog", None) if crawler is not None else None
    try:
        with db.session_scope() as session:
            run = session.get(CrawlRun, runlog.run_id) if runlog and runlog.run_id else None
            if run is None:
                now = datetime.now(UTC)
                run = store.start_run(session, sid, now=now, sample=sample)
                run.stats = {TOKEN_STAT: token} if token else {}
            if run.status == "running":
                run.finished_at = datetime.now(UTC)
                run.status = "failed"
                run.cause = "the spider could not run"
                run.message = detail
                run.errors = (run.errors or 0) + 1
    except Exception:  # the database itself: logged; the parent reports the source as failed
        log.exception("%s: cannot record the failed crawl", sid)


def _mark_interrupted(crawlers: Sequence[Any], signame: str) -> None:
    """A crawl stopped on request is `interrupted` (caught up at the next start), not `failed`;
    the calls it stored are kept."""
    from fundradar.crawlers.runlog import RunLog
    from fundradar.pipeline import db
    from fundradar.pipeline.models import CrawlRun

    with db.session_scope() as session:
        for crawler in crawlers:
            runlog = getattr(crawler, "_fundradar_runlog", None)  # None: its spider never opened
            run_id = runlog.run_id if isinstance(runlog, RunLog) else None
            run = session.get(CrawlRun, run_id) if run_id is not None else None
            if run is None:
                continue
            if run.status == "running":  # stopped before the spider could close
                get = crawler.stats.get_value
                run.finished_at = datetime.now(UTC)
                run.items_seen = int(get("fundradar/items_seen", 0))
                run.items_dropped = int(get("fundradar/dropped", 0))
                run.requests = int(get("downloader/request_count", 0))
            kept = max(run.items_seen - run.items_dropped, 0)
            run.status = INTERRUPTED
            run.message = (
                f"stopped by {signame} after {run.requests} requests; {kept} calls kept; "
                "crawled again at the next start"
            )


@dataclass
class ChildResult:
    source: str
    returncode: int
    seconds: float
    log_file: Path
    token: str | None = None  # the child's FUNDRADAR_CRAWL_TOKEN: finds its own run

    @property
    def interrupted(self) -> bool:
        return self.returncode in (EXIT_INTERRUPTED, -signal.SIGTERM, -signal.SIGINT)


class RunOutcome(list[ChildResult]):
    """The children's results, and the sources a stop request kept from starting."""

    not_started: list[str]

    def __init__(self) -> None:
        super().__init__()
        self.not_started = []


def run_children(
    source_ids: Sequence[str],
    *,
    fixture_server: str | None = None,
    sample: bool = False,
    parallel: int = 2,
    on_done: Callable[[ChildResult], None] | None = None,
    timeout: float = 3600,
    isolate: bool = False,
    on_progress: Callable[[dict[str, dict[str, Any]]], None] | None = None,
    processes: int = 1,
) -> RunOutcome:
    """Crawl the sources in `processes` `python -m crawlers.runner` children (the sources
    dealt over them, all at once, many spiders each), or, with `isolate`, each source in its
    own child (at most `parallel` at a time).

    `on_done` is called per source as it finishes; `on_progress` (not with `isolate`) about
    every second with source -> {pages, calls, done}, every child's sources together.
    """
    if isolate:
        return _run_isolated(source_ids, fixture_server=fixture_server, sample=sample,
                             parallel=parallel, on_done=on_done, timeout=timeout)  # fmt: skip
    return _run_together(source_ids, fixture_server=fixture_server, sample=sample,
                         on_done=on_done, timeout=timeout, on_progress=on_progress,
                         processes=processes)  # fmt: skip


def _child_command(
    sources: Sequence[str], tokens: Mapping[str, str], log_file: Path, *,
    fixture_server: str | None, sample: bool,
) -> list[str]:  # fmt: skip
    cmd = [sys.executable, "-m", "fundradar.crawlers.runner", *sources, "--log-file", str(log_file)]
    for sid in sources:
        cmd += ["--token", f"{sid}={tokens[sid]}"]
    if fixture_server:
        cmd += ["--fixture-server", fixture_server]
    if sample:
        cmd.append("--sample")
    return cmd


def _new_token() -> str:
    return uuid.uuid4().hex[:12]


def shard(source_ids: Sequence[str], processes: int) -> list[list[str]]:
    """The sources dealt over `processes` children (at most one per source), round robin so
    that sources listed together (often one funder's) land in different processes."""
    n = max(1, min(processes, len(source_ids)))
    return [list(source_ids[k::n]) for k in range(n)]


def _run_together(
    source_ids: Sequence[str], *, fixture_server: str | None, sample: bool,
    on_done: Callable[[ChildResult], None] | None, timeout: float,
    on_progress: Callable[[dict[str, dict[str, Any]]], None] | None, processes: int = 1,
) -> RunOutcome:  # fmt: skip
    """The sources dealt over `processes` children (one reactor each, many spiders); each
    child tells (stdout, `REPORT_PREFIX`) as each of its sources finishes."""
    results = RunOutcome()
    if not source_ids:
        return results
    if _stop.is_set():
        results.not_started.extend(source_ids)
        log.warning("stop requested: not starting %s", ", ".join(source_ids))
        return results
    env_settings = app_settings.load()
    env_settings.ensure_dirs()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    tokens = {sid: _new_token() for sid in source_ids}
    events: queue.Queue[tuple[int, dict[str, Any] | None]] = queue.Queue()
    children: list[tuple[subprocess.Popen[str], list[str], Path]] = []
    for group in shard(source_ids, processes):
        label = group[0] if len(group) == 1 else f"{len(group)}-sources"
        log_file = env_settings.logs / f"crawl-{label}-{stamp}-{tokens[group[0]]}.log"
        cmd = _child_command(group, tokens, log_file, fixture_server=fixture_server,
                             sample=sample)  # fmt: skip
        cmd += ["--report", "--timeout", str(timeout)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        children.append((proc, group, log_file))

    def read(k: int, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(REPORT_PREFIX):
                try:
                    events.put((k, json.loads(line[len(REPORT_PREFIX) :])))
                except ValueError:
                    log.warning("unreadable line from the crawl process: %r", line[:200])
        events.put((k, None))  # the child closed its stdout: it has ended

    readers = [
        threading.Thread(target=read, args=(k, proc), name=f"crawl-report-{k}", daemon=True)
        for k, (proc, _group, _log) in enumerate(children)
    ]
    for reader in readers:
        reader.start()
    started = time.monotonic()
    done: set[str] = set()
    ended: set[int] = set()
    told = False
    killed: set[int] = set()
    progress: dict[int, dict[str, dict[str, Any]]] = {}
    # each child closes its sources at `timeout` itself; this is for a child that hangs anyway
    hard_limit = timeout + STOP_GRACE + 30

    def handle(k: int, event: dict[str, Any]) -> None:
        if event.get("event") == "progress" and on_progress:
            progress[k] = event.get("sources", {})
            # every child's sources, as one crawl: the bar counts them all
            on_progress({sid: p for part in progress.values() for sid, p in part.items()})
        elif event.get("event") == "done" and event.get("source") in children[k][1]:
            sid = str(event["source"])
            done.add(sid)
            result = ChildResult(sid, int(event.get("code", 1)), float(event.get("seconds", 0)),
                                 children[k][2], tokens[sid])  # fmt: skip
            results.append(result)
            if on_done:
                on_done(result)

    while len(ended) < len(children):
        try:
            k, event = events.get(timeout=0.05)
        except queue.Empty:
            k, event = -1, {}
        if event is None:
            ended.add(k)
        elif event:
            handle(k, event)
        if _stop.is_set() and not told:
            told = True  # one SIGTERM each: a child stops gracefully and ignores more
            for proc, _group, _log in children:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
        if time.monotonic() - started > hard_limit:
            for j, (proc, _group, _log) in enumerate(children):
                if j not in killed and proc.poll() is None:
                    killed.add(j)
                    proc.kill()
    for (proc, group, log_file), reader in zip(children, readers, strict=True):
        code = proc.wait()
        reader.join(5)
        for sid in group:  # the child died before telling (killed, crashed): its sources only
            if sid not in done:
                result = ChildResult(sid, code if code != 0 else 1, time.monotonic() - started,
                                     log_file, tokens[sid])  # fmt: skip
                results.append(result)
                if on_done:
                    on_done(result)
    return results


def _run_isolated(
    source_ids: Sequence[str], *, fixture_server: str | None, sample: bool, parallel: int,
    on_done: Callable[[ChildResult], None] | None, timeout: float,
) -> RunOutcome:  # fmt: skip
    """Each source in its own child (`--isolate`): a source that misbehaves (a memory leak, a
    hang in C code) cannot touch the others, at ~2 s of start-up per source."""
    env_settings = app_settings.load()
    env_settings.ensure_dirs()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    pending = list(source_ids)
    running: dict[str, tuple[subprocess.Popen[bytes], float, Path, str]] = {}
    results = RunOutcome()
    told: set[str] = set()
    while pending or running:
        if _stop.is_set() and pending:
            results.not_started.extend(pending)
            log.warning("stop requested: not starting %s", ", ".join(pending))
            pending.clear()
        while pending and len(running) < max(1, parallel):
            sid = pending.pop(0)
            token = _new_token()
            log_file = env_settings.logs / f"crawl-{sid}-{stamp}-{token}.log"
            cmd = _child_command([sid], {sid: token}, log_file, fixture_server=fixture_server,
                                 sample=sample)  # fmt: skip
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            running[sid] = (proc, time.monotonic(), log_file, token)
        time.sleep(0.05)
        for sid, (proc, started, log_file, token) in list(running.items()):
            if _stop.is_set() and sid not in told and proc.poll() is None:
                told.add(sid)  # one SIGTERM each: the child stops gracefully and ignores more
                proc.send_signal(signal.SIGTERM)
            code = proc.poll()
            if code is None and time.monotonic() - started > timeout:
                proc.kill()
                code = proc.wait()
            if code is None:
                continue
            del running[sid]
            result = ChildResult(sid, code, time.monotonic() - started, log_file, token)
            results.append(result)
            if on_done:
                on_done(result)
    return results


def _tokens(values: Sequence[str], sources: Sequence[str]) -> dict[str, str]:
    """`--token source=mark` per source; a bare `--token mark` marks every source."""
    tokens: dict[str, str] = {}
    for value in values:
        sid, sep, mark = value.partition("=")
        if sep:
            tokens[sid] = mark
        else:
            tokens.update(dict.fromkeys(sources, value))
    return tokens


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawlers.runner")
    parser.add_argument("sources", nargs="+")
    parser.add_argument("--fixture-server")
    parser.add_argument("--sample", action="store_true")
    parser.add_argument("--log-file", type=Path)
    parser.add_argument(
        "--token", action="append", default=[],
        help="SOURCE=MARK stored on that source's run (the parent's); a bare MARK marks all",
    )  # fmt: skip
    parser.add_argument("--report", action="store_true",
                        help="tell the parent on stdout as each source finishes")  # fmt: skip
    parser.add_argument("--timeout", type=float, help="seconds after which a source is closed")
    args = parser.parse_args(argv)
    return run_in_this_process(
        args.sources, fixture_server=args.fixture_server, sample=args.sample,
        log_file=args.log_file, tokens=_tokens(args.token, args.sources), report=args.report,
        timeout=args.timeout,
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
