"""The bookkeeping of one crawl: its `CrawlRun` row, quarantine, counts and health verdict.

One `RunLog` per crawler (`RunLog.of(crawler)`), shared by the item pipelines, so every stage
can quarantine an item against the same run, and the verdict at the end sees all the counts.
"""

from __future__ import annotations

import logging
import os
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from sqlalchemy import select
from sqlalchemy.orm import Session

from fundradar.config.loader import COVERAGE_FIELDS, HealthThresholds, load_sources
from fundradar.pipeline import db, locks, store
from fundradar.pipeline.models import CrawlRun
from fundradar.pipeline.record import Call

log = logging.getLogger("fundradar.runlog")

__all__ = ["COVERAGE_FIELDS", "TOKEN_STAT", "History", "RunFacts", "RunLog", "Verdict", "verdict"]

TOKEN_STAT = "fundradar/crawl_token"  # the mark `fundradar crawl` gives each child (runner)

STATUSES = ("ok", "unreachable", "http-error", "blocked", "empty", "degraded", "failed", "running")
UNREACHABLE_KINDS = ("dns", "refused", "timeout", "tls", "reset", "other")


# --- the verdict: a pure function of the run's stats and the source's recent runs ----------------


@dataclass(frozen=True)
class RunFacts:
    """What one crawl came to, read from Scrapy's stats (`RunFacts.from_stats`)."""

    reason: str = "finished"  # Scrapy's finish reason
    calls: int = 0  # valid calls (after quarantine)
    pages_read: int = 0  # 2xx answers, robots.txt left out
    requests: int = 0
    robots_forbidden: int = 0  # requests robots.txt disallowed
    http_errors: Mapping[int, int] = field(default_factory=dict)  # code -> pages given up on
    download_errors: Mapping[str, int] = field(default_factory=dict)  # kind -> pages never read
    redirect_hops: int = 0
    retry_after_too_long: float | None = None  # seconds a 429/503 asked, beyond our bound
    spider_exceptions: Mapping[str, int] = field(default_factory=dict)  # class -> count
    errors_logged: int = 0
    last_error: str = ""  # the technical sentence (middlewares.HealthStatsMiddleware)
    coverage: Mapping[str, float] = field(default_factory=dict)
    dropped: int = 0
    encoding_repaired: int = 0  # pages whose invalid UTF-8 was repaired (EncodingRepairMiddleware)
    entries_filtered: int = 0  # listing/feed entries read and left out by the source's keywords
    no_deadline: int = 0  # calls kept without a readable deadline ("deadline not found")

    @classmethod
    def from_stats(cls, stats: Mapping[str, Any], *, calls: int, reason: str) -> RunFacts:
        def prefixed(prefix: str) -> dict[str, int]:
            return {
                k[len(prefix) :]: int(v)
                for k, v in stats.items()
                if k.startswith(prefix) and isinstance(v, int | float)
            }

        valid = int(stats.get("fundradar/valid", 0))
        coverage = {
            f: round(int(stats.get(f"fundradar/fields/{f}", 0)) / valid, 3) if valid else 0.0
            for f in COVERAGE_FIELDS
        }
        exceptions = prefixed("spider_exceptions/")
        exceptions.pop("count", None)
        asked = stats.get("fundradar/retry_after/asked")
        return cls(
            reason=reason,
            calls=calls,
            pages_read=int(stats.get("fundradar/pages_read", 0)),
            requests=int(stats.get("downloader/request_count", 0)),
            robots_forbidden=int(stats.get("robotstxt/forbidden", 0)),
            http_errors={
                int(k): v for k, v in prefixed("fundradar/http_status/").items() if k.isdigit()
            },
            download_errors=prefixed("fundradar/download_error/"),
            redirect_hops=int(stats.get("fundradar/raw_status/3xx", 0)),
            retry_after_too_long=float(asked) if asked is not None else None,
            spider_exceptions=exceptions,
            errors_logged=int(stats.get("log_count/ERROR", 0)),
            last_error=str(stats.get("fundradar/last_error", "")),
            coverage=coverage,
            dropped=int(stats.get("fundradar/dropped", 0)),
            encoding_repaired=int(stats.get("fundradar/encoding_repaired", 0)),
            entries_filtered=int(stats.get("fundradar/listing_entries_filtered", 0)),
            no_deadline=int(stats.get("fundradar/no_deadline", 0)),
        )


