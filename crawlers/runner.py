"""Run crawls, each spider in its own child process.

Twisted's reactor cannot be restarted inside one process, so the scheduler, `fundradar crawl`
and the demo never run Scrapy in their own process: they start `python -m crawlers.runner
<source>` children (at most `parallel` at a time; 2 cores here) and read the outcome from the
`crawl_runs` table, where the child's `RunLog` wrote it.

Stopping (SIGTERM from systemd goes to the whole group, the scheduler and every child):

- A child stops *gracefully* at the first SIGTERM or SIGINT and ignores the next ones (Scrapy's
  own handlers would take a second signal as "kill now" and lose the run's bookkeeping): the
  spider is closed, requests in flight get `STOP_GRACE` seconds to finish, the calls already
  stored stay stored, and its `CrawlRun` is recorded as `interrupted` (not `failed`), with how
  many calls it kept. It exits with `EXIT_INTERRUPTED`.
- The parent, once `request_stop()` was called (the scheduler's signal handler does), starts no
  further child, passes one SIGTERM to each running child (harmless if it had one already) and
  waits for them; the sources never started are returned in `RunOutcome.not_started`.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
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


def run_in_this_process(source_ids: Sequence[str], **kwargs: Any) -> int:
    """Crawl in the current process (the child's entry point; also `scrapy crawl`).

    0: every crawl finished; EXIT_INTERRUPTED: stopped by a signal (runs marked interrupted);
    1: a crawl did not finish for another reason.
    """
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "fundradar.crawlers.settings")
    settings = get_project_settings()
    settings.setdict(crawl_settings(**kwargs), priority="cmdline")
    process = CrawlerProcess(settings)
    crawlers = []
    for sid in source_ids:
        crawler = process.create_crawler(sid)
        crawlers.append(crawler)
        process.crawl(crawler)
    from twisted.internet import reactor  # only now: the one CrawlerProcess has installed

    signals_seen: list[int] = []

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
    process.start(install_signal_handlers=False)
    interrupted = [c for c in crawlers if c.stats.get_value("finish_reason") != "finished"]
    if signals_seen and interrupted:
        _mark_interrupted(interrupted, signal.Signals(signals_seen[0]).name)
        return EXIT_INTERRUPTED
    failed = [c for c in crawlers if c.stats.get_value("finish_reason") != "finished"]
    return 1 if failed else 0


def _mark_interrupted(crawlers: Sequence[Any], signame: str) -> None:
    """A crawl stopped on request is `interrupted` (caught up at the next start), not `failed`;
    the calls it stored are kept."""
    from fundradar.crawlers.runlog import RunLog
    from fundradar.pipeline import db
    from fundradar.pipeline.models import CrawlRun

    with db.session_scope() as session:
        for crawler in crawlers:
            run_id = RunLog.of(crawler).run_id
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
) -> RunOutcome:
    """Crawl each source in its own `python -m crawlers.runner` process."""
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
            token = uuid.uuid4().hex[:12]
            log_file = env_settings.logs / f"crawl-{sid}-{stamp}-{token}.log"
            cmd = [
                sys.executable,
                "-m",
                "fundradar.crawlers.runner",
                sid,
                "--log-file",
                str(log_file),
                "--token",
                token,
            ]
            if fixture_server:
                cmd += ["--fixture-server", fixture_server]
            if sample:
                cmd.append("--sample")
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawlers.runner")
    parser.add_argument("sources", nargs="+")
    parser.add_argument("--fixture-server")
    parser.add_argument("--sample", action="store_true")
    parser.add_argument("--log-file", type=Path)
    parser.add_argument("--token", help="a mark stored on this crawl's runs (the parent's)")
    args = parser.parse_args(argv)
    return run_in_this_process(
        args.sources, fixture_server=args.fixture_server, sample=args.sample,
        log_file=args.log_file, token=args.token,
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
