"""The site half of the fault matrix: every site fault, survived, with what the report said.

    python bench/site_faults.py               # the matrix
    python bench/site_faults.py --reference   # also the bomb without the cap (~1 GB of RAM)

`run()` returns the rows (bench/faults.py prints them in the whole matrix); `main()` prints.

One config-only HTML source per fault, all on the misbehaving server of tests/fault_server.py
(127.0.0.1; reconstructed pages — not captures), in a temporary FUNDRADAR_HOME. Three crawls of
every source, as the scheduler would run them on three Mondays:

1. baseline: every site fine (its calls are stored);
2. the fault: each site misbehaves its own way;
3. recovery: every site fine again.

Per fault it prints: the verdict and cause of the faulty run, whether runs 2 and 3 completed,
calls lost (stored after run 1 but missing after run 3), maintainer mails duplicated (more than
one per change of state: failing, then recovered), and peak memory of the gzip bomb's crawl.
Targets: 0 lost, 0 duplicated, the fault named in the cause; the bomb's crawl under 300 MB
(the probe saw 1.2 GB). Nothing is asserted here (tests assert; benchmarks report).
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

from tests.fault_server import (  # noqa: E402
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


def faults(server: FaultServer) -> list[tuple[str, str, Any, bool]]:
    """(fault, path, behaviour during run 2, counts as a failure)."""
    dead = closed_port()
    return [
        ("gzip bomb 200 KB -> 200 MB", "/bomb", GzipBomb(200 * 2**20), True),
        ("connection refused", f"http://127.0.0.1:{dead}/refused", None, True),
        ("503 always", "/down", Fail(503), True),
        ("500 twice, then fine", "/flaky", Fail(500, times=2), False),
        ("429 Retry-After 2 s", "/patient", RetryAfter(2, times=1), False),
        ("429 Retry-After 1 h", "/greedy", RetryAfter(3600, times=None), True),
        ("slow answer (1 s)", "/slow", Slow(1.0, Page("")), False),
        ("hung answer", "/hung", Hang(30), True),
        ("reset mid-body", "/reset", ResetMidBody(), True),
        ("redirect loop", "/loop", RedirectLoop(), True),
        ("robots.txt disallow", "/robots", None, True),
        ("invalid UTF-8", "/latin", None, False),
        ("50 MB body", "/big", LargeBody(50 * 2**20), True),
        ("markup change", "/redesign", Page("<html><body><h1>Calls</h1><div>new look</div>"),
         True),
    ]  # fmt: skip


def bomb_without_cap(sid: str) -> float:
    """Peak RSS (MB) of `scrapy crawl` of the bomb with DOWNLOAD_MAXSIZE lifted to Scrapy's
    own default (1 GB): the reference the cap is measured against, in this run."""
    import subprocess

    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", sid, "-s", "DOWNLOAD_MAXSIZE=1073741824",
         "-s", "ITEM_PIPELINES={}", "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0",
         "-L", "ERROR"], cwd=REPO, capture_output=True, timeout=600, check=False,
    )  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(after, before) / 1024 if after > before else float("nan")


@dataclass
class SiteMatrix:
    """What `run` measured: one row per fault, and the figures printed under the table."""

    rows: list[Any]  # tests.test_fault_matrix.MatrixRow
    dup_rows: int
    bomb_rss_mb: float
    uncapped_mb: float | None
    seconds: float


def run(reference: bool = False) -> SiteMatrix:
    """The three crawls of every faulty source, in a temporary FUNDRADAR_HOME (removed after);
    `reference`: also the bomb without the cap."""
    home = Path(tempfile.mkdtemp(prefix="fundradar-faults-"))
    config = home / "config"
    shutil.copytree(REPO / "config", config, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    os.environ.update(FUNDRADAR_HOME=str(home / "data"), FUNDRADAR_CONFIG=str(config))
    for var in ("FUNDRADAR_DATABASE_URL", "FUNDRADAR_SMTP_HOST"):
        os.environ.pop(var, None)
    from sqlalchemy import select

    from fundradar.crawling import crawl
    from fundradar.pipeline import db
    from fundradar.pipeline.models import CrawlRun, SourceAlertState
    from tests.test_fault_matrix import MatrixRow, stored_twice, urls_by_source
    from tests.test_run_verdicts import TOPICS, html_source, listing

    main_server, robots_server = FaultServer().start(), FaultServer().start()
    rows = faults(main_server)
    data = yaml.safe_load((config / "sources.yaml").read_text(encoding="utf-8"))
    data["defaults"].update(download_delay=0, http_cache=False, download_timeout=3,
                            retry_after_max=5)  # fmt: skip
    ids: dict[str, str] = {}
    urls: dict[str, str] = {}
    for n, (fault, path, _, _) in enumerate(rows):
        sid = f"fault_{n:02d}"
        server = robots_server if path == "/robots" else main_server
        url = path if path.startswith("http") else server.url(path)
        ids[fault], urls[fault] = sid, url
        data["sources"].append(html_source(sid, url))  # the verdict tests' own source shape
    (config / "sources.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    db.reset_caches()

    def serve(stage: str) -> None:
        for n, (fault, path, during, _) in enumerate(rows):
            good = listing(ids[fault], 3, first=(n * 3) % (len(TOPICS) - 3))
            if path.startswith("http"):
                continue  # nothing listens there, in any run: baseline counts as the fault
            server = robots_server if path == "/robots" else main_server
            if stage == "fault" and path == "/robots":
                robots_server.robots("Disallow: /")
                continue
            if path == "/robots":
                robots_server.robots("Disallow:")
            if stage == "fault" and path == "/latin":
                body = good.replace(TOPICS[(n * 3) % (len(TOPICS) - 3)], "écologie")
                server.route(path, Page(body.encode("latin-1")))
            elif stage == "fault" and during is not None:
                if isinstance(during, Fail | RetryAfter) and during.times is not None:
                    during.then = Page(good)
                if isinstance(during, Slow):
                    during.then = Page(good)
                server.route(path, during)
            else:
                server.route(path, Page(good))

    # the bomb alone first: the children's peak RSS is then the bomb crawl's
    serve("fault")
    started = time.monotonic()
    crawl([ids["gzip bomb 200 KB -> 200 MB"]])
    bomb_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    uncapped_mb = bomb_without_cap(ids["gzip bomb 200 KB -> 200 MB"]) if reference else None
    with db.session_scope() as s:  # forget that run: the matrix starts from a clean baseline
        s.query(CrawlRun).delete()
        s.query(SourceAlertState).delete()
    shutil.rmtree(home / "data" / "outbox" / "maintainer", ignore_errors=True)
    results: dict[str, list[Any]] = {}
    for stage in ("baseline", "fault", "recovery"):
        serve(stage)
        for summary in crawl(list(ids.values())):
            results.setdefault(summary.source, []).append(summary)
        if stage == "baseline":
            before = urls_by_source()
    after = urls_by_source()
    dup_rows = stored_twice()
    outbox = home / "data" / "outbox" / "maintainer"
    mails = sorted(p.name for p in outbox.glob("*.eml")) if outbox.exists() else []
    seconds = time.monotonic() - started
    main_server.stop()
    robots_server.stop()

    out: list[MatrixRow] = []
    for fault, _, _, failing in rows:
        sid = ids[fault]
        runs = results.get(sid, [])
        survived = len(runs) == 3 and runs[2].status == "ok"
        lost = len(before.get(sid, set()) - after.get(sid, set()))
        sent = sum(1 for m in mails if m.startswith(f"{sid}_"))
        # a fault that makes the run fail is announced once, and its recovery once; one the
        # crawl absorbs (retries, waits, repairs) is no failure and no mail
        judged_failing = bool(runs) and len(runs) > 1 and runs[1].status != "ok"
        expected = 2 if judged_failing else 0
        if judged_failing != failing:
            survived = False  # the verdict missed the fault, or cried wolf
        if fault == "connection refused":  # down in every run: announced once, never recovers
            survived = len(runs) == 3
            expected = 1
        with db.session_scope() as s:
            run2 = s.scalars(
                select(CrawlRun).where(CrawlRun.source == sid).order_by(CrawlRun.id)
            ).all()
            said = f"{run2[1].status}: {run2[1].cause or run2[1].message}" if len(run2) > 1 else "-"
        out.append(MatrixRow(fault, len(runs), survived, lost, max(0, sent - expected), said))
    shutil.rmtree(home, ignore_errors=True)
    return SiteMatrix(out, dup_rows, bomb_rss_mb, uncapped_mb, seconds)


def main() -> int:
    result = run("--reference" in sys.argv[1:])
    print(f"{'fault':<28} {'runs':>4} {'survived':>8} {'lost':>4} {'dup':>3}  report (run 2)")
    for row in result.rows:
        print(f"{row.fault:<28} {row.runs:>4} {'yes' if row.survived else 'NO':>8} "
              f"{row.lost:>4} {row.duplicated:>3}  {row.said[:70]}")  # fmt: skip
    total_lost = sum(r.lost for r in result.rows)
    total_dup = sum(r.duplicated for r in result.rows)
    print(f"\ncalls lost: {total_lost} (target 0); maintainer mails duplicated: {total_dup} "
          f"(target 0); calls stored twice under one URL: {result.dup_rows} "
          "(target 0)")  # fmt: skip
    if result.uncapped_mb is not None:
        ref = f"reference without the cap, this run: {result.uncapped_mb:.0f} MB"
    else:
        ref = "reference not measured (--reference); the probe saw 1.2 GB without the cap"
    print(f"gzip bomb crawl, peak RSS of the child: {result.bomb_rss_mb:.0f} MB "
          f"(target < 300 MB; {ref})")  # fmt: skip
    print(f"whole matrix: {result.seconds:.0f} s for {len(result.rows)} faults x 3 runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
