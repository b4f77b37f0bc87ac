"""The maintainer's source tools: list sources with their health, check them, record fixtures.

- `check_sources()`: crawl every enabled source — offline through the fixture server, or live —
  in a *temporary* FUNDRADAR_HOME, so the maintainer's database, HTTP cache and thrift state are
  never touched and every detail page is read; then report items, usable calls (title, URL and a
  deadline or a status) and field coverage per source. A source that yields nothing fails.
- `record_source()`: crawl one source live (or from a stand-in server in tests) with the
  `RecordingMiddleware` on, saving each response into the source's sample folder
  (`fixture_server.record_folder`: crawlers/samples/<id>/ in a checkout, else
  $FUNDRADAR_HOME/samples/<id>/) with its URL and date, so reconstructed samples become captures.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, or_, select

from fundradar.config.loader import load_sources
from fundradar.crawling import CrawlSummary, crawl, latest_run, resolve_sources
from fundradar.exceptions import UnknownSourceError
from fundradar.fixture_server import FixtureServer, sample_folders
from fundradar.pipeline import db
from fundradar.pipeline.models import CallRow

# Fields shown per source in `sources check` (CrawlRun.coverage keys), with short headings.
COVERAGE_COLUMNS = (
    ("title", "title"), ("url", "url"), ("deadline", "deadline"), ("status", "status"),
    ("opens_at", "opens"), ("budget_max", "budget"), ("eligibility_text", "elig."),
    ("summary", "summary"),
)  # fmt: skip


@contextmanager
def temporary_home(keep: bool = False) -> Iterator[Path]:
    """A fresh FUNDRADAR_HOME (and SQLite database) for the block; the old one comes back after."""
    keys = ("FUNDRADAR_HOME", "FUNDRADAR_DATABASE_URL", "FUNDRADAR_MAINTAINER_ALERTS")
    saved = {k: os.environ.get(k) for k in keys}
    home = Path(tempfile.mkdtemp(prefix="fundradar-check-"))
    os.environ["FUNDRADAR_HOME"] = str(home)
    # a throwaway database has no alert state: every failing source would be announced again
    os.environ["FUNDRADAR_MAINTAINER_ALERTS"] = "0"
    # a database URL in the environment would send the check's calls into the real database
    os.environ.pop("FUNDRADAR_DATABASE_URL", None)
    db.reset_caches()
    try:
        yield home
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        db.reset_caches()
        if not keep:
            shutil.rmtree(home, ignore_errors=True)


@dataclass
class SourceCheck:
    source: str
    status: str
    items: int
    usable: int  # calls stored with a title, a URL and a deadline or a status
    requests: int
    coverage: dict[str, float] = field(default_factory=dict)
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.items > 0 and self.usable > 0


@dataclass
class CheckReport:
    live: bool
    results: list[SourceCheck]
    home: Path | None = None  # kept only when something failed (its logs explain why)

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.ok for r in self.results)


def _usable(source: str) -> int:
    with db.session_scope() as session:
        return int(
            session.scalar(
                select(func.count(CallRow.id)).where(
                    CallRow.source == source,
                    CallRow.title != "",
                    CallRow.url.like("http%"),
                    or_(CallRow.deadline.is_not(None), CallRow.status.is_not(None)),
                )
            )
            or 0
        )


def check_sources(
    ids: Sequence[str] = (),
    *,
    live: bool = False,
    on_done: Callable[[CrawlSummary], None] | None = None,
) -> CheckReport:
    ids = resolve_sources(ids)
    results: list[SourceCheck] = []
    # the samples are looked up in the real FUNDRADAR_HOME (recorded captures), not the throwaway
    folders = None if live else sample_folders()
    with temporary_home(keep=True) as home:
        if live:
            # the throwaway home's database is this machine's: no Scrapyd job writes to it
            summaries = crawl(ids, on_done=on_done, backend="local")
        else:
            with FixtureServer(folders) as server:
                summaries = crawl(
                    ids, fixture_server=server.url, sample=True, on_done=on_done,
                    backend="local",
                )  # fmt: skip
        by_id = {s.source: s for s in summaries}
        for sid in ids:
            summary = by_id.get(sid)
            run = latest_run(sid)
            results.append(
                SourceCheck(
                    source=sid,
                    status=summary.status if summary else "failed",
                    items=summary.calls if summary else 0,
                    usable=_usable(sid),
                    requests=summary.requests if summary else 0,
                    coverage=dict(run.coverage or {}) if run else {},
                    message=summary.message if summary else "not crawled",
                )
            )
    report = CheckReport(live=live, results=results)
    if report.ok:
        shutil.rmtree(home, ignore_errors=True)
    else:
        report.home = home
    return report


@dataclass
class RecordReport:
    source: str
    folder: Path
    responses: int
    status: str


def record_source(
    source_id: str, *, output: Path | None = None, fixture_server: str | None = None
) -> RecordReport:
    """Crawl one source and save its responses as samples (live unless `fixture_server`)."""
    import json

    from fundradar.fixture_server import record_folder

    source = load_sources().get(source_id)
    if source is None:
        known = ", ".join(s.id for s in load_sources().sources)
        raise UnknownSourceError(f"unknown source {source_id} (known: {known})")
    folder = (output or record_folder(source_id)).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    saved = os.environ.get("FUNDRADAR_RECORD_DIR")
    os.environ["FUNDRADAR_RECORD_DIR"] = str(folder)  # reaches the crawl's child process
    try:
        # a temporary home: an empty database, so thrift skips nothing and every page is saved
        with temporary_home():
            summaries = crawl([source_id], fixture_server=fixture_server, backend="local")
    finally:
        if saved is None:
            os.environ.pop("FUNDRADAR_RECORD_DIR", None)
        else:
            os.environ["FUNDRADAR_RECORD_DIR"] = saved
    index = folder / "index.json"
    count = 0
    if index.is_file():
        data = json.loads(index.read_text(encoding="utf-8"))
        count = len(data.get("responses", [])) if data.get("origin") == "capture" else 0
    status = summaries[0].status if summaries else "failed"
    return RecordReport(source_id, folder, count, status)
