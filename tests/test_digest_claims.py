"""The digest's claim in the database (issue 11 item 4): one sender at a time on one database,
and a sender that lost its claim to another server sends nothing more. Real SMTP (aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
from sqlalchemy import select, update

from fundradar.alerts import scheduler as sched
from fundradar.alerts.send import DIGEST_LEASE, digest_claim, send_digest
from fundradar.pipeline import db, locks
from fundradar.pipeline.models import Delivery, Lease
from tests.digest_support import SmtpServer, add_call, recipients_config

UTC = dt.UTC
MON = dt.datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
THREE = [{"email": a} for a in ("ana@oecs.example", "ben@oecs.example", "cy@oecs.example")]


def _smtp_env(monkeypatch: pytest.MonkeyPatch, server: SmtpServer) -> None:
    monkeypatch.setenv("FUNDRADAR_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("FUNDRADAR_SMTP_PORT", str(server.port))
    monkeypatch.setenv("FUNDRADAR_SMTP_SECURITY", "none")
    monkeypatch.setenv("FUNDRADAR_SMTP_TIMEOUT", "5")


def _statuses() -> dict[str, str]:
    with db.session_scope() as s:
        return {d.recipient: d.status for d in s.scalars(select(Delivery))}


def test_a_sender_that_lost_its_claim_sends_nothing_more_and_the_new_holder_finishes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    add_call()
    config = recipients_config(THREE)
    taken_by: list[str] = []

    def another_server_takes_over() -> bool:
        """Between two recipients this sender stalls past its lease; another server takes it."""
        if _statuses().get("ana@oecs.example") == "sent" and not taken_by:
            with db.session_scope() as s:
                s.execute(update(Lease).values(expires_at=locks.db_now(s)))  # it expired
            taken, lease = locks.acquire(DIGEST_LEASE, holder="srv-b:7:cc", ttl=30)
            assert taken
            taken_by.append(lease.holder)
        return False  # not a stop request: the run goes on as far as it may

    with SmtpServer() as server:
        _smtp_env(monkeypatch, server)
        report = send_digest(now=MON, config=config, stop=another_server_takes_over)
        assert [r.status for r in report.results] == ["sent", "pending", "pending"]
        assert len(server.received) == 1  # nothing after the claim was lost
        assert any("lost its claim on the digest" in p for p in report.problems)
        # it wrote nothing over what is now the other server's to do
        assert _statuses() == {"ana@oecs.example": "sent"}
        assert locks.current(DIGEST_LEASE).holder == "srv-b:7:cc"  # type: ignore[union-attr]

        locks.release(DIGEST_LEASE, holder="srv-b:7:cc")  # the other server is done (or died)
        again = send_digest(now=MON, config=config)
        assert [r.status for r in again.results] == ["skipped", "sent", "sent"]
        got = sorted(m.rcpt_tos[0] for m in server.received)
    assert got == ["ana@oecs.example", "ben@oecs.example", "cy@oecs.example"]
    assert locks.current(DIGEST_LEASE) is None  # released at the end of the send


def test_the_scheduler_finding_the_digest_being_sent_elsewhere_says_so_and_sends_nothing(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "recipients.yaml").write_text(
        "digest:\n  from: fundradar@oecs.example\nrecipients:\n  - email: ana@oecs.example\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("FUNDRADAR_CONFIG", str(folder))
    add_call()
    caplog.set_level(logging.INFO, logger="fundradar.scheduler")
    with SmtpServer() as server, digest_claim() as elsewhere:
        _smtp_env(monkeypatch, server)
        sched.digest_job()
        assert server.received == []
    state = sched.read_state(sched.DIGEST_JOB)
    assert state["state"] == "elsewhere" and elsewhere.holder in state["note"]
    assert "not sent by this scheduler: another digest send is running" in caplog.text
    assert _statuses() == {}
