"""The SMTP and bookkeeping rows of the fault matrix (issue 17), each a real fault:

a relay that refuses connections, answers 421/450 on RCPT or DATA, refuses the login, drops the
connection during DATA or accepts slowly (tests/smtp_fault_server.py, aiosmtpd on 127.0.0.1);
a real SQLite write lock held by another connection at the moment the server accepted a
message; a commit that fails once. In each: the next run completes, nobody gets the same week
twice, and what failed is reported with where and why (delivery.error, the run's lines).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from fundradar import settings
from fundradar.alerts.mailer import SmtpTransport
from fundradar.alerts.send import JOURNAL_NAME, send_digest
from fundradar.pipeline import db
from fundradar.pipeline.models import Delivery, DigestItem
from tests.conftest import DIALECT
from tests.digest_support import add_call, recipients_config
from tests.smtp_fault_server import FaultySmtpServer, point_env_at, smtp_fault_server

__all__ = ["smtp_fault_server"]  # the fixture, imported for pytest

UTC = dt.UTC
MON = dt.datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
FIVE = [f"{n}@oecs.example" for n in ("ana", "ben", "cy", "dee", "eve")]


def _config(addresses: list[str] = FIVE):  # type: ignore[no-untyped-def]
    return recipients_config([{"email": a} for a in addresses])


def _transport(**kw) -> SmtpTransport:  # type: ignore[no-untyped-def]
    """The production retry schedule (4 tries, 5/15/45 s), with the pauses recorded, not slept."""
    pauses: list[float] = []
    t = SmtpTransport(settings.load().smtp, mail_from="fundradar@oecs.example",
                      sleep=pauses.append, **kw)  # fmt: skip
    t.pauses = pauses  # type: ignore[attr-defined]
    return t


def _deliveries() -> dict[str, Delivery]:
    with db.session_scope() as s:
        return {d.recipient: d for d in s.scalars(select(Delivery))}


def _lines(report) -> str:  # type: ignore[no-untyped-def]
    return "\n".join([*(f"{r.recipient} {r.status} {r.detail}" for r in report.results),
                      *report.problems])  # fmt: skip


# --------------------------------------------------------------------------------------------
# the relay down: one backoff for the run, not one per recipient


def test_server_down_costs_one_backoff_then_the_rest_wait_for_the_next_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    add_call()
    smtp = FaultySmtpServer()  # not started: connection refused
    point_env_at(monkeypatch, smtp)
    down = _transport()
    report = send_digest(now=MON, config=_config(), transport=down)

    # the first recipient's retries (5 + 15 + 45 s), then nothing more: 65 s, not 5 x 65 s
    assert down.pauses == [5.0, 15.0, 45.0]  # type: ignore[attr-defined]
    assert [r.status for r in report.results] == ["failed"] + ["pending"] * 4
    assert not report.ok
    text = _lines(report)
    assert f"127.0.0.1:{smtp.port}" in text and "connection failed" in text
    assert "4 recipient(s) not tried and left pending" in text
    d = _deliveries()
    assert "connection failed" in (d["ana@oecs.example"].error or "")
    for a in FIVE[1:]:
        assert d[a].status == "pending" and "not tried" in (d[a].error or "")

    with smtp:  # the relay is back: the next run completes, each once
        again = send_digest(now=MON, config=_config(), transport=_transport())
    assert again.ok and again.count("sent") == 5
    assert smtp.per_recipient() == {a: 1 for a in FIVE} and smtp.duplicates() == []


def test_421_on_data_that_lasts_stops_the_run_and_the_next_one_completes(
    smtp_fault_server: FaultySmtpServer,
) -> None:
    add_call()
    smtp_fault_server.data_replies = ["421 4.3.2 system shutting down"] * 4
    first = _transport()
    report = send_digest(now=MON, config=_config(), transport=first)
    assert [r.status for r in report.results] == ["failed"] + ["pending"] * 4
    assert smtp_fault_server.data_commands == 4  # one recipient's tries, no more
    assert "421" in (_deliveries()["ana@oecs.example"].error or "")
    assert "421 4.3.2" in report.problems[0]

    again = send_digest(now=MON, config=_config(), transport=_transport())
    assert again.ok and smtp_fault_server.per_recipient() == {a: 1 for a in FIVE}


def test_421_at_ehlo_then_recovery_within_the_retries(
    smtp_fault_server: FaultySmtpServer,
) -> None:
    add_call()
    smtp_fault_server.busy_ehlo = 2
    t = _transport()
    report = send_digest(now=MON, config=_config(FIVE[:2]), transport=t)
    assert report.ok and report.results[0].attempts == 3
    assert t.pauses == [5.0, 15.0]  # type: ignore[attr-defined]
    assert smtp_fault_server.per_recipient() == {a: 1 for a in FIVE[:2]}
    assert _deliveries()["ana@oecs.example"].attempts == 3


def test_450_on_rcpt_is_one_recipients_problem_not_the_servers(
    smtp_fault_server: FaultySmtpServer,
) -> None:
    add_call()
    smtp_fault_server.rcpt_replies["ben@oecs.example"] = ["450 4.2.1 mailbox busy"] * 4
    report = send_digest(now=MON, config=_config(FIVE[:3]), transport=_transport())
    assert [r.status for r in report.results] == ["sent", "failed", "sent"]
    ben = _deliveries()["ben@oecs.example"]
    assert ben.status == "failed" and "recipient refused (450 4.2.1 mailbox busy)" in ben.error
    assert "gave up after 4 tries" in ben.error

    again = send_digest(now=MON, config=_config(FIVE[:3]), transport=_transport())
    assert [r.status for r in again.results] == ["skipped", "sent", "skipped"]
    assert smtp_fault_server.per_recipient() == {a: 1 for a in FIVE[:3]}


def test_421_on_rcpt_then_recovery(smtp_fault_server: FaultySmtpServer) -> None:
    add_call()
    smtp_fault_server.rcpt_replies["ana@oecs.example"] = ["421 4.7.0 try again later"]
    report = send_digest(now=MON, config=_config(FIVE[:2]), transport=_transport())
    assert report.ok and report.results[0].attempts == 2
    assert "RCPT ana@oecs.example -> 421 4.7.0 try again later" in smtp_fault_server.events
    assert smtp_fault_server.per_recipient() == {a: 1 for a in FIVE[:2]}


# the fault server allows a login without TLS on 127.0.0.1, on purpose
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_failed_login_is_not_retried_and_stops_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    add_call()
    monkeypatch.setenv("FUNDRADAR_SMTP_USER", "digest")
    monkeypatch.setenv("FUNDRADAR_SMTP_PASSWORD", "wr0ng")
    with FaultySmtpServer(user="digest", password="right") as smtp:
        point_env_at(monkeypatch, smtp)
        t = _transport()
        report = send_digest(now=MON, config=_config(FIVE[:3]), transport=t)
        assert t.pauses == []  # type: ignore[attr-defined]
        assert [r.status for r in report.results] == ["failed", "pending", "pending"]
        assert len(smtp.logins) >= 1 and all(not ok for _u, ok in smtp.logins)
        assert "login refused (535" in (_deliveries()["ana@oecs.example"].error or "")
        assert "login refused (535" in report.problems[-1] and "wr0ng" not in _lines(report)

        monkeypatch.setenv("FUNDRADAR_SMTP_PASSWORD", "right")  # the maintainer fixes it
        again = send_digest(now=MON, config=_config(FIVE[:3]), transport=_transport())
    assert again.ok and smtp.per_recipient() == {a: 1 for a in FIVE[:3]}


def test_connection_dropped_during_data_is_retried_once_delivered_once(
    smtp_fault_server: FaultySmtpServer,
) -> None:
    add_call()
    smtp_fault_server.drop_data = 1
    report = send_digest(now=MON, config=_config(FIVE[:2]), transport=_transport())
    assert report.ok and report.results[0].attempts == 2
    assert "connection dropped" in " ".join(smtp_fault_server.events)
    assert smtp_fault_server.per_recipient() == {a: 1 for a in FIVE[:2]}


def test_a_relay_slow_to_accept_is_waited_for_not_sent_twice(
    smtp_fault_server: FaultySmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slower than the 1 s command timeout, within the (RFC 5321) wait for the end of DATA."""
    add_call()
    monkeypatch.setenv("FUNDRADAR_SMTP_TIMEOUT", "1")
    smtp_fault_server.accept_delay = 2.0
    report = send_digest(now=MON, config=_config(FIVE[:2]), transport=_transport())
    assert report.ok and [r.attempts for r in report.results] == [1, 1]
    assert smtp_fault_server.per_recipient() == {a: 1 for a in FIVE[:2]}
    assert smtp_fault_server.duplicates() == []


