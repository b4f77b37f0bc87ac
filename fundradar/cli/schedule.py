"""schedule: the weekly crawl and digest, in the foreground until SIGTERM or Ctrl-C."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import click

from fundradar.cli.common import check_config


def _logging_to(path) -> None:  # type: ignore[no-untyped-def]
    """Scheduler lines go to stderr (journald under systemd) and to logs/scheduler.log."""
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [logging.StreamHandler(), logging.FileHandler(path)]
    for h in handlers:
        h.setFormatter(fmt)
    for name in ("fundradar", "apscheduler"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        for h in handlers:
            logger.addHandler(h)
        logger.propagate = False


@click.command("schedule")
def schedule_cmd() -> int:
    """Run the scheduler in the foreground: weekly crawl, then weekly digest.

    Times come from recipients.yaml `schedule:`. Stops cleanly on SIGTERM or Ctrl-C: a running
    crawl stops gracefully (its runs are recorded `interrupted`), a running digest stops
    between recipients; the next start catches both up.
    """
    from fundradar.alerts import scheduler as sched_mod
    from fundradar.config.loader import load_recipients
    from fundradar.pipeline import db

    env = check_config()
    env.ensure_dirs()
    db.init(env.database_url)
    schedule = load_recipients(env.config_dir).schedule
    _logging_to(env.logs / "scheduler.log")
    log = logging.getLogger("fundradar.scheduler")

    stop = threading.Event()
    received: list[str] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        # no logging here (a signal handler may interrupt a log write); the loop below logs
        received.append(signal.Signals(signum).name)
        sched_mod.request_stop()  # crawl children checkpoint, the digest pauses
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    scheduler = sched_mod.start(schedule)
    log.info(
        "scheduler running (crawl '%s', digest '%s', %s, misfire grace %sh); SIGTERM stops it",
        schedule.crawl, schedule.digest, schedule.timezone, schedule.misfire_grace_hours,
    )  # fmt: skip
    while not stop.wait(1.0):
        pass
    log.info(
        "%s received: stopping; a running crawl stops gracefully and a running digest pauses "
        "between recipients; what they leave is caught up at the next start", received[0],
    )  # fmt: skip
    scheduler.shutdown(wait=True)
    log.info("scheduler stopped")
    return 0


def register(group: click.Group) -> None:
    group.add_command(schedule_cmd)
