"""SMTP delivery against a real aiosmtpd server on 127.0.0.1: TLS, login, retries, refusals."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from fundradar import settings
from fundradar.alerts.compose import compose
from fundradar.alerts.mailer import OutboxTransport, SmtpTransport
from fundradar.alerts.message import build_message, message_id
from fundradar.alerts.render import render_html, render_text
from fundradar.exceptions import MailError
from fundradar.pipeline import db
from tests.digest_support import SmtpServer, add_call, make_tls_files, parse, recipients_config

UTC = dt.UTC
MON = dt.datetime(2026, 11, 23, 11, 0, tzinfo=UTC)


@pytest.fixture
def tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A throwaway CA the client trusts through SSL_CERT_FILE (no 'insecure' switch exists)."""
    ca, cert, key = make_tls_files(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    return cert, key


def _message(to: str = "officer@oecs.example"):  # type: ignore[no-untyped-def]
    add_call(title="Ocean governance call")
    config = recipients_config([{"email": to}])
    with db.session_scope() as s:
        model = compose(s, config.recipients[0], config, now=MON, sources=[])
    return build_message(
        model, html=render_html(model), text=render_text(model),
        mail_from="fundradar@oecs.example", reply_to=None,
        msg_id=message_id(model.week, to, "fundradar@oecs.example"),
    )  # fmt: skip


def _transport(monkeypatch: pytest.MonkeyPatch, server: SmtpServer, **env: str) -> SmtpTransport:
    monkeypatch.setenv("FUNDRADAR_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("FUNDRADAR_SMTP_PORT", str(server.port))
    monkeypatch.setenv("FUNDRADAR_SMTP_TIMEOUT", "5")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    pauses: list[float] = []
    t = SmtpTransport(
        settings.load().smtp, mail_from="fundradar@oecs.example", attempts=3, backoff=0.01,
        sleep=pauses.append,
    )  # fmt: skip
    t.pauses = pauses  # type: ignore[attr-defined]
    return t


def test_starttls_with_login(monkeypatch: pytest.MonkeyPatch, tls: tuple[Path, Path]) -> None:
    with SmtpServer(security="starttls", cert=tls, user="digest", password="s3cret!") as server:
        t = _transport(monkeypatch, server, FUNDRADAR_SMTP_SECURITY="starttls",
                       FUNDRADAR_SMTP_USER="digest", FUNDRADAR_SMTP_PASSWORD="s3cret!")  # fmt: skip
        receipt = t.send(_message(), recipient="officer@oecs.example")
    assert receipt.transport == "smtp" and receipt.attempts == 1
    [got] = server.received
    assert got.tls and got.login == "digest"
    assert got.mail_from == "fundradar@oecs.example"
    assert got.rcpt_tos == ["officer@oecs.example"]
    msg = got.message
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Subject"].startswith("fundradar week 48")


def test_implicit_tls(monkeypatch: pytest.MonkeyPatch, tls: tuple[Path, Path]) -> None:
    with SmtpServer(security="ssl", cert=tls) as server:
        t = _transport(monkeypatch, server, FUNDRADAR_SMTP_SECURITY="ssl")
        t.send(_message(), recipient="officer@oecs.example")
    assert [r.tls for r in server.received] == [True]


def test_untrusted_certificate_is_a_permanent_failure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _ca, cert, key = make_tls_files(tmp_path)  # the client is NOT told to trust this CA
    with SmtpServer(security="starttls", cert=(cert, key)) as server:
        t = _transport(monkeypatch, server, FUNDRADAR_SMTP_SECURITY="starttls")
        with pytest.raises(MailError) as err:
            t.send(_message(), recipient="officer@oecs.example")
    assert err.value.permanent and "not trusted" in str(err.value)
    assert server.received == [] and t.pauses == []  # type: ignore[attr-defined]


def test_wrong_password_is_permanent_and_never_printed(
    monkeypatch: pytest.MonkeyPatch, tls: tuple[Path, Path]
) -> None:
    with SmtpServer(security="starttls", cert=tls, user="digest", password="right") as server:
        env = {"FUNDRADAR_SMTP_USER": "digest", "FUNDRADAR_SMTP_PASSWORD": "wr0ng-pass"}
        t = _transport(monkeypatch, server, FUNDRADAR_SMTP_SECURITY="starttls", **env)
        with pytest.raises(MailError) as err:
            t.send(_message(), recipient="officer@oecs.example")
    assert err.value.permanent and "login refused (535" in str(err.value)
    assert "wr0ng-pass" not in str(err.value) and "wr0ng-pass" not in repr(settings.load())
    # smtplib tries each mechanism the server offers once; fundradar does not retry a refusal
    assert set(server.logins) == {("digest", False)} and t.pauses == []  # type: ignore[attr-defined]


def test_temporary_failure_then_success(monkeypatch: pytest.MonkeyPatch) -> None:
    with SmtpServer() as server:
        server.handler.data_replies = ["451 4.3.0 mailbox busy, try later"]
        t = _transport(monkeypatch, server, FUNDRADAR_SMTP_SECURITY="none")
        receipt = t.send(_message(), recipient="officer@oecs.example")
    assert receipt.attempts == 2
    assert len(server.received) == 1 and server.handler.data_commands == 2
    assert t.pauses == [0.01]  # type: ignore[attr-defined]


def test_dropped_connection_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    with SmtpServer() as server:
        server.handler.drop_next = 1
        t = _transport(monkeypatch, server, FUNDRADAR_SMTP_SECURITY="none")
        receipt = t.send(_message(), recipient="officer@oecs.example")
    assert receipt.attempts == 2 and len(server.received) == 1


def test_temporary_failures_run_out_with_growing_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    with SmtpServer() as server:
        server.handler.data_replies = ["421 4.7.0 too busy"] * 5
        t = _transport(monkeypatch, server, FUNDRADAR_SMTP_SECURITY="none")
        with pytest.raises(MailError) as err:
            t.send(_message(), recipient="officer@oecs.example")
    assert not err.value.permanent and "gave up after 3 tries" in str(err.value)
    assert t.pauses == pytest.approx([0.01, 0.03])  # type: ignore[attr-defined]
    assert server.received == []


def test_refused_recipient_is_permanent_without_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    with SmtpServer() as server:
        server.handler.refuse["gone@oecs.example"] = "550 5.1.1 no such mailbox"
        t = _transport(monkeypatch, server, FUNDRADAR_SMTP_SECURITY="none")
        with pytest.raises(MailError) as err:
            t.send(_message("gone@oecs.example"), recipient="gone@oecs.example")
    assert err.value.permanent and "550" in str(err.value)
    assert t.pauses == []  # type: ignore[attr-defined]


def test_nobody_listening_is_temporary(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.digest_support import free_port

    monkeypatch.setenv("FUNDRADAR_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("FUNDRADAR_SMTP_PORT", str(free_port()))
    monkeypatch.setenv("FUNDRADAR_SMTP_SECURITY", "none")
    pauses: list[float] = []
    t = SmtpTransport(settings.load().smtp, mail_from="f@oecs.example", attempts=2,
                      backoff=0.01, sleep=pauses.append)  # fmt: skip
    with pytest.raises(MailError) as err:
        t.send(_message(), recipient="officer@oecs.example")
    assert not err.value.permanent and len(pauses) == 1


def test_password_never_goes_out_unencrypted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUNDRADAR_SMTP_HOST", "mail.oecs.example")
    monkeypatch.setenv("FUNDRADAR_SMTP_SECURITY", "none")
    monkeypatch.setenv("FUNDRADAR_SMTP_USER", "digest")
    monkeypatch.setenv("FUNDRADAR_SMTP_PASSWORD", "pw")
    t = SmtpTransport(settings.load().smtp, mail_from="f@oecs.example", sleep=lambda _s: None)
    with pytest.raises(MailError) as err:
        t.send(_message(), recipient="officer@oecs.example")
    assert err.value.permanent and "unencrypted" in str(err.value)


def test_outbox_writes_a_complete_eml(tmp_path: Path) -> None:
    box = OutboxTransport(tmp_path / "outbox")
    receipt = box.send(_message(), recipient="Officer@OECS.example")
    path = Path(receipt.detail)
    assert path.name == "2026-W48--officer@oecs.example.eml"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left behind
    msg = parse(path.read_bytes())
    assert msg.get_content_type() == "multipart/alternative"
