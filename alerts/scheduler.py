"""The weekly schedule: APScheduler 3.x with its job store in the project database.

Two cron jobs from `recipients.yaml` `schedule:` (default Monday 05:00 crawl, Monday 07:00
digest, America/St_Lucia). What makes a weekly job dependable:

- **Persistent job store** (`SQLAlchemyJobStore`, table `apscheduler_jobs` in the project
  database): the next run time survives a restart, so a run that fell due while the machine
  was off is known at the next start.
- **Misfire grace in hours** (`misfire_grace_hours`, default 12): a run late because the
  machine was busy or restarting still runs; one later than that is logged as missed.
- **coalesce**: several missed run times become one run, never a burst.
- **max_instances=1**: a crawl still running when the next is due is not started twice.
- **Catch-up at first start**: with no stored job yet (first start, or the cron line was
  changed), the previous run time is used as the first run time when it is within the grace
  and its work is not done (no crawl since then / the week's digest not sent to everyone),
  so APScheduler runs it once at start through the same misfire rules.
- The digest job waits for a crawl that is still running (one lock in the process, and the
  crawl leases in the database for a crawl another server runs), and each crawl runs in
  child processes (`fundradar.crawling.crawl`), since Scrapy's reactor cannot restart.
- **Two servers, one database**: both schedulers may run a job. The work itself is claimed
  in the database (`pipeline.locks`): a source being crawled elsewhere is reported `busy`
  and skipped here; a digest being sent elsewhere (`DigestBusyError`) is looked at again
  once that sender's lease would have expired (state `elsewhere`): it has finished, or it
  died and this scheduler sends to whoever it did not reach.
- **Each job records its own state** in the `meta` table (`scheduler:<job id>`: running,
  done, interrupted, incomplete), so a run cut short is known at the next start whatever the
  job store says (APScheduler has already moved the job to next week when it started it):
  an *interrupted crawl* (SIGTERM, SIGKILL, power cut) is run again at once; an *interrupted
  digest* of the current ISO week is resumed (the recipients not yet sent get it, the others
  nothing); one of an earlier week is not sent late but reported once as missed, naming who
  did not get it (their calls come in this week's digest as new).
- **A digest owed this week** (its time passed, the week's crawl before it ran, not everyone
  has it: e.g. the scheduler was stopped between the crawl and the digest for longer than the
  grace) is sent at the next start, within the same ISO week.
- **Stopping** (`request_stop()`, called on SIGTERM): a running crawl's children stop
  gracefully and their runs are `interrupted`; a running digest stops between two recipients
  and leaves the rest pending; both are caught up at the next start.
- Every run, failure and missed run is logged (`fundradar.scheduler`).

Job functions are referenced by name (`alerts.scheduler:crawl_job`) because the SQLAlchemy
job store pickles jobs; tests pass their own functions the same way.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    JobEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine, select

from fundradar.config.loader import Schedule

log = logging.getLogger("fundradar.scheduler")

CRAWL_JOB = "weekly-crawl"
DIGEST_JOB = "weekly-digest"
RETRY_JOB = "weekly-digest-retry"
# pauses before the digest is tried again when some recipients were left (relay down ...)
RETRY_AFTER = (timedelta(minutes=30), timedelta(hours=1), timedelta(hours=2), timedelta(hours=4),
               timedelta(hours=8))  # fmt: skip
JOBSTORE_TABLE = "apscheduler_jobs"
DEFAULT_FUNCS = {
    CRAWL_JOB: "fundradar.alerts.scheduler:crawl_job",
    DIGEST_JOB: "fundradar.alerts.scheduler:digest_job",
}

# the crawl and the digest never overlap: a digest due while the crawl runs waits for it
_work_lock = threading.Lock()
# set on SIGTERM: running jobs wind down, the next start catches up what they left
_stopping = threading.Event()

# seconds between two looks at a crawl running elsewhere that the digest waits for
CRAWL_POLL_SECONDS = 5.0

STATE_PREFIX = "scheduler:"
UNFINISHED = ("running", "interrupted", "incomplete")


def request_stop() -> None:
    """Ask running jobs to stop gracefully (crawl children checkpoint, the digest pauses)."""
    from fundradar.crawlers.runner import request_stop as stop_crawls

    _stopping.set()
    stop_crawls()


def stop_requested() -> bool:
    return _stopping.is_set()


# --------------------------------------------------------------------------------------------
# Job state (meta table): what the last run of each job got to


def read_state(job_id: str) -> dict[str, Any]:
    from fundradar.pipeline import db
    from fundradar.pipeline.models import Meta

    with db.session_scope() as s:
        row = s.get(Meta, STATE_PREFIX + job_id)
        if row is None:
            return {}
        try:
            value = json.loads(row.value)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


def write_state(job_id: str, **fields: Any) -> None:
    """Replace the job's state; never lets a bookkeeping error stop the job itself."""
    from fundradar.pipeline import db
    from fundradar.pipeline.models import Meta

    fields.setdefault("at", datetime.now(UTC).isoformat())
    try:
        with db.session_scope() as s:
            row = s.get(Meta, STATE_PREFIX + job_id)
            value = json.dumps(fields, ensure_ascii=False, sort_keys=True)
            if row is None:
                s.add(Meta(key=STATE_PREFIX + job_id, value=value))
            else:
                row.value = value
    except Exception as exc:
        log.error("cannot record the state of %s (%s): %s", job_id, fields.get("state"), exc)


