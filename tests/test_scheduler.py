"""The scheduler: missed runs caught up once at start (not twice), misses beyond the grace
logged, the job store in the project database, and a clean stop on SIGTERM.

No test waits for wall-clock Mondays: the job store is put in the state a missed run leaves
(a next run time in the past), or the cron line is built around the current time.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect

from alerts import scheduler as sched
from config.loader import Schedule
from pipeline import db
from tests.digest_support import add_run

UTC = dt.UTC
TZ = "America/St_Lucia"
REPO = Path(__file__).resolve().parent.parent
FUNCS = {
    sched.CRAWL_JOB: "tests.test_scheduler:record_crawl",
    sched.DIGEST_JOB: "tests.test_scheduler:record_digest",
}


def _record(kind: str) -> None:
    with open(os.environ["FUNDRADAR_TEST_RUNS"], "a", encoding="utf-8") as fh:
        fh.write(kind + "\n")


def record_crawl() -> None:
    _record("crawl")


def record_digest() -> None:
    _record("digest")


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "runs.txt"
    path.touch()
    monkeypatch.setenv("FUNDRADAR_TEST_RUNS", str(path))
    db.init()
    return path


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split()


def _wait_for(path: Path, n: int, timeout: float = 10) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(_lines(path)) >= n:
            break
        time.sleep(0.05)
    time.sleep(0.5)  # long enough for a second (wrong) run to show up too
    return _lines(path)


def _far_cron(now: dt.datetime) -> str:
    """A weekly cron line three days away from now (never due during a test)."""
    day = (now.astimezone(ZoneInfo(TZ)) + dt.timedelta(days=3)).strftime("%a").lower()
    return f"0 5 * * {day}"


def _store_missed_run(schedule: Schedule, job_id: str, missed_at: dt.datetime) -> None:
    """Leave the job store as a run missed while the machine was off would leave it.

    A first scheduler stores the jobs and stops; then the stored job's next run time is set
    in the past directly in the store (a paused scheduler would process it on shutdown).
    """
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    sched.start(schedule, funcs=FUNCS).shutdown()
    store = SQLAlchemyJobStore(engine=db.get_engine(), tablename=sched.JOBSTORE_TABLE)
    store.start(sched.build_scheduler(schedule), "default")
    job = store.lookup_job(job_id)
    assert job is not None
    job._modify(next_run_time=missed_at)
    store.update_job(job)


def test_job_store_lives_in_the_project_database(runs: Path) -> None:
    cron = _far_cron(dt.datetime.now(UTC))
    schedule = Schedule(crawl=cron, digest=cron)
    s = sched.start(schedule, funcs=FUNCS)
    try:
        jobs = sched.next_runs(s)
    finally:
        s.shutdown()
    assert set(jobs) == {sched.CRAWL_JOB, sched.DIGEST_JOB}
    assert inspect(db.get_engine()).has_table(sched.JOBSTORE_TABLE)
    # the scheduler is gone; its jobs stay in the database, with the reliability settings
    s2 = sched.build_scheduler(schedule)
    s2.start(paused=True)
    try:
        stored = s2.get_job(sched.CRAWL_JOB)
        assert stored is not None and stored.coalesce and stored.max_instances == 1
        assert stored.misfire_grace_time == 12 * 3600
    finally:
        s2.shutdown(wait=False)
    assert _lines(runs) == []


def test_missed_weekly_run_is_caught_up_once_at_start_not_twice(
    runs: Path, caplog: pytest.LogCaptureFixture
) -> None:
    now = dt.datetime.now(UTC)
    schedule = Schedule(crawl=_far_cron(now), digest=_far_cron(now), misfire_grace_hours=12)
    # the machine was off when the crawl fell due two hours ago (and a week before that)
    _store_missed_run(schedule, sched.CRAWL_JOB, now - dt.timedelta(hours=2))
    caplog.set_level(logging.INFO, logger="fundradar.scheduler")
    s = sched.start(schedule, funcs=FUNCS)
    try:
        assert _wait_for(runs, 1) == ["crawl"]
        next_crawl = s.get_job(sched.CRAWL_JOB).next_run_time
    finally:
        s.shutdown()
    assert next_crawl > now + dt.timedelta(days=2)  # on to next week's slot
    assert "was due" in caplog.text and "will run now" in caplog.text
    assert "run of weekly-crawl started" in caplog.text
    assert "run of weekly-crawl finished" in caplog.text

    # restarting does not run it again
    s = sched.start(schedule, funcs=FUNCS)
    try:
        assert _wait_for(runs, 2, timeout=1.5) == ["crawl"]
    finally:
        s.shutdown()


def test_several_missed_runs_coalesce_into_one(runs: Path) -> None:
    now = dt.datetime.now(UTC)
    # an hourly crawl that missed its last five runs: one run, not five
    minute = (now - dt.timedelta(minutes=2)).astimezone(ZoneInfo(TZ)).minute
    schedule = Schedule(crawl=f"{minute} * * * *", digest=_far_cron(now), misfire_grace_hours=12)
    _store_missed_run(schedule, sched.CRAWL_JOB, now - dt.timedelta(hours=5, minutes=2))
    s = sched.start(schedule, funcs=FUNCS)
    try:
        assert _wait_for(runs, 1) == ["crawl"]
    finally:
        s.shutdown()


def test_run_missed_beyond_the_grace_is_logged_not_run(
    runs: Path, caplog: pytest.LogCaptureFixture
) -> None:
    now = dt.datetime.now(UTC)
    schedule = Schedule(crawl=_far_cron(now), digest=_far_cron(now), misfire_grace_hours=12)
    _store_missed_run(schedule, sched.DIGEST_JOB, now - dt.timedelta(hours=30))
    caplog.set_level(logging.INFO, logger="fundradar.scheduler")
    s = sched.start(schedule, funcs=FUNCS)
    try:
        time.sleep(1.0)
    finally:
        s.shutdown()
    assert _lines(runs) == []
    assert "too late, skipped" in caplog.text
    assert "missed run of weekly-digest" in caplog.text


def test_first_start_catches_up_a_run_due_within_the_grace(runs: Path) -> None:
    """No stored job yet (first start): the run due an hour ago has not happened; run it once."""
    now = dt.datetime.now(UTC)
    local = (now - dt.timedelta(hours=1)).astimezone(ZoneInfo(TZ))
    cron = f"{local.minute} {local.hour} * * {local.strftime('%a').lower()}"
    schedule = Schedule(crawl=cron, digest=_far_cron(now), misfire_grace_hours=12)
    s = sched.start(schedule, funcs=FUNCS)
    try:
        assert _wait_for(runs, 1) == ["crawl"]
    finally:
        s.shutdown()
    s = sched.start(schedule, funcs=FUNCS)  # and a restart does not repeat it
    try:
        assert _wait_for(runs, 2, timeout=1.5) == ["crawl"]
    finally:
        s.shutdown()


def test_first_start_does_not_repeat_work_already_done(runs: Path) -> None:
    """The crawl due an hour ago already ran (e.g. `fundradar run` by hand): no catch-up."""
    now = dt.datetime.now(UTC)
    local = (now - dt.timedelta(hours=1)).astimezone(ZoneInfo(TZ))
    cron = f"{local.minute} {local.hour} * * {local.strftime('%a').lower()}"
    add_run("eu_ft", at=now - dt.timedelta(minutes=30))
    schedule = Schedule(crawl=cron, digest=_far_cron(now), misfire_grace_hours=12)
    s = sched.start(schedule, funcs=FUNCS)
    try:
        time.sleep(1.0)
    finally:
        s.shutdown()
    assert _lines(runs) == []


def test_previous_fire_time() -> None:
    trigger = sched.trigger_for("0 7 * * mon", TZ)
    now = dt.datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday
    assert sched.previous_fire_time(trigger, now) == dt.datetime(2026, 11, 23, 11, 0, tzinfo=UTC)


def test_schedule_command_stops_cleanly_on_sigterm(tmp_path: Path, fundradar_home: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    cron = _far_cron(dt.datetime.now(UTC))  # nothing falls due while the test runs
    (config / "recipients.yaml").write_text(
        f'schedule:\n  crawl: "{cron}"\n  digest: "{cron.replace("0 5", "0 7")}"\n'
        "recipients:\n  - email: dcrm@oecs.example\n",
        encoding="utf-8",
    )
    env = {**os.environ, "FUNDRADAR_CONFIG": str(config)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fundradar", "schedule"], cwd=REPO, env=env,
        stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines: list[str] = []
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if "scheduler running" in line:
                break
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    log = "".join(lines) + err
    assert proc.returncode == 0, log
    assert "scheduled weekly-crawl: next run" in log
    assert "SIGTERM received" in log and "scheduler stopped" in log
    assert (fundradar_home / "logs" / "scheduler.log").read_text().count("scheduler stopped") == 1