@dataclass(frozen=True)
class History:
    """The source's recent finished runs, newest first (same sample flag as this run)."""

    ok_calls: Sequence[int] = ()  # calls of the last `history_runs` runs judged ok
    last_status: str | None = None  # the previous run's status (hysteresis)
    last_cause: str | None = None
    usual_coverage: Mapping[str, float] = field(default_factory=dict)  # of the last ok run


@dataclass(frozen=True)
class Verdict:
    status: str  # one of STATUSES
    cause: str | None  # an officer's words; None when ok
    message: str  # the technical detail


def _plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word if n == 1 else words or word + 's'}"


def _mb(n_bytes: float) -> str:
    return f"{n_bytes / 1_048_576:.0f} MB"


def _unread(facts: RunFacts) -> list[str]:
    """Why pages were not read, for the message of a run that still found calls."""
    out = [f"{_plural(n, 'page')} HTTP {code}" for code, n in sorted(facts.http_errors.items())]
    out += [f"{_plural(n, 'page')} {kind}" for kind, n in sorted(facts.download_errors.items())]
    return out


def verdict(facts: RunFacts, history: History, thresholds: HealthThresholds) -> Verdict:
    """ok / unreachable / http-error / blocked / empty / degraded / failed, with its cause.

    "Selectors may need repair" (empty) only when pages were actually read and gave nothing: a
    site that could not be reached, refused us or answered errors is named as such, so an
    outage is never mistaken for a quiet week.
    """
    crashed = sum(facts.spider_exceptions.values())
    crash_detail = ", ".join(f"{k} x{v}" for k, v in sorted(facts.spider_exceptions.items()))
    if facts.reason not in ("finished",):
        return Verdict(
            "failed",
            "the crawl stopped early",
            f"crawl stopped early ({facts.reason}); {facts.calls} calls kept",
        )
    detail = facts.last_error or "no detail recorded"
    if facts.calls == 0:
        if facts.pages_read == 0:
            return _nothing_read(facts, detail, crashed, crash_detail)
        if crashed:
            return Verdict(
                "failed",
                "the spider crashed",
                f"{crash_detail} on {_plural(facts.pages_read, 'page')} read; 0 calls",
            )
        if facts.entries_filtered and not facts.dropped:
            # the selectors found entries, and none announces a call (a news page's quiet
            # week): not a broken site. Weeks of this show as "possibly broken" (health.py).
            return Verdict(
                "ok",
                None,
                f"0 calls: {_plural(facts.entries_filtered, 'entry', 'entries')} read, "
                "none announcing a call (keywords)",
            )
        return Verdict(
            "empty",
            "no calls found, the site may have changed",
            f"0 calls from {_plural(facts.pages_read, 'page')} read: selectors may need repair"
            + (f" ({facts.dropped} item(s) quarantined)" if facts.dropped else ""),
        )
    return _calls_found(facts, history, thresholds, crashed, crash_detail)


def _nothing_read(facts: RunFacts, detail: str, crashed: int, crash_detail: str) -> Verdict:
    """Not a single page was read: say who stopped us."""
    if facts.robots_forbidden and not facts.http_errors and not facts.download_errors:
        return Verdict(
            "blocked",
            "blocked by robots.txt",
            f"robots.txt disallows {_plural(facts.robots_forbidden, 'start URL')}",
        )
    if 429 in facts.http_errors:
        wait = facts.retry_after_too_long
        asked = f"; it asked to wait {wait:.0f} s" if wait else ""
        return Verdict("blocked", "too many requests (429)", f"{detail}{asked}")
    if 403 in facts.http_errors:
        return Verdict("blocked", "access refused (403)", detail)
    if facts.download_errors.get("too_large"):
        return Verdict("http-error", "page too large, download cut", detail)
    if facts.http_errors:
        code = max(facts.http_errors, key=lambda c: (facts.http_errors[c], c))
        return Verdict(
            "http-error", f"error {code}", f"{detail} (after retries; {', '.join(_unread(facts))})"
        )
    if any(facts.download_errors.get(k) for k in UNREACHABLE_KINDS):
        return Verdict("unreachable", "site unreachable", detail)
    if facts.redirect_hops:
        return Verdict(
            "http-error",
            "endless redirects",
            f"{_plural(facts.redirect_hops, 'redirect')} and no page reached",
        )
    if crashed or facts.errors_logged:
        what = crash_detail or f"{_plural(facts.errors_logged, 'error')} logged"
        return Verdict("failed", "the spider crashed", f"{what}; no page read")
    if facts.requests == 0:
        return Verdict("failed", "the spider asked for no page", "no request was made")
    return Verdict("failed", "no page could be read", f"{facts.requests} requests, none read")


