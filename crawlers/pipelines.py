"""The item pipeline: thin Scrapy wrappers over the plain functions in `pipeline/`.

Order (see ITEM_PIPELINES in settings.py), and why:
  100 Normalise  first: every later stage reads typed dates, clean text and canonical URLs.
  200 Validate   checks the item contract and counts field coverage (a crawl statistic), so a
                 source that silently loses a field shows up in its health.
  300 Dedupe     drops the second copy of a call within this crawl before it costs a score.
  400 Score      a pass-through kept for the order's sake: the score belongs to the *merged*
                 call (all its pages, every language), so Store computes it after the merge.
  500 Store      last: writes only what passed every stage; idempotent upsert, merge of the
                 call's pages, score, change log (`pipeline.store`).

A call without a deadline is kept (deadline_kind "not_found" — "check the page" — or
"rolling") and counted as `fundradar/no_deadline`; only items that break the contract for real
(no title, no http(s) URL, naive datetimes, an unknown status) are refused.

A refused item is quarantined with its reason (never silently lost) and dropped with a
`DropItem` message that names it. Bad input that can be repaired
(`pipeline.normalise.badinput`: huge or mis-encoded text, scripts, impossible dates) is
repaired, counted as `fundradar/bad_input/<kind>` and kept in quarantine as evidence, and the
call goes on to be stored.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from fundradar.crawlers import pipeline_thread
from fundradar.crawlers.runlog import COVERAGE_FIELDS, RunLog
from fundradar.pipeline import db
from fundradar.pipeline.dedupe import SeenInRun
from fundradar.pipeline.normalise import Rejected, badinput, normalise
from fundradar.pipeline.record import Call
from fundradar.pipeline.score import load_profile
from fundradar.pipeline.store import batch
from fundradar.pipeline.store.batch import BatchStore


def _name(item: Call) -> str:
    return f"{item.source} {item.source_ref or item.url!s}"[:160]


class _Stage:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.runlog = RunLog.of(crawler)
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler):  # type: ignore[no-untyped-def]
        return cls(crawler)

    def refuse(self, item: Call, reason: str) -> DropItem:
        self.runlog.quarantine(item, reason)
        return DropItem(f"{_name(item)}: {reason}")

    def note_bad_input(self, item: Call, findings: list[badinput.Finding]) -> None:
        """Count each finding; keep the repaired ones as evidence (the fatal one is refused)."""
        for f in findings:
            self.stats.inc_value(f"fundradar/bad_input/{f.kind}")
            if not f.fatal:
                self.runlog.quarantine(item, f.reason, refused=False)


@dataclass
class _Normalised:
    """What normalising one item found (made on the pipeline thread, reported on the reactor's)."""

    findings: list[badinput.Finding]
    refusal: str | None = None  # why the item is refused, if it is
    crashed: bool = False  # the refusal is a parser bug, not bad input
    after: list[badinput.Finding] = field(default_factory=list)


def _normalise(item: Call) -> _Normalised:
    findings = badinput.screen(item)
    fatal = next((f for f in findings if f.fatal), None)
    if fatal is not None:
        return _Normalised(findings, fatal.reason)
    try:
        normalise(item, now=datetime.now(UTC))
    except Rejected as exc:
        return _Normalised(findings, str(exc))
    except Exception as exc:  # a parser bug must cost one item, never the crawl
        return _Normalised(findings, f"normalise failed: {type(exc).__name__}: {exc}", True)
    return _Normalised(findings, after=badinput.after_normalise(item))


class NormalisePipeline(_Stage):
    async def process_item(self, item: Call) -> Call:
        if not isinstance(item, Call):
            raise DropItem(f"not a Call item: {type(item).__name__}")
        self.stats.inc_value("fundradar/items_seen")
        done = await pipeline_thread.run(_normalise, item)
        self.note_bad_input(item, done.findings)
        if done.crashed:
            self.stats.inc_value("fundradar/errors/normalise")
        if done.refusal is not None:
            raise self.refuse(item, done.refusal)
        self.note_bad_input(item, done.after)
        return item


class ValidatePipeline(_Stage):
    def process_item(self, item: Call) -> Call:
        problems = validate(item)
        if problems:
            raise self.refuse(item, "invalid: " + "; ".join(problems))
        self.stats.inc_value("fundradar/valid")
        if lacks_deadline(item):
            self.stats.inc_value("fundradar/no_deadline")
        for f in COVERAGE_FIELDS:
            if getattr(item, f, None) not in (None, "", []):
                self.stats.inc_value(f"fundradar/fields/{f}")
        return item


MAX_URL = 2000  # the url columns' length (pipeline.models)


def validate(call: Call) -> list[str]:
    """The item contract every stored call meets. Returns the broken rules (empty: valid)."""
    problems = []
    if not call.title:
        problems.append("no title")
    if not call.url or not call.url.startswith(("http://", "https://")):
        problems.append("no http(s) url")
    elif len(call.url) > MAX_URL:  # a link cut to fit its column would lead nowhere
        problems.append(f"url of {len(call.url)} characters (at most {MAX_URL} can be stored)")
    if call.status not in (None, "forthcoming", "open", "closed"):
        problems.append(f"unknown status {call.status!r}")
    for d in [*call.deadlines, call.opens_at]:
        if d is not None and d.tzinfo is None:
            problems.append("naive datetime")
            break
    return problems


def lacks_deadline(call: Call) -> bool:
    """No deadline to show: stored as "deadline not found — check the page", and counted."""
    return not call.deadlines and call.deadline is None and call.deadline_kind != "rolling"


class DedupePipeline(_Stage):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.seen = SeenInRun()

    def process_item(self, item: Call) -> Call:
        if not self.seen.first_time(item):
            self.stats.inc_value("fundradar/duplicates_in_run")
            raise DropItem(f"{_name(item)}: duplicate within this crawl")
        return item


class ScorePipeline(_Stage):
    """Loads the profile once per crawl (a bad profile stops the crawl before any page); the
    scoring itself happens in Store, on the merged call."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.profile = load_profile()
        crawler._fundradar_profile = self.profile  # type: ignore[attr-defined]

    def process_item(self, item: Call) -> Call:
        return item


class StorePipeline(_Stage):
    """New calls are written in batches (`pipeline.store.batch`: every 100 items or second, and
    when the spider closes, before the run's verdict), with one `BatchStore` for every spider
    of the process; calls already stored are merged at once. A crash loses at most the batch
    not yet written, whose pages the next crawl fetches again. Outcomes are counted when
    written, so `fundradar/stored/*` never runs ahead of the database.

    The look-ups, scoring and writes run on the process's pipeline thread (`pipeline_thread`),
    as Normalise's work does, so the reactor sends the next requests meanwhile."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.batch: BatchStore | None = None  # used on the pipeline thread only
        self._timer: Any = None
        self._ticking = False

    def _start(self) -> None:
        """The 1 s flush timer. It needs the crawl's reactor: never install one here (a test
        driving the stages by hand has none, and closes the spider itself)."""
        if self._timer is None and "twisted.internet.reactor" in sys.modules:
            from twisted.internet import task

            self._timer = task.LoopingCall(self._tick)
            self._timer.start(batch.BATCH_SECONDS, now=False)

    def _store(self) -> BatchStore:  # on the pipeline thread, which owns the batch's session
        if self.batch is None:
            self.batch = batch.shared(profile=getattr(self.crawler, "_fundradar_profile", None))
        return self.batch

    def _add(self, item: Call, run_id: int | None) -> list[batch.Written]:
        store_ = self._store()
        try:
            return store_.add(item, now=datetime.now(UTC), run_id=run_id, tag=self)
        except Exception as exc:  # the look-up itself failed (database gone, disk full)
            store_.session.rollback()
            return [batch.Written(item, None, exc, tag=self)]

    async def process_item(self, item: Call) -> Call:
        self.runlog.open()  # the run exists before any of its calls is stored
        self._start()
        written = await pipeline_thread.run(self._add, item, self.runlog.run_id)
        self._report(written)
        failed = next((w for w in written if w.call is item and w.stored is None), None)
        if failed is not None:  # quarantined with its cause by _report
            cause = db.describe(failed.error) if failed.error is not None else "no cause recorded"
            raise DropItem(f"{_name(item)}: store failed: {cause}")
        return item

    def _flush_if_due(self) -> list[batch.Written]:
        if self.batch is None or not self.batch.due():
            return []
        return self.batch.flush()

    def _tick(self) -> None:
        if self._ticking:  # the last tick's flush is still being written
            return
        self._ticking = pipeline_thread.submit(self._flush_if_due, self._ticked)

    def _ticked(self, flushed: asyncio.Future[list[batch.Written]]) -> None:
        self._ticking = False  # first: a flush that raised must not stop the next ones
        self._report(flushed.result())  # raises that error here, where the loop logs it

    def _close(self) -> list[batch.Written]:
        if self.batch is None:
            return []
        written = self.batch.flush()
        batch.release(self.batch)
        self.batch = None
        return written

    async def close_spider(self) -> None:
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self._report(await pipeline_thread.run(self._close))

    def _report(self, written: list[batch.Written]) -> None:
        for w in written:
            stage = w.tag if isinstance(w.tag, StorePipeline) else self
            stage._counted(w)

    def _counted(self, w: batch.Written) -> None:
        if w.stored is None:
            self.stats.inc_value("fundradar/errors/store")
            cause = db.describe(w.error) if w.error is not None else "no cause recorded"
            self.runlog.quarantine(w.call, f"store failed: {cause}")
            return
        self.stats.inc_value(f"fundradar/stored/{w.stored.outcome}")
        if w.cuts:  # stored, with the text that did not fit its column cut: said, and kept
            self.stats.inc_value("fundradar/bad_input/cut_to_column")
            self.runlog.quarantine(w.call, "repaired: " + "; ".join(map(str, w.cuts)),
                                   refused=False)  # fmt: skip