# --------------------------------------------------------------------------------------------
# bookkeeping failures: the database refuses a commit


@contextmanager
def _short_busy_timeout() -> Iterator[None]:
    """Make this test's connections give up on a lock after 0.3 s, not the production 30 s
    (SQLite's busy_timeout; PostgreSQL's lock_timeout)."""

    def pragma(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        if DIALECT == "sqlite":
            dbapi_conn.execute("PRAGMA busy_timeout=300")
        else:
            cur = dbapi_conn.cursor()
            cur.execute("SET lock_timeout = '300ms'")
            cur.close()
            dbapi_conn.commit()

    engine = db.session_factory().kw["bind"]  # the engine the sessions use
    event.listen(engine, "connect", pragma)
    engine.dispose()
    try:
        yield
    finally:
        event.remove(engine, "connect", pragma)
        engine.dispose()


@contextmanager
def _write_lock_held_elsewhere(db_file: Path) -> Iterator[None]:
    """Another connection holds the write lock (a real one): SQLite's `BEGIN IMMEDIATE`, or on
    PostgreSQL an EXCLUSIVE lock on the deliveries table (reads go on, writes wait)."""
    if DIALECT == "sqlite":
        other = sqlite3.connect(db_file, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            yield
        finally:
            other.rollback()
            other.close()
        return
    engine = create_engine(settings.load().database_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("LOCK TABLE deliveries IN EXCLUSIVE MODE"))
            try:
                yield
            finally:
                conn.rollback()
    finally:
        engine.dispose()


class LockWhenAccepted(SmtpTransport):
    """The moment the server has accepted `victim`'s message, another connection holds the
    database's write lock (`_write_lock_held_elsewhere`), and releases it once fundradar's
    commit has given up."""

    def __init__(self, *args, victim: str, db_file: Path, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kw)
        self.victim, self.db_file = victim, db_file

    def send(self, msg, *, recipient, on_accepted=None):  # type: ignore[no-untyped-def]
        def accepted(receipt):  # type: ignore[no-untyped-def]
            assert on_accepted is not None
            if recipient != self.victim:
                return on_accepted(receipt)
            with _write_lock_held_elsewhere(self.db_file):
                on_accepted(receipt)

        return super().send(msg, recipient=recipient, on_accepted=accepted)


def test_sent_commit_refused_by_a_locked_database_goes_to_the_journal(
    smtp_fault_server: FaultySmtpServer, fundradar_home: Path
) -> None:
    call = add_call(title="Blue economy call")
    three = FIVE[:3]
    with _short_busy_timeout():
        t = LockWhenAccepted(settings.load().smtp, mail_from="fundradar@oecs.example",
                             victim="ana@oecs.example", db_file=fundradar_home / "fundradar.db",
                             sleep=lambda _s: None)  # fmt: skip
        report = send_digest(now=MON, config=_config(three), transport=t)
    # ana's record failed; ben and cy were still tried and sent
    assert [r.status for r in report.results] == ["sent", "sent", "sent"]
    assert smtp_fault_server.per_recipient() == {a: 1 for a in three}
    journal = fundradar_home / JOURNAL_NAME
    assert "ana@oecs.example" in journal.read_text(encoding="utf-8")
    locked = "database is locked" if DIALECT == "sqlite" else "lock timeout"
    assert locked in report.problems[0] and str(journal) in report.problems[0]
    assert "recorded in the journal" in report.results[0].detail
    assert _deliveries()["ana@oecs.example"].status == "sending"

    # the next run: the journal is applied first, nobody gets a second copy
    again = send_digest(now=MON, config=_config(three))
    assert again.ok and [r.status for r in again.results] == ["skipped"] * 3
    assert smtp_fault_server.per_recipient() == {a: 1 for a in three}
    ana = _deliveries()["ana@oecs.example"]
    assert ana.status == "sent" and "database error" in (ana.error or "")
    with db.session_scope() as s:
        carried = s.scalars(
            select(DigestItem.call_id).where(DigestItem.recipient == "ana@oecs.example")
        ).all()
    assert carried == [call]  # what ana was sent is known, so next week is not "new" again
    assert not journal.exists()


@contextmanager
def _fail_once_when(predicate) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """A commit that fails once (as on a full disk) when `predicate(session)` holds."""
    fired: list[str] = []

    def before_flush(session: Session, _ctx, _instances) -> None:  # type: ignore[no-untyped-def]
        if not fired and predicate(session):
            fired.append("fired")
            orig = sqlite3.OperationalError("database or disk is full")
            raise OperationalError("UPDATE deliveries SET status=?", {}, orig)

    event.listen(Session, "before_flush", before_flush)
    try:
        yield fired
    finally:
        event.remove(Session, "before_flush", before_flush)


def _dirty_delivery(status: str):  # type: ignore[no-untyped-def]
    return lambda s: any(isinstance(o, Delivery) and o.status == status for o in s.dirty | s.new)


class DiskFullWhenAccepted(SmtpTransport):
    """When the server has accepted a message, the journal file points at /dev/full (every
    write: ENOSPC), as on a full disk."""

    def __init__(self, *args, journal: Path, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kw)
        self.journal = journal

    def send(self, msg, *, recipient, on_accepted=None):  # type: ignore[no-untyped-def]
        def accepted(receipt):  # type: ignore[no-untyped-def]
            assert on_accepted is not None
            self.journal.unlink(missing_ok=True)
            self.journal.symlink_to("/dev/full")
            try:
                on_accepted(receipt)
            finally:
                self.journal.unlink()

        return super().send(msg, recipient=recipient, on_accepted=accepted)


def test_disk_full_for_the_database_and_the_journal_still_no_resend_this_run(
    smtp_fault_server: FaultySmtpServer, fundradar_home: Path
) -> None:
    add_call()
    t = DiskFullWhenAccepted(settings.load().smtp, mail_from="fundradar@oecs.example",
                             journal=fundradar_home / JOURNAL_NAME)  # fmt: skip
    with _fail_once_when(_dirty_delivery("sent")) as fired:
        report = send_digest(now=MON, config=_config(FIVE[:2]), transport=t)
    assert fired
    assert [r.status for r in report.results] == ["sent", "sent"]
    problems = " ".join(report.problems)
    assert "accepted by the server but not recorded anywhere" in problems
    assert "database or disk is full" in problems and "No space left on device" in problems
    assert smtp_fault_server.per_recipient() == {a: 1 for a in FIVE[:2]}


def test_an_unreadable_journal_stops_the_send_instead_of_risking_a_repeat(
    smtp_fault_server: FaultySmtpServer, fundradar_home: Path
) -> None:
    add_call()
    (fundradar_home / JOURNAL_NAME).mkdir(parents=True)
    report = send_digest(now=MON, config=_config(FIVE[:2]), transport=_transport())
    assert [r.status for r in report.results] == ["pending", "pending"]
    assert "journal of accepted messages cannot be read" in report.problems[-1]
    assert smtp_fault_server.received == []


def test_claim_commit_failing_for_one_recipient_does_not_stop_the_others(
    smtp_fault_server: FaultySmtpServer,
) -> None:
    add_call()
    with _fail_once_when(_dirty_delivery("sending")) as fired:
        report = send_digest(now=MON, config=_config(FIVE[:3]), transport=_transport())
    assert fired
    assert [r.status for r in report.results] == ["failed", "sent", "sent"]
    assert "not sent: the database could not record the send first" in report.results[0].detail
    assert "database or disk is full" in report.results[0].detail
    assert "INSERT" not in _lines(report) and "UPDATE" not in _lines(report)  # no raw SQL
    again = send_digest(now=MON, config=_config(FIVE[:3]), transport=_transport())
    assert [r.status for r in again.results] == ["sent", "skipped", "skipped"]
    assert smtp_fault_server.per_recipient() == {a: 1 for a in FIVE[:3]}


def test_a_stop_request_between_recipients_leaves_the_rest_pending_for_the_next_run(
    smtp_fault_server: FaultySmtpServer,
) -> None:
    """SIGTERM to the scheduler while it sends: it stops between two recipients, not mid-way."""
    add_call()
    report = send_digest(now=MON, config=_config(FIVE[:3]), transport=_transport(),
                         stop=lambda: len(smtp_fault_server.received) >= 1)  # fmt: skip
    assert [r.status for r in report.results] == ["sent", "pending", "pending"]
    assert "asked to stop (SIGTERM)" in report.problems[-1]
    assert _deliveries()["ben@oecs.example"].status == "pending"
    again = send_digest(now=MON, config=_config(FIVE[:3]), transport=_transport())
    assert [r.status for r in again.results] == ["skipped", "sent", "sent"]
    assert smtp_fault_server.per_recipient() == {a: 1 for a in FIVE[:3]}


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_cli_says_what_failed_where_and_why_and_exits_1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    from fundradar.cli import main

    folder = tmp_path / "config"
    repo = Path(__file__).resolve().parent.parent
    shutil.copytree(repo / "config", folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (folder / "recipients.yaml").write_text(
        "digest:\n  from: fundradar@oecs.example\nrecipients:\n"
        + "".join(f"  - email: {a}\n" for a in FIVE[:3]),
        encoding="utf-8",
    )
    monkeypatch.setenv("FUNDRADAR_CONFIG", str(folder))
    monkeypatch.setenv("FUNDRADAR_SMTP_USER", "digest")
    monkeypatch.setenv("FUNDRADAR_SMTP_PASSWORD", "wr0ng")
    add_call()
    with FaultySmtpServer(user="digest", password="right") as smtp:
        point_env_at(monkeypatch, smtp)
        with pytest.raises(SystemExit) as exit_:
            main(["digest", "send"])
    out, err = capsys.readouterr()
    assert exit_.value.code == 1
    where = f"127.0.0.1:{smtp.port}"
    assert f"FAILED   ana@oecs.example: permanent failure: ana@oecs.example via {where}: " \
        "login refused (535" in out  # fmt: skip
    assert f"PENDING  ben@oecs.example: not tried: {where} login refused (535" in out
    assert "0 sent, 0 already sent, 1 failed, 2 not tried (pending)" in out
    assert "stopped sending" in err and "the next run tries them again" in err
    assert "wr0ng" not in out + err