# --------------------------------------------------------------------------------------------
# The jobs


def crawl_job() -> None:
    """Crawl every enabled source, each in a child process."""
    # the lock first, before any slow import: when a crawl and a digest are both caught up at
    # start, the crawl (submitted first) takes it and the digest waits for fresh calls
    with _work_lock:
        from fundradar.crawling import BUSY, crawl, interrupted

        if _stopping.is_set():  # due as fundradar stops: the next start runs it
            write_state(CRAWL_JOB, state="interrupted", note="fell due while stopping")
            return
        write_state(CRAWL_JOB, state="running", started=datetime.now(UTC).isoformat())
        try:
            summaries = crawl([])
        except BaseException as exc:
            write_state(CRAWL_JOB, state="failed", note=f"{type(exc).__name__}: {exc}")
            raise
        cut = interrupted(summaries)
        elsewhere = [s for s in summaries if s.status == BUSY]
        if cut or _stopping.is_set():
            write_state(
                CRAWL_JOB,
                state="interrupted",
                note=f"stopped before finishing {', '.join(cut) or 'the crawl'}",
            )
            log.warning("crawl interrupted (%s); it runs again at the next start",
                        ", ".join(cut) or "stop requested")  # fmt: skip
        elif elsewhere:  # another scheduler (another server) is crawling those right now
            write_state(CRAWL_JOB, state="done", note="crawled by another process: " + ", ".join(
                s.source for s in elsewhere))  # fmt: skip
        else:
            write_state(CRAWL_JOB, state="done")
        if not _stopping.is_set():  # new high-band calls to instant subscribers, at once
            from fundradar.alerts.instant import after_crawl

            after_crawl(echo=log.info)
    bad = [s for s in summaries if s.status in ("failed", "empty", "interrupted", BUSY)]
    for s in summaries:
        level = logging.WARNING if s in bad else logging.INFO
        log.log(level, "crawl %s: %s, %d calls (%d new, %d updated) %s", s.source, s.status,
                s.calls, s.new, s.updated, s.message)  # fmt: skip
    if bad:
        log.warning("crawl finished with problems in %s", ", ".join(s.source for s in bad))


