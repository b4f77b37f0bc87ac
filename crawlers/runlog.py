"""The bookkeeping of one crawl: its `CrawlRun` row, quarantine, counts and health verdict.

One `RunLog` per crawler (`RunLog.of(crawler)`), shared by the item pipelines, so every stage
can quarantine an item against the same run, and the verdict at the end sees all the counts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline import db, store
from pipeline.models import CrawlRun
from pipeline.record import Call

COVERAGE_FIELDS = (
    "title", "url", "summary", "deadline", "opens_at", "status", "budget_max", "programme",
    "language", "eligibility_text", "source_ref",
)  # fmt: skip


class RunLog:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.sample = bool(crawler.settings.getbool("FUNDRADAR_SAMPLE"))
        self.started = datetime.now(UTC)
        self.session: Session | None = None
        self.run_id: int | None = None
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
            self.session.commit()
            self.run_id = run.id
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
        run.coverage = {
            f: round(int(get(f"fundradar/fields/{f}", 0)) / valid, 3) if valid else 0.0
            for f in COVERAGE_FIELDS
        }
        run.stats = {
            k: v for k, v in self.stats.get_stats().items()
            if isinstance(v, int | float | str) and not k.startswith("log_count/DEBUG")
        }  # fmt: skip
        run.status, run.message = self.verdict(session, run, reason, valid)
        if reason == "finished" and valid > 0:
            store.mark_unlisted(session, self.source, self.started, now, run_id=self.run_id)
        session.commit()
        session.close()

    def verdict(self, session: Session, run: CrawlRun, reason: str, valid: int) -> tuple[str, str]:
        """ok / empty / degraded / failed, with a sentence for the health report."""
        if reason != "finished":
            return "failed", f"crawl stopped early ({reason})"
        if valid == 0:
            if run.requests == 0:
                return "failed", "no page could be fetched"
            return "empty", f"0 calls from {run.requests} requests: selectors may need repair"
        previous = session.scalars(
            select(CrawlRun)
            .where(CrawlRun.source == run.source, CrawlRun.status.in_(("ok", "degraded")),
                   CrawlRun.id != run.id)
            .order_by(CrawlRun.id.desc())
        ).first()  # fmt: skip
        problems: list[str] = []
        if previous and previous.coverage:
            lost = [
                f for f, share in previous.coverage.items()
                if share >= 0.5 and run.coverage.get(f, 0.0) == 0.0
            ]  # fmt: skip
            if lost:
                problems.append("lost field(s) it used to fill: " + ", ".join(lost))
        if run.items_dropped:
            problems.append(f"{run.items_dropped} item(s) quarantined")
        if run.errors:
            problems.append(f"{run.errors} error(s) logged")
        if any(p.startswith("lost") for p in problems):
            return "degraded", "; ".join(problems)
        return "ok", "; ".join(problems) or f"{valid} calls"

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
