"""Crawl orchestration shared by `fundradar crawl`, `run`, `demo` and the scheduler."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from fundradar.config.loader import load_sources
from fundradar.crawlers.runner import INTERRUPTED, ChildResult, run_children
from fundradar.exceptions import SampleDataError, UnknownSourceError
from fundradar.pipeline import db, locks
from fundradar.pipeline.models import CrawlRun

SKIPPED_STAT = "fundradar/detail_skipped_unchanged"  # crawlers.html.DetailPages.follow
REVALIDATED_STAT = "httpcache/revalidate"  # Scrapy's HttpCacheMiddleware: a 304 answered
BUSY = "busy"  # another process (here or on another server) is crawling the source


@dataclass
class CrawlSummary:
    source: str
    status: str
    calls: int
    new: int
    updated: int
    dropped: int
    requests: int
    seconds: float
    message: str
    finished_at: datetime | None
    run_id: int | None = None  # this crawl's own CrawlRun (None: it never got one)
    # thrift (issue 16): detail pages not asked for because their listing entry is unchanged,
    # and pages answered "304 Not Modified" (the cached copy revalidated, no body sent)
    skipped: int = 0
    revalidated: int = 0


def resolve_sources(ids: Sequence[str]) -> list[str]:
    sources = load_sources()
    if not ids:
        return [s.id for s in sources.enabled]
    unknown = [i for i in ids if sources.get(i) is None]
    if unknown:
        known = ", ".join(s.id for s in sources.sources)
        raise UnknownSourceError(f"unknown source {', '.join(unknown)} (known: {known})")
    return list(ids)


def run_of(source: str, token: str | None) -> CrawlRun | None:
    """The run a child crawl wrote (found by the token it was given), else the newest run of the
    source (a crawl started without a token, e.g. by hand)."""
    if not token:
        return latest_run(source)
    from fundradar.crawlers.runlog import TOKEN_STAT

    newest_first = select(CrawlRun).where(CrawlRun.source == source).order_by(CrawlRun.id.desc())
    with db.session_scope() as session:
        # almost always the newest run; the 50 newest when another crawl of the source (a
        # Scrapyd job, a run by hand) started after this one
        for limit in (1, 50):
            recent = session.scalars(newest_first.limit(limit))
            found = next((r for r in recent if (r.stats or {}).get(TOKEN_STAT) == token), None)
            if found is not None:
                return found
        return None


def latest_run(source: str) -> CrawlRun | None:
    with db.session_scope() as session:
        return session.scalars(
            select(CrawlRun).where(CrawlRun.source == source).order_by(CrawlRun.id.desc())
        ).first()


def crawl(
    ids: Sequence[str],
    *,
    fixture_server: str | None = None,
    sample: bool = False,
    on_done: Callable[[CrawlSummary], None] | None = None,
    backend: str | None = None,
    isolate: bool | None = None,
    on_progress: Callable[[dict[str, dict[str, Any]]], None] | None = None,
    processes: int | None = None,
) -> list[CrawlSummary]:
    """Crawl the sources and return one summary per source.

    The sources are dealt over `processes` child processes (default: config
    `defaults.crawl_processes`, 1), each one Scrapy reactor with a crawler per source, unless
    `isolate` (default: config `defaults.isolate`) asks for one child per source, or config
    `crawl_backend: scrapyd` (unless `backend` says otherwise; a throwaway home is crawled
    locally) sends each source to Scrapyd as a job.
    """
    ids = resolve_sources(ids)
    defaults = load_sources().defaults
    if isolate is None:
        isolate = defaults.isolate
    if processes is None:
        processes = defaults.crawl_processes
    db.init()  # migrate once here, not racing in every child
    guard_dataset(sample)
    summaries: list[CrawlSummary] = []
    # one crawl of a source at a time, across servers: its lease is held until its child ends
    claims = locks.Held()

    def done(result: ChildResult) -> None:
        claims.release(locks.crawl_lease(result.source))
        run = run_of(result.source, result.token)
        if result.interrupted and (run is None or run.status == "running"):
            # stopped before its bookkeeping could say so: the next start crawls it again
            summary = CrawlSummary(
                result.source, INTERRUPTED, 0, 0, 0, 0, 0, result.seconds,
                f"stopped by a signal (exit {result.returncode}); see {result.log_file}", None,
            )  # fmt: skip
        elif run is None or run.started_at.timestamp() < 0:
            summary = CrawlSummary(
                result.source, "failed", 0, 0, 0, 0, 0, result.seconds,
                getattr(result, "failure", None)  # a Scrapyd job's: why it left no run
                or f"crawl process exited with {result.returncode}; see {result.log_file}", None,
            )  # fmt: skip
        else:
            message = run.message or ""
            if result.returncode != 0 and run.status == "ok":
                message = f"{message}; exit code {result.returncode}".strip("; ")
            summary = CrawlSummary(
                result.source, run.status, run.items_seen - run.items_dropped, run.items_new,
                run.items_updated, run.items_dropped, run.requests, result.seconds, message,
                run.finished_at, run.id, *thrift(run.stats),
            )  # fmt: skip
        summaries.append(summary)
        if on_done:
            on_done(summary)

    try:
        mine = []
        for source in ids:
            taken, lease = claims.claim(locks.crawl_lease(source))
            if taken:
                mine.append(source)
                continue
            why = f"not crawled here: being crawled by {lease.describe()}"
            summaries.append(CrawlSummary(source, BUSY, 0, 0, 0, 0, 0, 0.0, why, None))
            if on_done:  # reported, never skipped in silence
                on_done(summaries[-1])
        if (backend or defaults.crawl_backend) == "scrapyd":
            from fundradar.crawlers.scrapyd_backend import run_jobs

            outcome = run_jobs(
                mine, url=defaults.scrapyd_url or "", project=defaults.scrapyd_project,
                fixture_server=fixture_server, sample=sample, on_done=done,
            )  # fmt: skip
        else:
            outcome = run_children(mine, fixture_server=fixture_server, sample=sample,
                                   on_done=done, isolate=isolate,
                                   on_progress=on_progress, processes=processes)  # fmt: skip
    finally:
        claims.close()
    for source in outcome.not_started:
        summary = CrawlSummary(source, INTERRUPTED, 0, 0, 0, 0, 0, 0.0,
                               "not started: the crawl was stopped", None)  # fmt: skip
        summaries.append(summary)
        if on_done:
            on_done(summary)
    after_crawl()
    return summaries


def thrift(stats: dict[str, Any] | None) -> tuple[int, int]:
    """(detail pages skipped as unchanged, pages revalidated by a 304) from a run's stats."""
    stats = stats or {}
    return (int(stats.get(SKIPPED_STAT, 0) or 0), int(stats.get(REVALIDATED_STAT, 0) or 0))


def interrupted(summaries: Sequence[CrawlSummary]) -> list[str]:
    """The sources a stop request cut short or kept from starting (crawl them again soon)."""
    return [s.source for s in summaries if s.status == INTERRUPTED]


def guard_dataset(sample: bool) -> None:
    """Never mix sample calls (demo) and real ones in one database."""
    from fundradar.demo import dataset_of, has_calls, mark_dataset
    from fundradar.settings import load

    url = load().database_url
    current = dataset_of(url)
    wanted = "sample" if sample else "live"
    if current is None and has_calls(url) and sample:
        raise SampleDataError("this database already holds calls; the demo will not add to it")
    if current not in (None, wanted):
        hint = "use another FUNDRADAR_HOME for live crawls" if sample is False else ""
        raise SampleDataError(f"this database holds {current} calls, not {wanted} ones; {hint}")
    if current is None:
        mark_dataset(url, wanted)


def after_crawl() -> None:
    """Rewrite the CSV feed so officers always open the latest calls (atomically)."""
    try:
        from fundradar.pipeline.exports.csv_feed import refresh_feed
    except ImportError:  # exports not built yet in this checkout
        return
    refresh_feed()