def digest_job() -> None:
    """Send this week's digest to whoever has not had it."""
    from fundradar.alerts.compose import iso_week
    from fundradar.alerts.send import send_digest
    from fundradar.config.loader import load_recipients
    from fundradar.exceptions import DigestBusyError, SampleDataError

    with _work_lock:
        _wait_for_crawls()
        week = iso_week(datetime.now(UTC), load_recipients().schedule.timezone)
        before = read_state(DIGEST_JOB)
        tries = int(before.get("tries") or 0) if before.get("week") == week else 0
        if _stopping.is_set():  # due as fundradar stops: the next start sends it
            write_state(DIGEST_JOB, state="incomplete", week=week, tries=tries,
                        note="fell due while stopping")  # fmt: skip
            return
        write_state(DIGEST_JOB, state="running", week=week, tries=tries)
        try:
            report = send_digest(echo=log.info, stop=_stopping.is_set)
        except SampleDataError as exc:  # never mail sample calls from the scheduler
            write_state(DIGEST_JOB, state="refused", week=week, note=str(exc))
            log.error("digest not sent: %s", exc)
            return
        except DigestBusyError as exc:  # another process (another server) is sending it now
            retry = _retry_after_holder(week)
            write_state(DIGEST_JOB, state="elsewhere", week=week, tries=tries, note=str(exc),
                        retry=retry.isoformat() if retry else None)  # fmt: skip
            log.warning("digest %s not sent by this scheduler: %s", week, exc)
            return
        except BaseException as exc:
            write_state(DIGEST_JOB, state="incomplete", week=week,
                        note=f"{type(exc).__name__}: {exc}")  # fmt: skip
            raise
        left = [r.recipient for r in report.results if r.status in ("pending", "failed")]
        if left:
            tries += 1
            retry = _schedule_retry(report.week, tries)
            write_state(DIGEST_JOB, state="incomplete", week=report.week, tries=tries,
                        retry=retry.isoformat() if retry else None,
                        note=f"not delivered to {', '.join(left)}")  # fmt: skip
        else:
            write_state(DIGEST_JOB, state="done", week=report.week)
    for problem in report.problems:
        log.error("digest %s: %s", report.week, problem)
    if not report.ok:
        failed = [r.recipient for r in report.results if r.status in ("failed", "pending")]
        log.error("digest %s not delivered to %s", report.week, ", ".join(failed) or "anyone")


def _schedule_retry(week: str, tries: int) -> datetime | None:
    """Try the digest again later this week (30 min, 1 h, 2 h, 4 h, then every 8 h) for those
    it left; never into the next ISO week, where it would be a different digest."""
    from fundradar.alerts.compose import iso_week
    from fundradar.config.loader import load_recipients

    scheduler = _running
    if scheduler is None or _stopping.is_set():
        return None
    tz = load_recipients().schedule.timezone
    when = datetime.now(UTC) + RETRY_AFTER[min(tries, len(RETRY_AFTER)) - 1]
    if iso_week(when, tz) != week:
        log.error("digest %s: not everyone has it and the week ends before another try", week)
        return None
    scheduler.add_job(
        DEFAULT_FUNCS[DIGEST_JOB], "date", run_date=when, id=RETRY_JOB,
        name="digest retry", replace_existing=True,
    )  # fmt: skip
    log.warning("digest %s: trying again for those left at %s", week, _fmt(when, tz))
    return when


def _wait_for_crawls() -> None:
    """The digest goes out after the week's crawl, even one another server is running: wait
    while any source's crawl lease is held (`_work_lock` only sees this process's crawl)."""
    from fundradar.pipeline import locks

    told = False
    while not _stopping.is_set():
        running = locks.held_with_prefix("crawl:")
        if not running:
            return
        if not told:
            log.info("the digest waits for the crawl of %s (%s)",
                     running[0].name.removeprefix("crawl:"), running[0].describe())  # fmt: skip
            told = True
        _stopping.wait(CRAWL_POLL_SECONDS)


def _retry_after_holder(week: str) -> datetime | None:
    """Look again once the other sender's lease would have expired: it has finished (nothing
    left to send), or it died and this scheduler sends to whoever it did not reach."""
    from fundradar.alerts.compose import iso_week
    from fundradar.alerts.send import DIGEST_LEASE_TTL
    from fundradar.config.loader import load_recipients

    scheduler = _running
    if scheduler is None or _stopping.is_set():
        return None
    when = datetime.now(UTC) + timedelta(seconds=DIGEST_LEASE_TTL * 1.5)
    if iso_week(when, load_recipients().schedule.timezone) != week:
        return None
    scheduler.add_job(
        DEFAULT_FUNCS[DIGEST_JOB], "date", run_date=when, id=RETRY_JOB,
        name="digest retry", replace_existing=True,
    )  # fmt: skip
    return when


