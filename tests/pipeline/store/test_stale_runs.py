"""finish_stale_runs closes only the runs nobody writes any more (issue 11 item 4): a 'running'
run whose process still holds its lease (here or on another server) is left alone."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from sqlalchemy import update

from fundradar.pipeline import db, locks, store
from fundradar.pipeline.models import CrawlRun, Lease

UTC = dt.UTC
NOW = dt.datetime(2026, 12, 7, 5, 0, tzinfo=UTC)


def _running(source: str = "eu_ft") -> int:
    with db.session_scope() as s:
        return store.start_run(s, source, now=NOW).id


def _status() -> dict[int, str]:
    with db.session_scope() as s:
        return {r.id: r.status for r in s.query(CrawlRun)}


def test_a_run_whose_writer_holds_its_lease_is_not_closed_others_are() -> None:
    alive, expired, no_lease, elsewhere = (_running() for _ in range(4))
    other_source = _running("afd")
    with locks.Held(ttl=30) as writer:  # a crawl still writing (this machine)
        assert writer.claim(locks.run_lease(alive))[0]
        # a crawl that died on another server: its lease ran out, nobody renewed it
        assert locks.acquire(locks.run_lease(expired), holder="srv-b:41:aa", ttl=0.05)[0]
        # a crawl still writing on another server (its PID means nothing here)
        assert locks.acquire(locks.run_lease(elsewhere), holder="srv-b:42:bb", ttl=30)[0]
        with db.session_scope() as s:
            s.execute(update(Lease).where(Lease.holder.like("srv-b:%")).values(node="srv-b"))
        time.sleep(0.1)
        with db.session_scope() as s:
            closed = store.finish_stale_runs(s, "eu_ft", NOW + dt.timedelta(hours=1))
        assert sorted(closed) == sorted([expired, no_lease])
        assert _status() == {alive: "running", expired: "failed", no_lease: "failed",
                             elsewhere: "running", other_source: "running"}  # fmt: skip
    # the writer has finished (released): its run is no one's now, and the next crawl closes it
    with db.session_scope() as s:
        assert store.finish_stale_runs(s, "eu_ft", NOW + dt.timedelta(hours=2)) == [alive]


def test_a_run_whose_process_died_on_this_machine_is_closed_at_once() -> None:
    import subprocess
    import sys

    run = _running()
    code = (
        "import os, sys\nfrom fundradar.pipeline import locks\n"
        f"h = locks.Held(ttl=30)\nh.claim(locks.run_lease({run}))\n"
        "os.kill(os.getpid(), 9)\n"
    )
    repo = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=repo)  # fmt: skip
    assert done.returncode == -9, done.stderr
    with db.session_scope() as s:
        assert s.get_one(Lease, locks.run_lease(run)).expires_at > locks.db_now(s)
        assert store.finish_stale_runs(s, "eu_ft", NOW + dt.timedelta(hours=1)) == [run]
    assert _status()[run] == "failed"
