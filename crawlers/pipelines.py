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

from datetime import UTC, datetime

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from fundradar.crawlers.runlog import COVERAGE_FIELDS, RunLog
from fundradar.pipeline import db, db_safety, store
from fundradar.pipeline.dedupe import SeenInRun
from fundradar.pipeline.normalise import Rejected, badinput, normalise
from fundradar.pipeline.record import Call
from fundradar.pipeline.score import load_profile


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


class NormalisePipeline(_Stage):
    def process_item(self, item: Call) -> Call:
        if not isinstance(item, Call):
            raise DropItem(f"not a Call item: {type(item).__name__}")
        self.stats.inc_value("fundradar/items_seen")
        findings = badinput.screen(item)
        self.note_bad_input(item, findings)
        fatal = next((f for f in findings if f.fatal), None)
        if fatal is not None:
            raise self.refuse(item, fatal.reason)
        try:
            normalise(item, now=datetime.now(UTC))
        except Rejected as exc:
            raise self.refuse(item, str(exc)) from None
        except Exception as exc:  # a parser bug must cost one item, never the crawl
            self.stats.inc_value("fundradar/errors/normalise")
            raise self.refuse(item, f"normalise failed: {type(exc).__name__}: {exc}") from None
        self.note_bad_input(item, badinput.after_normalise(item))
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
    def process_item(self, item: Call) -> Call:
        session = self.runlog.open()
        profile = getattr(self.crawler, "_fundradar_profile", None)
        try:
            stored = store.store_one(
                session, item, now=datetime.now(UTC), run_id=self.runlog.run_id, profile=profile
            )  # commits per item: a crash later in the crawl loses nothing stored
        except Exception as exc:
            session.rollback()
            self.stats.inc_value("fundradar/errors/store")
            cause = db.describe(exc)
            raise self.refuse(item, f"store failed: {cause}") from None
        self.stats.inc_value(f"fundradar/stored/{stored.outcome}")
        cuts = db_safety.take_cuts(session)
        if cuts:  # stored, with the text that did not fit its column cut: said, and kept
            self.stats.inc_value("fundradar/bad_input/cut_to_column")
            self.runlog.quarantine(item, "repaired: " + "; ".join(map(str, cuts)), refused=False)
        return item