def _calls_found(
    facts: RunFacts, history: History, t: HealthThresholds, crashed: int, crash_detail: str
) -> Verdict:
    notes: list[str] = []
    unread = _unread(facts)
    if unread:
        notes.append("not read: " + ", ".join(unread))
    if facts.dropped:
        notes.append(f"{facts.dropped} item(s) quarantined")
    if facts.encoding_repaired:
        notes.append(f"invalid UTF-8 repaired on {_plural(facts.encoding_repaired, 'page')}")
    if facts.no_deadline:
        # kept, never dropped (issue 10), but a maintainer should see a page whose deadlines
        # stopped being read: shown in `sources list` and the run's message
        notes.append(f"{facts.no_deadline} without a readable deadline")
    was_degraded = history.last_status == "degraded"
    # hysteresis: a source that was fine needs to fall below (ratio - margin) to turn
    # degraded; a degraded one recovers only at the ratio itself
    ratio = t.min_ratio if was_degraded else max(0.0, t.min_ratio - t.margin)
    problems: list[tuple[str, str]] = []  # (cause, detail)
    if history.ok_calls:
        usual = statistics.median(history.ok_calls)
        if facts.calls < usual * ratio and usual - facts.calls >= t.min_drop:
            problems.append(
                (
                    f"far fewer calls than usual ({facts.calls} vs {usual:g})",
                    f"{facts.calls} calls, below {ratio:.0%} of the median {usual:g} of the last "
                    f"{_plural(len(history.ok_calls), 'ok run')}",
                )
            )
    for name, least in sorted(t.coverage.items()):
        share = facts.coverage.get(name, 0.0)
        limit = least if was_degraded else max(0.0, least - t.margin)
        if share < limit:
            problems.append(
                (
                    f"{name} missing on {1 - share:.0%} of calls",
                    f"{name} found on {share:.0%} of calls (at least {least:.0%} expected)",
                )
            )
    lost = [
        f for f, usual_share in history.usual_coverage.items()
        if usual_share >= 0.5 and facts.coverage.get(f, 0.0) == 0.0
    ]  # fmt: skip
    if lost:
        problems.append(
            (
                f"{', '.join(lost)} no longer found",
                "lost field(s) it used to fill: " + ", ".join(lost),
            )
        )
    if crashed:
        problems.append((f"the spider crashed on {_plural(crashed, 'page')}", crash_detail))
    if problems:
        cause = problems[0][0]
        return Verdict("degraded", cause[:120], "; ".join([d for _, d in problems] + notes))
    return Verdict("ok", None, "; ".join([f"{facts.calls} calls", *notes]))