# --------------------------------------------------------------------------------------------
# Scheduler

_running: BackgroundScheduler | None = None  # the started scheduler (jobs add retries to it)


@dataclass(frozen=True)
class JobPlan:
    job_id: str
    name: str
    cron: str
    func: str


def plans(schedule: Schedule, funcs: Mapping[str, str] | None = None) -> list[JobPlan]:
    funcs = {**DEFAULT_FUNCS, **(funcs or {})}
    return [
        JobPlan(CRAWL_JOB, "weekly crawl", schedule.crawl, funcs[CRAWL_JOB]),
        JobPlan(DIGEST_JOB, "weekly digest", schedule.digest, funcs[DIGEST_JOB]),
    ]


def trigger_for(cron: str, tz: str) -> CronTrigger:
    return CronTrigger.from_crontab(cron, timezone=ZoneInfo(tz))


def previous_fire_time(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The last time the trigger fired at or before `now` (within the last 8 days)."""
    t = trigger.get_next_fire_time(None, now - timedelta(days=8))
    last = None
    while t is not None and t <= now:
        last = t
        t = trigger.get_next_fire_time(t, t + timedelta(seconds=1))
    return last


def _fmt(dt: datetime | None, tz: str) -> str:
    if dt is None:
        return "never"
    return dt.astimezone(ZoneInfo(tz)).strftime("%a %Y-%m-%d %H:%M %Z")


def _on_event(tz: str, grace: timedelta):  # type: ignore[no-untyped-def]
    def listener(event: JobEvent) -> None:
        job = event.job_id
        if event.code == EVENT_JOB_SUBMITTED:
            when = ", ".join(_fmt(t, tz) for t in getattr(event, "scheduled_run_times", []))
            log.info("run of %s started (due %s)", job, when)
        elif event.code == EVENT_JOB_EXECUTED:
            log.info("run of %s finished (due %s)", job, _fmt(event.scheduled_run_time, tz))
        elif event.code == EVENT_JOB_ERROR:
            log.error("run of %s failed (due %s): %r", job, _fmt(event.scheduled_run_time, tz),
                      event.exception)  # fmt: skip
        elif event.code == EVENT_JOB_MISSED:
            log.warning(
                "missed run of %s due %s: more than %s late, beyond the misfire grace",
                job, _fmt(event.scheduled_run_time, tz), grace,
            )  # fmt: skip
        elif event.code == EVENT_JOB_MAX_INSTANCES:
            log.warning("run of %s skipped: the previous run is still going", job)

    return listener


def build_scheduler(schedule: Schedule, *, engine: Engine | None = None) -> BackgroundScheduler:
    """A scheduler (not started) with the job store in the project database."""
    from fundradar.pipeline import db

    grace = timedelta(hours=schedule.misfire_grace_hours)
    scheduler = BackgroundScheduler(
        jobstores={
            "default": SQLAlchemyJobStore(
                engine=engine or db.get_engine(), tablename=JOBSTORE_TABLE
            )
        },
        # two threads: a digest due during a long crawl is submitted, then waits on the lock
        executors={"default": ThreadPoolExecutor(max_workers=2)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": int(grace.total_seconds()),
        },
        timezone=ZoneInfo(schedule.timezone),
    )
    mask = (EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED
            | EVENT_JOB_MAX_INSTANCES)  # fmt: skip
    scheduler.add_listener(_on_event(schedule.timezone, grace), mask)
    return scheduler


def work_done_since(job_id: str, since: datetime, schedule: Schedule) -> bool:
    """Has the work of a run due at `since` been done some other way (e.g. `fundradar run`)?"""
    from fundradar.alerts.compose import iso_week
    from fundradar.config.loader import load_recipients
    from fundradar.pipeline import db
    from fundradar.pipeline.models import CrawlRun, Delivery, Digest

    with db.session_scope() as s:
        if job_id == CRAWL_JOB:
            return (
                s.scalars(select(CrawlRun.id).where(CrawlRun.started_at >= since)).first()
                is not None
            )
        week = iso_week(since, schedule.timezone)
        sent = set(
            s.scalars(
                select(Delivery.recipient)
                .join(Digest, Digest.id == Delivery.digest_id)
                .where(Digest.week == week, Delivery.status == "sent")
            )
        )
    try:
        wanted = {r.email.lower() for r in load_recipients().recipients}
    except Exception:  # config trouble is reported by the digest run itself
        return False
    return bool(sent) and wanted <= sent


def sync_jobs(
    scheduler: BackgroundScheduler,
    schedule: Schedule,
    *,
    funcs: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> dict[str, datetime | None]:
    """Put the configured jobs in the store (the scheduler must be started, paused).

    A stored job whose cron line and function are unchanged is kept as it is, with its next
    run time: if that lies in the past, the run was missed while fundradar was not running,
    and APScheduler catches it up once on resume (coalesce), within the grace.
    Returns each job's next run time.
    """
    now = now or datetime.now(UTC)
    grace = timedelta(hours=schedule.misfire_grace_hours)
    out: dict[str, datetime | None] = {}
    for plan in plans(schedule, funcs):
        trigger = trigger_for(plan.cron, schedule.timezone)
        job = scheduler.get_job(plan.job_id)
        same = (
            job is not None
            and str(job.trigger) == str(trigger)
            and str(getattr(job.trigger, "timezone", "")) == str(trigger.timezone)
            and job.func_ref == plan.func
        )
        if same and job is not None:
            due = job.next_run_time
            if due is not None and due <= now:
                late = now - due
                verdict = "will run now" if late <= grace else "too late, skipped"
                log.info("%s was due %s while fundradar was not running: %s",
                         plan.job_id, _fmt(due, schedule.timezone), verdict)  # fmt: skip
            out[plan.job_id] = due
            continue
        next_run = trigger.get_next_fire_time(None, now)
        previous = previous_fire_time(trigger, now)
        if (
            previous is not None
            and now - previous <= grace
            and not work_done_since(plan.job_id, previous, schedule)
        ):
            log.info("%s was due %s and has not run: catching up now",
                     plan.job_id, _fmt(previous, schedule.timezone))  # fmt: skip
            next_run = previous
        scheduler.add_job(
            plan.func, trigger, id=plan.job_id, name=plan.name, replace_existing=True,
            next_run_time=next_run,
        )  # fmt: skip
        out[plan.job_id] = next_run
    return out


def _crawled_before(due: datetime, schedule: Schedule) -> bool:
    """Did the crawl that precedes the digest due at `due` run (from its own due time on)?"""
    from fundradar.pipeline import db
    from fundradar.pipeline.models import CrawlRun

    since = previous_fire_time(trigger_for(schedule.crawl, schedule.timezone), due)
    since = since or due - timedelta(days=8)
    with db.session_scope() as s:
        return (
            s.scalars(
                select(CrawlRun.id).where(CrawlRun.started_at >= since, CrawlRun.started_at <= due)
            ).first()
            is not None
        )


def _not_delivered(week: str) -> list[str]:
    """Subscribers (active subscriptions, recipients.yaml's entries included) without a
    *sent* delivery for `week`."""
    from fundradar import settings
    from fundradar.alerts.send import subscribers
    from fundradar.config.loader import load_recipients
    from fundradar.pipeline import db
    from fundradar.pipeline.models import Delivery, Digest

    with db.session_scope() as s:
        sent = set(
            s.scalars(
                select(Delivery.recipient)
                .join(Digest, Digest.id == Delivery.digest_id)
                .where(Digest.week == week, Delivery.status == "sent")
            )
        )
    who = subscribers(load_recipients(), settings.load(), record=False)
    return [r.email for r in who if r.email.lower() not in sent]


def catch_up(
    scheduler: BackgroundScheduler, schedule: Schedule, *, now: datetime | None = None
) -> list[str]:
    """Run now what an earlier run left unfinished (the scheduler must be started, paused).

    Returns the ids of the jobs brought forward. A stored run that APScheduler will run anyway
    (due within the grace) is left to it, so nothing runs twice.
    """
    from fundradar.alerts.compose import iso_week

    now = now or datetime.now(UTC)
    grace = timedelta(hours=schedule.misfire_grace_hours)
    tz = schedule.timezone
    brought: list[str] = []

    def runs_anyway(job_id: str) -> bool:
        job = scheduler.get_job(job_id)
        due = job.next_run_time if job is not None else None
        return due is not None and now - grace <= due <= now

    def bring_forward(job_id: str, when: datetime) -> None:
        job = scheduler.get_job(job_id)
        if job is not None and not runs_anyway(job_id):
            job.modify(next_run_time=when)
            brought.append(job_id)

    crawl = read_state(CRAWL_JOB)
    if crawl.get("state") in ("running", "interrupted"):
        log.warning("the crawl started %s did not finish (%s%s): crawling again now",
                    _fmt(_parse(crawl.get("started") or crawl.get("at")), tz), crawl["state"],
                    f": {crawl['note']}" if crawl.get("note") else "")  # fmt: skip
        bring_forward(CRAWL_JOB, now)

    this_week = iso_week(now, tz)
    digest = read_state(DIGEST_JOB)
    state, week = digest.get("state"), digest.get("week")
    if state in UNFINISHED and week and week != this_week:
        missed = _not_delivered(week)
        note = (
            f"the digest of {week} was {state} and its week is over: "
            f"{len(missed)} recipient(s) never got it ({', '.join(missed) or 'none'}); it is "
            "not sent late, and this week's digest carries its calls as new"
        )
        log.error("MISSED: %s", note)
        write_state(DIGEST_JOB, state="missed", week=week, note=note)
    elif state in UNFINISHED and week == this_week:
        log.warning("the digest of %s was %s: resuming now for the recipients not yet sent",
                    week, state)  # fmt: skip
        bring_forward(DIGEST_JOB, now + timedelta(seconds=1))  # after a caught-up crawl
    else:
        due = previous_fire_time(trigger_for(schedule.digest, tz), now)
        if (
            due is not None
            and iso_week(due, tz) == this_week
            and not runs_anyway(DIGEST_JOB)
            and _crawled_before(due, schedule)
            and not work_done_since(DIGEST_JOB, due, schedule)
        ):
            log.warning("the digest due %s has not gone out this week: sending it now",
                        _fmt(due, tz))  # fmt: skip
            bring_forward(DIGEST_JOB, now + timedelta(seconds=1))
    return brought


def _parse(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def start(
    schedule: Schedule,
    *,
    funcs: Mapping[str, str] | None = None,
    engine: Engine | None = None,
) -> BackgroundScheduler:
    """Build, sync and start the scheduler in background threads; the caller waits."""
    from fundradar.pipeline import db

    if engine is None:
        db.init()  # the project schema first; the job store adds its own table beside it
    scheduler = build_scheduler(schedule, engine=engine)
    scheduler.start(paused=True)  # paused: nothing runs before the jobs are in order
    plans_next = sync_jobs(scheduler, schedule, funcs=funcs)
    for job_id in catch_up(scheduler, schedule):
        plans_next[job_id] = scheduler.get_job(job_id).next_run_time
    for job_id, when in plans_next.items():
        log.info("scheduled %s: next run %s", job_id, _fmt(when, schedule.timezone))
    from fundradar.crawlers.runner import clear_stop

    global _running
    _stopping.clear()
    clear_stop()
    _running = scheduler
    scheduler.resume()
    return scheduler


def next_runs(scheduler: BackgroundScheduler) -> dict[str, Any]:
    return {job.id: job.next_run_time for job in scheduler.get_jobs()}
