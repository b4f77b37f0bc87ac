"""Run crawls, each spider in its own child process.

Twisted's reactor cannot be restarted inside one process, so the scheduler, `fundradar crawl`
and the demo never run Scrapy in their own process: they start `python -m crawlers.runner
<source>` children (at most `parallel` at a time; 2 cores here) and read the outcome from the
`crawl_runs` table, where the child's `RunLog` wrote it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fundradar import settings as app_settings


def crawl_settings(
    *, fixture_server: str | None = None, sample: bool = False, log_file: Path | None = None
) -> dict[str, Any]:
    """Overrides on top of crawlers/settings.py for one child crawl."""
    from config.loader import load_sources

    env = app_settings.load()
    defaults = load_sources().defaults
    overrides: dict[str, Any] = {
        "HTTPCACHE_DIR": str(env.home / "httpcache"),
        "HTTPCACHE_ENABLED": defaults.http_cache and not fixture_server,
        "DOWNLOAD_DELAY": defaults.download_delay,
        "CONCURRENT_REQUESTS_PER_DOMAIN": defaults.concurrent_per_domain,
        "FUNDRADAR_SAMPLE": sample,
        "DOWNLOAD_TIMEOUT": defaults.download_timeout,
        "FUNDRADAR_RETRY_AFTER_MAX": defaults.retry_after_max,
    }
    if fixture_server:
        # bundled pages on 127.0.0.1: no reason to wait between requests
        overrides.update(
            FUNDRADAR_FIXTURE_SERVER=fixture_server,
            DOWNLOAD_DELAY=0,
            AUTOTHROTTLE_ENABLED=False,
            RETRY_ENABLED=False,
        )
    if log_file:
        overrides.update(LOG_FILE=str(log_file), LOG_FILE_APPEND=True)
    return overrides


def run_in_this_process(source_ids: Sequence[str], **kwargs: Any) -> int:
    """Crawl in the current process (the child's entry point; also `scrapy crawl`)."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawlers.settings")
    settings = get_project_settings()
    settings.setdict(crawl_settings(**kwargs), priority="cmdline")
    process = CrawlerProcess(settings)
    crawlers = []
    for sid in source_ids:
        crawler = process.create_crawler(sid)
        crawlers.append(crawler)
        process.crawl(crawler)
    process.start()
    failed = [c for c in crawlers if c.stats.get_value("finish_reason") != "finished"]
    return 1 if failed else 0


@dataclass
class ChildResult:
    source: str
    returncode: int
    seconds: float
    log_file: Path


def run_children(
    source_ids: Sequence[str],
    *,
    fixture_server: str | None = None,
    sample: bool = False,
    parallel: int = 2,
    on_done: Callable[[ChildResult], None] | None = None,
    timeout: float = 3600,
) -> list[ChildResult]:
    """Crawl each source in its own `python -m crawlers.runner` process."""
    env_settings = app_settings.load()
    env_settings.ensure_dirs()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    pending = list(source_ids)
    running: dict[str, tuple[subprocess.Popen[bytes], float, Path]] = {}
    results: list[ChildResult] = []
    while pending or running:
        while pending and len(running) < max(1, parallel):
            sid = pending.pop(0)
            log_file = env_settings.logs / f"crawl-{sid}-{stamp}.log"
            cmd = [sys.executable, "-m", "crawlers.runner", sid, "--log-file", str(log_file)]
            if fixture_server:
                cmd += ["--fixture-server", fixture_server]
            if sample:
                cmd.append("--sample")
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            running[sid] = (proc, time.monotonic(), log_file)
        time.sleep(0.05)
        for sid, (proc, started, log_file) in list(running.items()):
            code = proc.poll()
            if code is None and time.monotonic() - started > timeout:
                proc.kill()
                code = proc.wait()
            if code is None:
                continue
            del running[sid]
            result = ChildResult(sid, code, time.monotonic() - started, log_file)
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
    args = parser.parse_args(argv)
    return run_in_this_process(
        args.sources, fixture_server=args.fixture_server, sample=args.sample,
        log_file=args.log_file,
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
