"""Two servers, one database (issue 11 item 4): the scheduler's weekly jobs run in two separate
processes at once, each with its own FUNDRADAR_HOME (its own journal, logs and outbox), on one
database: PostgreSQL with FUNDRADAR_TEST_DATABASE_URL, else one SQLite file.

Real parts only: the jobs are the scheduler's own (`crawl_job`, then `digest_job`, as its
thread runs them), the crawl runs real child crawls of a feed served on 127.0.0.1 (the bundled
fundsforNGOs sample, reconstructed — not a capture), the digest goes to a real SMTP server
(aiosmtpd) that counts what it accepted.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from itertools import pairwise
from pathlib import Path

from sqlalchemy import select

from fundradar import settings
from fundradar.pipeline import db
from fundradar.pipeline.models import CrawlRun, Delivery
from tests.logged_process import LoggedProcess
from tests.smtp_fault_server import FaultySmtpServer
from tests.test_scheduler import FeedServer, _config, _far_cron

REPO = Path(__file__).resolve().parent.parent
UTC = dt.UTC
THREE = ["ana@oecs.example", "ben@oecs.example", "cy@oecs.example"]

# one "server": the scheduler's two weekly jobs, in order, in a process of their own
SERVER = """
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s %(message)s")
from fundradar.alerts import scheduler
scheduler.CRAWL_POLL_SECONDS = 0.2
scheduler.crawl_job()
scheduler.digest_job()
print("server done", file=sys.stderr, flush=True)
"""


class Server(LoggedProcess):
    def __init__(self, home: Path, env: dict[str, str]) -> None:
        super().__init__([sys.executable, "-c", SERVER], cwd=REPO,
                         env={**os.environ, **env, "FUNDRADAR_HOME": str(home)})  # fmt: skip

    def wait_for(self, text: str, timeout: float = 90) -> None:
        super().wait_for(text, timeout)

    def finish(self, timeout: float = 120) -> str:
        try:
            assert self.proc.wait(timeout=timeout) == 0, self.log
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        self.reader.join(5)
        return self.log


def test_two_schedulers_on_one_database_crawl_each_source_once_and_mail_each_week_once(
    tmp_path: Path,
) -> None:
    now = dt.datetime.now(UTC)
    url = settings.load().database_url  # the one database both servers use
    db.init()
    with FeedServer() as feed, FaultySmtpServer() as smtp:
        config = _config(tmp_path, crawl=_far_cron(now), digest=_far_cron(now),
                         recipients=THREE, feed_url=feed.url)  # fmt: skip
        env = {
            "FUNDRADAR_CONFIG": str(config), "FUNDRADAR_DATABASE_URL": url,
            "FUNDRADAR_SMTP_HOST": "127.0.0.1", "FUNDRADAR_SMTP_PORT": str(smtp.port),
            "FUNDRADAR_SMTP_SECURITY": "none", "FUNDRADAR_SMTP_TIMEOUT": "20",
            "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        }  # fmt: skip
        feed.hold.set()  # a slow funder: the first server's crawl is still going when ...
        smtp.accept_delay = 0.5  # ... and the first sender is still sending when the other looks
        first = Server(tmp_path / "server-a", env)
        deadline = time.monotonic() + 90
        while feed.requests == 0:
            assert time.monotonic() < deadline and first.proc.poll() is None, first.log
            time.sleep(0.05)
        second = Server(tmp_path / "server-b", env)
        # the second server does not crawl the source the first is crawling: it says so
        second.wait_for("being crawled by")
        second.wait_for("the digest waits for the crawl of slowfeed")  # and waits for it
        assert feed.requests == 1
        assert "busy" in second.log
        feed.hold.clear()
        feed.release.set()
        logs = [first.finish(), second.finish()]

    # one crawl of the source, by the first server
    with db.session_scope() as s:
        runs = s.scalars(select(CrawlRun).where(CrawlRun.source == "slowfeed")).all()
        assert [r.status for r in runs] == ["ok"]
        delivered = {d.recipient: d.status for d in s.scalars(select(Delivery))}
    assert delivered == {a: "sent" for a in THREE}
    # one digest per recipient for the week, though both servers ran the digest job
    assert smtp.per_recipient() == {a: 1 for a in THREE}
    assert smtp.duplicates() == []
    # each message was sent by one server only, and the other said why it sent nothing
    sent_lines = [line for log in logs for line in log.splitlines() if "  sent     " in line]
    assert len(sent_lines) == len(THREE), logs
    assert all("server done" in log for log in logs)
    assert any(
        "not sent by this scheduler: another digest send is running" in log
        or log.count("already sent for") == len(THREE)
        for log in logs
    ), logs


def test_two_fundradar_schedule_processes_catching_up_together_never_overlap(
    tmp_path: Path,
) -> None:
    """Two `fundradar schedule` processes started together, as two servers after an outage:
    both catch up the week's crawl and digest from one job store. Whichever of them runs what,
    no two crawls of the source overlap and each recipient gets the week's digest once."""
    from tests.test_scheduler import Scheduler, _cron_at

    now = dt.datetime.now(UTC)
    url = settings.load().database_url
    db.init()
    with FeedServer() as feed, FaultySmtpServer() as smtp:
        config = _config(tmp_path, crawl=_cron_at(now - dt.timedelta(hours=2)),
                         digest=_cron_at(now - dt.timedelta(hours=1)), recipients=THREE,
                         feed_url=feed.url)  # fmt: skip
        env = {
            "FUNDRADAR_DATABASE_URL": url, "FUNDRADAR_SMTP_HOST": "127.0.0.1",
            "FUNDRADAR_SMTP_PORT": str(smtp.port), "FUNDRADAR_SMTP_SECURITY": "none",
            "FUNDRADAR_SMTP_TIMEOUT": "20",
        }  # fmt: skip
        feed.hold.set()  # the crawl is slow, so the two overlap if anything lets them
        a = Scheduler(config, {**env, "FUNDRADAR_HOME": str(tmp_path / "server-a")})
        b = Scheduler(config, {**env, "FUNDRADAR_HOME": str(tmp_path / "server-b")})
        try:
            deadline = time.monotonic() + 90
            while feed.requests == 0:
                assert time.monotonic() < deadline, a.log + b.log
                time.sleep(0.05)
            time.sleep(1.0)  # room for a second crawl to start, if one could
            feed.hold.clear()
            feed.release.set()
            deadline = time.monotonic() + 120
            while len(smtp.received) < len(THREE):
                assert time.monotonic() < deadline, a.log + b.log
                time.sleep(0.1)
            time.sleep(1.0)  # long enough for a wrong fourth message to arrive too
        finally:
            codes = (a.stop(), b.stop())
        assert codes == (0, 0), a.log + b.log
    assert smtp.per_recipient() == {a: 1 for a in THREE}
    assert smtp.duplicates() == []
    with db.session_scope() as s:
        runs = s.scalars(
            select(CrawlRun).where(CrawlRun.source == "slowfeed").order_by(CrawlRun.started_at)
        ).all()
        spans = [(r.started_at, r.finished_at, r.status) for r in runs]
    assert spans and all(status == "ok" for _, _, status in spans), spans
    for (_, end, _), (start, _, _) in pairwise(spans):
        assert end is not None and end <= start, spans  # one after the other, never at once
    logs = [a.log, b.log]
    if len(spans) == 1 and all("run of weekly-crawl started" in log for log in logs):
        # both ran the crawl job (each saw it due): the one that did not crawl said why
        assert any("slowfeed: busy" in log and "being crawled by" in log for log in logs), logs
