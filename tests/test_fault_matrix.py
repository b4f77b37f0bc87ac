"""The database and process rows of issue 17's fault matrix, each a real fault:

- SQLite locked by another writer (another connection holding `BEGIN IMMEDIATE` for seconds)
  while a crawl stores its calls, and while an import stores its lines;
- a crawl process killed with SIGKILL in the middle (calls already stored, one page pending).

In each: the next run (or the run itself) completes, nothing stored before is lost, nothing is
stored twice, and what failed is told with its cause. The scenarios are functions returning a
`MatrixRow` so that bench/faults.py prints the same runs as a table; the tests assert on them
and on the details. Pages are reconstructed — not captures.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from fundradar import settings
from fundradar.crawling import crawl
from fundradar.pipeline import db
from fundradar.pipeline.importer import import_lines
from fundradar.pipeline.models import CallRow, CrawlRun
from tests.test_run_verdicts import by_source, html_source, listing, use_sources

from .conftest import REPO
from .fault_server import FaultServer, Hang, Page

LOCK_SECONDS = 3.0


@dataclass
class MatrixRow:
    """One row of the fault matrix, as bench/faults.py prints it."""

    fault: str
    runs: int = 0
    survived: bool = False
    lost: int = 0  # calls (or messages) stored/accepted before the fault and gone after
    duplicated: int = 0  # calls stored twice, or messages given twice
    said: str = ""  # what the report said: verdict and cause, or the delivery error
    notes: dict[str, object] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# helpers


def urls_by_source() -> dict[str, set[str]]:
    with db.session_scope() as s:
        out: dict[str, set[str]] = {}
        for source, url in s.execute(select(CallRow.source, CallRow.url)):
            out.setdefault(source, set()).add(url)
        return out


def stored_twice() -> int:
    """URLs stored under more than one call row (0: nothing was stored twice)."""
    with db.session_scope() as s:
        return int(
            s.scalar(
                select(func.count()).select_from(
                    select(CallRow.url).group_by(CallRow.url).having(func.count() > 1).subquery()
                )
            )
            or 0
        )


def lost_since(before: dict[str, set[str]]) -> int:
    after = urls_by_source()
    return sum(len(urls - after.get(source, set())) for source, urls in before.items())


def runs_of(source: str) -> list[CrawlRun]:
    with db.session_scope() as s:
        rows = list(
            s.scalars(select(CrawlRun).where(CrawlRun.source == source).order_by(CrawlRun.id))
        )
        s.expunge_all()
        return rows


def said(run: CrawlRun) -> str:
    return f"{run.status}: {run.cause or run.message}"


class WriteLock:
    """Another writer: a second connection holding the write lock for `seconds`, from `take()`
    on, released by a timer (or at once by `release()`). SQLite: `BEGIN IMMEDIATE` on the
    file. PostgreSQL (FUNDRADAR_TEST_DATABASE_URL): an EXCLUSIVE lock on every table a crawl
    or an import writes (reads go on, writes wait), as a long maintenance transaction would."""

    TABLES = "calls, sightings, call_changes, crawl_runs, quarantine"

    def __init__(self, url: str, seconds: float) -> None:
        self.url, self.seconds = url, seconds
        self.taken_at: float | None = None
        self.released_at: float | None = None
        self.released_wall: datetime | None = None
        self._conn: Any = None
        self._lock = threading.Lock()

    def _connect(self) -> Any:
        if self.url.startswith("sqlite:///"):
            path = self.url.removeprefix("sqlite:///")
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            conn.execute("BEGIN IMMEDIATE")
            return conn
        engine = create_engine(self.url, poolclass=NullPool)
        conn = engine.connect()
        conn.execute(text(f"LOCK TABLE {self.TABLES} IN EXCLUSIVE MODE"))
        return conn

    def take(self) -> None:
        with self._lock:
            if self._conn is not None or self.released_at is not None:
                return  # once
            conn = self._connect()
            self._conn, self.taken_at = conn, time.monotonic()
        threading.Timer(self.seconds, self.release).start()

    def release(self) -> None:
        with self._lock:
            if self._conn is None:
                return
            self._conn.rollback()
            self._conn.close()
            self._conn, self.released_at = None, time.monotonic()
            self.released_wall = datetime.now(UTC)

    @property
    def held(self) -> float:
        if self.taken_at is None or self.released_at is None:
            return 0.0
        return self.released_at - self.taken_at


@dataclass
class LockThenServe:
    """Serves `then`, but first has another writer take the database's write lock: the crawl
    that asked for the page stores its calls while the lock is held."""

    lock: WriteLock
    then: Page

    def answer(self, handler, hit: int) -> int:  # type: ignore[no-untyped-def]
        self.lock.take()
        return self.then.answer(handler, hit)


def set_defaults(folder: Path, **defaults: object) -> None:
    path = folder / "sources.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["defaults"].update(defaults)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")


# --------------------------------------------------------------------------------------------
# scenarios (also run by bench/faults.py)


def crawl_under_lock(
    fs: FaultServer, tmp_path: Path, mp: pytest.MonkeyPatch, seconds: float = LOCK_SECONDS
) -> MatrixRow:
    """Run 1 stores source A; in run 2, the moment A's and B's pages are asked for, another
    writer holds the lock for `seconds`: both crawls must wait, store, and finish ok."""
    row = MatrixRow(f"SQLite locked {seconds:g} s during a crawl")
    use_sources(tmp_path, mp, [html_source("lk_a", fs.url("/lk-a")),
                               html_source("lk_b", fs.url("/lk-b"))])  # fmt: skip
    fs.route("/lk-a", Page(listing("Lagoon", 3, first=0)))
    fs.route("/lk-b", Page(listing("Harbour", 2, first=4)))
    crawl(["lk_a"])
    before = urls_by_source()
    lock = WriteLock(settings.load().database_url, seconds)
    fs.route("/lk-a", LockThenServe(lock, Page(listing("Lagoon", 3, first=0))))
    fs.route("/lk-b", LockThenServe(lock, Page(listing("Harbour", 2, first=4))))
    got = by_source(crawl(["lk_a", "lk_b"]))
    row.runs = 2
    row.lost = lost_since(before)
    row.duplicated = stored_twice()
    stored = urls_by_source()
    last = {sid: runs_of(sid)[-1] for sid in ("lk_a", "lk_b")}
    row.survived = (
        lock.held >= seconds * 0.9
        and all(r.status == "ok" for r in last.values())
        and len(stored.get("lk_a", ())) == 3
        and len(stored.get("lk_b", ())) == 2
    )
    # SQLite's busy timeout absorbs the wait: nothing failed, so no failure to report; what
    # the run says is its verdict, and the wait is measured here
    row.said = f"{said(last['lk_b'])}; waited out a {lock.held:.1f} s lock"
    row.notes = {"summaries": got, "lock": lock, "last": last}
    return row


def import_under_lock(seconds: float = LOCK_SECONDS) -> MatrixRow:
    """An import of 4 lines, re-importing 2 stored before; after line 2 another writer holds
    the lock for `seconds`: the import waits, every line is stored, nothing lost."""
    row = MatrixRow(f"SQLite locked {seconds:g} s during an import")

    def line(n: int) -> str:
        return (
            f'{{"title": "Imported call {n}: grants for island resilience {n}", '
            f'"url": "https://funder.example.org/imported/{n}", '
            f'"deadline": "{10 + n} January 2027", "funder": "Import Fund"}}'
        )

    first = import_lines([line(1), line(2)])
    before = urls_by_source()
    lock = WriteLock(settings.load().database_url, seconds)

    def lines():  # type: ignore[no-untyped-def]
        for n in (1, 2, 3, 4):
            if n == 3:
                lock.take()  # lines 1 and 2 are done; the rest meet the lock
            yield line(n)

    started = time.monotonic()
    report = import_lines(lines())
    took = time.monotonic() - started
    row.runs = 2
    row.lost = lost_since(before)
    row.duplicated = stored_twice()
    run = runs_of("import")[-1]
    statuses = [r.status for r in report.results]
    row.survived = (
        first.counts["new"] == 2
        and run.status == "ok"
        and len(urls_by_source().get("import", ())) == 4
        and lock.held >= seconds * 0.9
        and took >= seconds * 0.9
    )
    row.said = f"{said(run)}; waited out a {lock.held:.1f} s lock"
    row.notes = {"statuses": statuses, "run": run, "took": took}
    return row


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def crawl_killed(fs: FaultServer, tmp_path: Path, mp: pytest.MonkeyPatch) -> MatrixRow:
    """Run 1 stores 3 calls. Run 2 (a real `python -m fundradar.crawlers.runner` child) stores
    2 more from its first page, then hangs on its second: SIGKILL. Run 3 completes, closes run 2
    with a cause, and every call stored by runs 1 and 2 is still there."""
    row = MatrixRow("crawl SIGKILLed mid-way")
    folder = use_sources(tmp_path, mp, [html_source("kill_me", fs.url("/k1"), fs.url("/k2"))])
    set_defaults(folder, download_timeout=60)  # the hung page outlives the kill
    fs.route("/k1", Page(listing("Reef", 3, first=8)))
    fs.route("/k2", Page(listing("Mangrove", 1, first=14)))
    crawl(["kill_me"])
    fs.route("/k1", Page(listing("Reef", 5, first=8)))  # two new calls this week
    fs.route("/k2", Hang(60))
    child = subprocess.Popen(
        [sys.executable, "-m", "fundradar.crawlers.runner", "kill_me"], cwd=REPO,
        env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait(lambda: len(urls_by_source().get("kill_me", ())) == 6, 90, "run 2's calls")
        _wait(lambda: bool(fs.times_of("/k2")), 30, "the hung page")
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    killed = runs_of("kill_me")[-1]
    stale_status = killed.status
    before = urls_by_source()
    fs.route("/k2", Page(listing("Mangrove", 1, first=14)))
    got = by_source(crawl(["kill_me"]))
    runs = runs_of("kill_me")
    row.runs = 3
    row.lost = lost_since(before)
    row.duplicated = stored_twice()
    closed = next(r for r in runs if r.id == killed.id)
    row.survived = (
        child.returncode == -signal.SIGKILL
        and stale_status == "running"
        and closed.status != "running"
        and closed.finished_at is not None
        and bool(closed.cause)
        and runs[-1].status == "ok"
        and len(urls_by_source().get("kill_me", ())) == 6
    )
    row.said = f"killed run closed as {said(closed)}; next run {said(runs[-1])}"
    row.notes = {"closed": closed, "last": runs[-1], "stale": stale_status, "got": got}
    return row


# --------------------------------------------------------------------------------------------
# tests


def test_a_crawl_waits_out_another_writers_lock_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault_server: FaultServer
) -> None:
    row = crawl_under_lock(fault_server, tmp_path, monkeypatch)
    got, lock, last = row.notes["summaries"], row.notes["lock"], row.notes["last"]
    assert isinstance(lock, WriteLock) and isinstance(got, dict) and isinstance(last, dict)
    assert lock.taken_at is not None and lock.held >= LOCK_SECONDS * 0.9  # really contended
    assert got["lk_a"].status == "ok" and got["lk_a"].calls == 3
    assert got["lk_b"].status == "ok" and got["lk_b"].calls == 2 and got["lk_b"].new == 2
    assert lock.released_wall is not None
    for run in last.values():  # the runs finished after the lock was gone: they waited
        assert run.finished_at is not None and run.cause is None
        assert run.finished_at.replace(tzinfo=UTC) >= lock.released_wall
    assert (row.lost, row.duplicated) == (0, 0)
    assert row.survived, row


def test_an_import_waits_out_another_writers_lock_and_loses_nothing() -> None:
    row = import_under_lock()
    assert row.notes["statuses"] == ["unchanged", "unchanged", "new", "new"], row.notes
    run = row.notes["run"]
    assert isinstance(run, CrawlRun) and run.status == "ok" and run.finished_at is not None
    assert (run.items_new, run.items_unchanged) == (2, 2)
    assert (row.lost, row.duplicated) == (0, 0)
    assert row.survived, row


def test_a_crawl_killed_with_sigkill_is_closed_with_a_cause_and_the_next_run_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault_server: FaultServer
) -> None:
    row = crawl_killed(fault_server, tmp_path, monkeypatch)
    closed, last = row.notes["closed"], row.notes["last"]
    assert isinstance(closed, CrawlRun) and isinstance(last, CrawlRun)
    assert row.notes["stale"] == "running"  # what SIGKILL leaves: no bookkeeping of any kind
    assert closed.status == "failed" and closed.cause == "the crawl did not finish"
    assert "process ended" in (closed.message or "")
    assert closed.finished_at is not None
    assert last.status == "ok" and last.items_seen == 6
    assert (row.lost, row.duplicated) == (0, 0)
    assert row.survived, row