class RunLog:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.sample = bool(crawler.settings.getbool("FUNDRADAR_SAMPLE"))
        self.started = datetime.now(UTC)
        self.session: Session | None = None
        self.run_id: int | None = None
        self.claim: locks.Held | None = None  # the run's lease (locks.run_lease)
        self.source = ""
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def of(cls, crawler: Crawler) -> RunLog:
        log = getattr(crawler, "_fundradar_runlog", None)
        if log is None:
            log = cls(crawler)
            crawler._fundradar_runlog = log  # type: ignore[attr-defined]
        return log

    # --- lifecycle ---------------------------------------------------------------------------
    def open(self) -> Session:
        if self.session is None:
            spider = self.crawler.spider
            self.source = spider.name if spider else "unknown"
            self.session = db.session_factory()()
            store.finish_stale_runs(self.session, self.source, self.started)
            run = store.start_run(self.session, self.source, now=self.started, sample=self.sample)
            token = self.crawler.settings.get("FUNDRADAR_CRAWL_TOKEN")
            if token:  # the parent's mark: `fundradar crawl` reports this run, not the newest
                run.stats = {TOKEN_STAT: token}
                self.stats.set_value(TOKEN_STAT, token)  # kept when the stats are stored
            self.session.commit()
            self.run_id = run.id
            # held while this process writes the run: no other crawl closes it as stale
            self.claim = locks.Held()
            self.claim.claim(locks.run_lease(run.id))
        return self.session

    def spider_opened(self, spider: Any) -> None:
        self.open()

    def spider_closed(self, spider: Any, reason: str) -> None:
        session = self.open()
        now = datetime.now(UTC)
        run = session.get(CrawlRun, self.run_id)
        assert run is not None
        get = self.stats.get_value
        run.finished_at = now
        run.items_seen = int(get("fundradar/items_seen", 0))
        run.items_new = int(get("fundradar/stored/new", 0))
        run.items_updated = int(get("fundradar/stored/updated", 0))
        run.items_unchanged = int(get("fundradar/stored/unchanged", 0)) + int(
            get("fundradar/stored/sighting", 0)
        )
        run.items_dropped = int(get("fundradar/dropped", 0))
        run.requests = int(get("downloader/request_count", 0))
        run.errors = int(get("log_count/ERROR", 0)) + int(get("spider_exceptions/count", 0) or 0)
        valid = int(get("fundradar/valid", 0))
        stats = self.stats.get_stats()
        facts = RunFacts.from_stats(stats, calls=valid, reason=reason)
        run.coverage = dict(facts.coverage)
        run.stats = {
            k: v for k, v in stats.items()
            if isinstance(v, int | float | str) and not k.startswith("log_count/DEBUG")
        }  # fmt: skip
        thresholds = load_sources().health_of(self.source)
        result = verdict(facts, history_of(session, run, thresholds), thresholds)
        run.status, run.cause, run.message = result.status, result.cause, result.message
        if reason == "finished" and valid > 0:
            store.mark_unlisted(session, self.source, self.started, now, run_id=self.run_id)
        session.commit()
        session.close()
        if self.claim is not None:
            self.claim.close()
        self.after_verdict()

    def after_verdict(self) -> None:
        """Tell the maintainer if the source turned failing or recovered (live crawls only)."""
        if self.sample or self.crawler.settings.get("FUNDRADAR_FIXTURE_SERVER"):
            return
        # a throwaway crawl (`sources check --live` in a temporary home) sets this to 0: its
        # fresh database has no alert state and would announce every failing source again
        if os.environ.get("FUNDRADAR_MAINTAINER_ALERTS", "1").strip() == "0":
            return
        try:
            from fundradar.alerts.maintainer import alert_after_run

            alert_after_run(self.source)
        except Exception:  # the crawl's data is stored; an alert problem must not undo that
            log.exception("maintainer alert for %s failed", self.source)

    # --- used by the pipelines -------------------------------------------------------------
    def quarantine(
        self, call: Call | None, reason: str, *, url: str | None = None, refused: bool = True
    ) -> None:
        """Keep `call` with its reason. `refused=False`: repaired and passed on, kept as evidence
        (counted as quarantined, not as dropped)."""
        session = self.open()
        payload = call.to_dict() if call is not None else None
        if payload is not None:
            payload["repaired"] = not refused
        source = call.source if call is not None else self.source
        where = url or (call.url if call is not None else None)
        store.quarantine(
            session, source=source, url=where, reason=reason, payload=payload, run_id=self.run_id
        )
        if refused:
            # a page still listed but refused this time is not a call withdrawn
            store.touch_seen(session, source, where, datetime.now(UTC))
        session.commit()
        self.stats.inc_value("fundradar/quarantined")
        if refused:
            self.stats.inc_value("fundradar/dropped")
            self.stats.inc_value(f"fundradar/dropped_reason/{reason.split(':')[0][:40]}")


def history_of(session: Session, run: CrawlRun, thresholds: HealthThresholds) -> History:
    """The source's recent finished runs before `run` (same sample flag)."""
    previous = list(
        session.scalars(
            select(CrawlRun)
            .where(CrawlRun.source == run.source, CrawlRun.id != run.id,
                   CrawlRun.finished_at.is_not(None), CrawlRun.sample == run.sample)
            .order_by(CrawlRun.id.desc())
            .limit(50)
        )
    )  # fmt: skip
    ok = [r for r in previous if r.status == "ok"]
    last = previous[0] if previous else None
    return History(
        ok_calls=[r.items_seen - r.items_dropped for r in ok[: thresholds.history_runs]],
        last_status=last.status if last else None,
        last_cause=last.cause if last else None,
        usual_coverage=dict(ok[0].coverage or {}) if ok else {},
    )
