"""Exactly-once sending through a real SMTP server (aiosmtpd on 127.0.0.1).

Covers: one message per recipient with the right structure and headers, a second send in the
same week that sends nothing, a permanent refusal for one recipient while the others get
theirs, a temporary failure then success, a crash after the first recipient (a real process
killed mid-run) followed by a run that completes the rest, the documented duplicate window,
`--force`, and the command line.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from fundradar import settings
from fundradar.alerts.mailer import OutboxTransport, SmtpTransport
from fundradar.alerts.send import send_digest
from fundradar.config.loader import load_sources
from fundradar.pipeline import db
from fundradar.pipeline.models import Delivery, Digest, DigestItem
from tests.digest_support import (
    SmtpServer,
    add_call,
    add_run,
    make_tls_files,
    parse,
    parts,
    recipients_config,
)

UTC = dt.UTC
MON = dt.datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parent.parent
THREE = [
    {"email": "ana@oecs.example", "name": "Ana"},
    {"email": "ben@oecs.example", "language": "fr"},
    {"email": "cy@oecs.example", "min_band": "high"},
]


def _smtp_env(monkeypatch: pytest.MonkeyPatch, server: SmtpServer, security: str = "none") -> None:
    monkeypatch.setenv("FUNDRADAR_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("FUNDRADAR_SMTP_PORT", str(server.port))
    monkeypatch.setenv("FUNDRADAR_SMTP_SECURITY", security)
    monkeypatch.setenv("FUNDRADAR_SMTP_TIMEOUT", "5")


def _deliveries() -> dict[str, Delivery]:
    with db.session_scope() as s:
        return {d.recipient: d for d in s.scalars(select(Delivery))}


def _by_rcpt(server: SmtpServer) -> dict[str, list]:  # type: ignore[type-arg]
    out: dict[str, list] = {}  # type: ignore[type-arg]
    for r in server.received:
        out.setdefault(r.rcpt_tos[0], []).append(r)
    return out


def test_one_message_per_recipient_with_headers_and_parts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    high = add_call(title="Blue economy and fisheries governance", band="high", score=91)
    medium = add_call(title="Appel à projets FCR Martinique", band="medium", score=55,
                      language="fr", funder="Préfecture de Martinique")  # fmt: skip
    config = recipients_config(THREE)
    for source in load_sources().sources:  # every source checked: the plain subject (issue 17)
        add_run(source.id, at=MON - dt.timedelta(hours=6))
    with SmtpServer() as server:
        _smtp_env(monkeypatch, server)
        report = send_digest(now=MON, config=config)
    assert report.ok and report.count("sent") == 3
    got = _by_rcpt(server)
    assert sorted(got) == ["ana@oecs.example", "ben@oecs.example", "cy@oecs.example"]

    ana = got["ana@oecs.example"][0].message
    assert ana.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in ana.iter_parts()] == ["text/plain", "text/html"]
    assert ana["From"] == "fundradar <fundradar@oecs.example>"
    assert ana["Reply-To"] == "dcrm@oecs.example"
    assert ana["To"] == "Ana <ana@oecs.example>"
    assert ana["Subject"] == "fundradar week 48 (23–29 Nov 2026): 2 new relevant calls"
    assert re.fullmatch(r"<fundradar\.2026-W48\.[0-9a-f]{12}@oecs\.example>", ana["Message-ID"])
    assert ana["Date"] and ana["Auto-Submitted"] == "auto-generated"
    text, html = parts(ana)
    for title in ("Blue economy and fisheries governance", "Appel à projets FCR Martinique"):
        assert title in text and title in html
    assert text.index("Blue economy") < text.index("Appel à projets")  # high before medium

    ben = got["ben@oecs.example"][0].message
    assert ben["Subject"].startswith("fundradar semaine 48") and ben["Content-Language"] == "fr"
    assert "NOUVEAUX ET PERTINENTS" in parts(ben)[0]
    # cy wants band high only
    cy_text = parts(got["cy@oecs.example"][0].message)[0]
    assert "Blue economy" in cy_text and "FCR Martinique" not in cy_text
    # distinct, deterministic Message-IDs
    ids = {r.rcpt_tos[0]: r.message["Message-ID"] for r in server.received}
    assert len(set(ids.values())) == 3

    with db.session_scope() as s:
        [digest] = s.scalars(select(Digest)).all()
        assert digest.week == "2026-W48"
        items = s.scalars(select(DigestItem)).all()
    carried = {(i.recipient, i.call_id, i.section) for i in items}
    assert carried == {
        ("ana@oecs.example", high, "new"), ("ana@oecs.example", medium, "new"),
        ("ben@oecs.example", high, "new"), ("ben@oecs.example", medium, "new"),
        ("cy@oecs.example", high, "new"),
    }  # fmt: skip
    d = _deliveries()
    assert {x.status for x in d.values()} == {"sent"}
    assert d["ana@oecs.example"].message_id == ids["ana@oecs.example"]


def test_second_send_in_the_same_week_sends_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    add_call()
    config = recipients_config(THREE)
    with SmtpServer() as server:
        _smtp_env(monkeypatch, server)
        assert send_digest(now=MON, config=config).count("sent") == 3
        later = MON + dt.timedelta(days=3, hours=5)  # Thursday, same ISO week
        second = send_digest(now=later, config=config)
    assert second.ok and second.count("sent") == 0 and second.count("skipped") == 3
    assert len(server.received) == 3


def test_permanent_failure_for_one_recipient_others_still_get_theirs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    add_call()
    config = recipients_config(THREE)
    with SmtpServer() as server:
        server.handler.refuse["ben@oecs.example"] = "550 5.1.1 <ben@oecs.example>: no such user"
        _smtp_env(monkeypatch, server)
        report = send_digest(now=MON, config=config)
    assert not report.ok
    status = {r.recipient: r.status for r in report.results}
    assert status == {"ana@oecs.example": "sent", "ben@oecs.example": "failed",
                      "cy@oecs.example": "sent"}  # fmt: skip
    assert sorted(_by_rcpt(server)) == ["ana@oecs.example", "cy@oecs.example"]
    failed = _deliveries()["ben@oecs.example"]
    assert failed.status == "failed" and "550" in (failed.error or "")
    failed_result = next(r for r in report.results if r.status == "failed")
    assert "permanent failure" in failed_result.detail
    with db.session_scope() as s:  # nothing recorded as carried for ben
        assert not s.scalars(
            select(DigestItem).where(DigestItem.recipient == "ben@oecs.example")
        ).all()


def test_temporary_failure_then_success_is_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    add_call()
    config = recipients_config(THREE[:1])
    with SmtpServer() as server:
        server.handler.data_replies = ["452 4.3.1 insufficient system storage"]
        _smtp_env(monkeypatch, server)
        transport = SmtpTransport(settings.load().smtp, mail_from="fundradar@oecs.example",
                                  backoff=0.01, sleep=lambda _s: None)  # fmt: skip
        report = send_digest(now=MON, config=config, transport=transport)
    assert report.ok and report.results[0].attempts == 2
    assert len(server.received) == 1
    d = _deliveries()["ana@oecs.example"]
    assert d.status == "sent" and d.attempts == 2


CHILD = textwrap.dedent(
    """
    import datetime as dt, os, sys
    from fundradar.alerts.mailer import SmtpTransport
    from fundradar.alerts.send import send_digest
    from fundradar import settings
    from tests.digest_support import recipients_config

    crash_before, crash_accepted, crash_recorded = sys.argv[1], sys.argv[2], sys.argv[3]

    class Crashing(SmtpTransport):
        def send(self, msg, *, recipient, on_accepted=None):
            if recipient == crash_before:
                os._exit(9)  # the process dies: no cleanup, no rollback handlers

            def accepted(receipt):
                if recipient == crash_accepted:
                    os._exit(9)  # accepted by the server, not yet recorded
                on_accepted(receipt)
                if recipient == crash_recorded:
                    os._exit(9)  # accepted and recorded; QUIT never sent

            return super().send(msg, recipient=recipient, on_accepted=accepted)

    recipients = [{"email": a} for a in sys.argv[4:]]
    send_digest(
        now=dt.datetime(2026, 11, 23, 11, 0, tzinfo=dt.UTC),
        config=recipients_config(recipients),
        transport=Crashing(settings.load().smtp, mail_from="fundradar@oecs.example"),
    )
    """
)


def _crashing_run(before: str, accepted: str, addresses: list[str], recorded: str = "-") -> int:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, before, accepted, recorded, *addresses],
        cwd=REPO, env=dict(os.environ), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return proc.returncode


def test_crash_after_first_recipient_then_next_run_completes_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    add_call()
    addresses = [r["email"] for r in THREE]
    config = recipients_config([{"email": a} for a in addresses])
    with SmtpServer() as server:
        _smtp_env(monkeypatch, server)
        # the process dies as it is about to send to the second recipient
        assert _crashing_run("ben@oecs.example", "-", addresses) == 9
        assert [r.rcpt_tos[0] for r in server.received] == ["ana@oecs.example"]
        d = _deliveries()
        assert d["ana@oecs.example"].status == "sent"
        assert d["ben@oecs.example"].status == "sending"  # claimed, never handed over
        report = send_digest(now=MON, config=config)
    assert [r.status for r in report.results] == ["skipped", "sent", "sent"]
    got = _by_rcpt(server)
    assert {a: len(m) for a, m in got.items()} == {a: 1 for a in addresses}
    assert {x.status for x in _deliveries().values()} == {"sent"}


def test_crash_after_the_acceptance_is_recorded_sends_nothing_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Recorded before QUIT: a process dying at QUIT (or after) leaves no duplicate window."""
    add_call()
    config = recipients_config([{"email": "ana@oecs.example"}])
    with SmtpServer() as server:
        _smtp_env(monkeypatch, server)
        assert _crashing_run("-", "-", ["ana@oecs.example"], recorded="ana@oecs.example") == 9
        assert _deliveries()["ana@oecs.example"].status == "sent"
        again = send_digest(now=MON, config=config)
    assert again.count("skipped") == 1 and len(server.received) == 1


def test_crash_between_smtp_accept_and_commit_resends_with_same_message_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The one window exactly-once cannot close (documented in alerts/send.py): now only the
    time between the server's 250 to DATA and the commit."""
    add_call()
    config = recipients_config([{"email": "ana@oecs.example"}])
    with SmtpServer() as server:
        _smtp_env(monkeypatch, server)
        assert _crashing_run("-", "ana@oecs.example", ["ana@oecs.example"]) == 9
        assert _deliveries()["ana@oecs.example"].status == "sending"
        assert send_digest(now=MON, config=config).count("sent") == 1
    first, second = server.received
    # a duplicate, but one the receiving side can recognise and drop
    assert first.message["Message-ID"] == second.message["Message-ID"]


def test_force_resends_on_purpose_with_a_new_message_id(monkeypatch: pytest.MonkeyPatch) -> None:
    call = add_call(title="Ocean observation call")
    config = recipients_config(THREE[:1])
    with SmtpServer() as server:
        _smtp_env(monkeypatch, server)
        send_digest(now=MON, config=config)
        report = send_digest(now=MON + dt.timedelta(hours=2), config=config, force=True)
    assert report.count("sent") == 1
    first, again = server.received
    assert first.message["Message-ID"] != again.message["Message-ID"]
    assert ".resend-" in again.message["Message-ID"]
    # the resend carries the same calls, not "nothing new since an hour ago"
    assert "Ocean observation call" in parts(again.message)[0]
    with db.session_scope() as s:
        items = s.scalars(select(DigestItem).where(DigestItem.call_id == call)).all()
    assert len(items) == 1  # replaced, not doubled


def test_starttls_login_through_send(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ca, cert, key = make_tls_files(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    monkeypatch.setenv("FUNDRADAR_SMTP_USER", "digest")
    monkeypatch.setenv("FUNDRADAR_SMTP_PASSWORD", "pa55-word")
    add_call()
    with SmtpServer(security="starttls", cert=(cert, key), user="digest",
                    password="pa55-word") as server:  # fmt: skip
        _smtp_env(monkeypatch, server, "starttls")
        report = send_digest(now=MON, config=recipients_config(THREE[:2]))
    assert report.ok and [(r.tls, r.login) for r in server.received] == [(True, "digest")] * 2


def test_no_smtp_host_writes_eml_to_the_outbox(fundradar_home: Path) -> None:
    add_call(title="Caribbean resilience call")
    report = send_digest(now=MON, config=recipients_config(THREE[:2]))
    assert report.ok
    files = sorted((fundradar_home / "outbox").glob("*.eml"))
    assert [f.name for f in files] == [
        "2026-W48--ana@oecs.example.eml", "2026-W48--ben@oecs.example.eml",
    ]  # fmt: skip
    msg = parse(files[0].read_bytes())
    text, html = parts(msg)
    assert "Caribbean resilience call" in text and "Caribbean resilience call" in html
    assert {d.transport for d in _deliveries().values()} == {"outbox"}


def test_dry_run_records_nothing(fundradar_home: Path) -> None:
    add_call()
    report = send_digest(now=MON, config=recipients_config(THREE), dry_run=True)
    assert [r.status for r in report.results] == ["dry-run"] * 3
    assert report.results[0].counts["new"] == 1
    with db.session_scope() as s:
        assert s.scalars(select(Digest)).all() == []
    assert not (fundradar_home / "outbox").exists() or not any(
        (fundradar_home / "outbox").iterdir()
    )


def test_no_recipients_is_reported_not_silent() -> None:
    report = send_digest(now=MON, config=recipients_config([]))
    assert not report.ok and "no recipients" in report.problems[0]


def test_outbox_failure_is_recorded_and_the_run_goes_on(tmp_path: Path) -> None:
    add_call()
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the outbox folder should be")
    report = send_digest(now=MON, config=recipients_config(THREE[:2]),
                         transport=OutboxTransport(blocked))  # fmt: skip
    assert [r.status for r in report.results] == ["failed", "failed"]
    assert all(d.status == "failed" for d in _deliveries().values())


# --------------------------------------------------------------------------------------------
# command line


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "config"
    shutil.copytree(REPO / "config", folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (folder / "recipients.yaml").write_text(
        "digest:\n  from: fundradar@oecs.example\n  reply_to: dcrm@oecs.example\n"
        "recipients:\n  - email: ana@oecs.example\n  - email: ben@oecs.example\n    language: fr\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("FUNDRADAR_CONFIG", str(folder))
    return folder


def test_cli_send_twice_sends_once(monkeypatch: pytest.MonkeyPatch, config_dir: Path) -> None:
    from fundradar.cli import cli

    add_call(title="Sargassum management call", first_seen=dt.datetime.now(UTC))
    with SmtpServer() as server:
        _smtp_env(monkeypatch, server)
        runner = CliRunner()
        first = runner.invoke(cli, ["digest", "send"])
        second = runner.invoke(cli, ["digest", "send"])
        dry = runner.invoke(cli, ["digest", "send", "--dry-run"])
    assert first.exit_code == 0, first.output
    assert "2 sent, 0 already sent, 0 failed" in first.output
    assert "0 sent, 2 already sent, 0 failed" in second.output
    assert "0 would be sent, 2 already sent" in dry.output
    assert len(server.received) == 2


def test_cli_preview_text_and_html(config_dir: Path, tmp_path: Path) -> None:
    from fundradar.cli import cli

    add_call(title="Digital transformation call", deadline=dt.datetime.now(UTC)
             + dt.timedelta(days=30))  # fmt: skip
    runner = CliRunner()
    text = runner.invoke(cli, ["digest", "preview"])
    assert text.exit_code == 0, text.output
    assert "To: ana@oecs.example" in text.output and "Digital transformation call" in text.output
    fr = runner.invoke(cli, ["digest", "preview", "--to", "ben@oecs.example"])
    assert "NOUVEAUX ET PERTINENTS" in fr.output
    out = tmp_path / "preview.html"
    html = runner.invoke(cli, ["digest", "preview", "-o", str(out)])
    assert html.exit_code == 0 and "<html" in out.read_text(encoding="utf-8")
    with db.session_scope() as s:  # preview records nothing
        assert s.scalars(select(Delivery)).all() == []


def test_a_second_sender_at_the_same_time_is_refused(fundradar_home: Path) -> None:
    from fundradar.alerts.send import digest_claim
    from fundradar.exceptions import DigestBusyError

    add_call()
    with digest_claim() as held, pytest.raises(DigestBusyError, match="another digest") as busy:
        send_digest(now=MON, config=recipients_config(THREE[:1]))
    assert held.holder in str(busy.value)  # who holds it, for the person who typed the command
    with db.session_scope() as s:  # nothing was claimed by the refused run
        assert s.scalars(select(Delivery)).all() == []
    assert send_digest(now=MON, config=recipients_config(THREE[:1])).count("sent") == 1


# --------------------------------------------------------------------------------------------
# sample calls are never mailed to real people


def _mark_sample() -> None:
    from fundradar.demo import mark_dataset

    mark_dataset(settings.load().database_url, "sample")


def test_cli_refuses_to_mail_sample_calls_over_smtp(
    monkeypatch: pytest.MonkeyPatch, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fundradar.cli import main

    add_call(title="Sample call from a bundled page", first_seen=dt.datetime.now(UTC))
    _mark_sample()
    with SmtpServer() as server:
        _smtp_env(monkeypatch, server)
        with pytest.raises(SystemExit) as refused:
            main(["digest", "send"])
        assert refused.value.code == 2
        err = capsys.readouterr().err
        assert "SAMPLE calls" in err and "--allow-sample" in err
        assert server.received == [] and _deliveries() == {}

        with pytest.raises(SystemExit) as allowed:
            main(["digest", "send", "--allow-sample"])
    assert allowed.value.code == 0, capsys.readouterr()
    assert len(server.received) == 2
    for got in server.received:
        assert got.message["Subject"].startswith("[SAMPLE] fundradar ")
    assert {d.subject[:9] for d in _deliveries().values()} == {"[SAMPLE] "}


def test_sample_calls_to_the_outbox_are_marked_and_a_crawl_run_marks_a_database_sample(
    fundradar_home: Path,
) -> None:
    from fundradar.alerts.send import sample_subject
    from fundradar.pipeline.models import CrawlRun

    add_call()
    with db.session_scope() as s:  # a --fixtures crawl from before the meta mark existed
        s.add(CrawlRun(source="eu_ft", started_at=MON, status="ok", sample=True))
    report = send_digest(now=MON, config=recipients_config(THREE[:1]))
    assert report.ok and report.sample
    [eml] = (fundradar_home / "outbox").glob("*.eml")
    assert parse(eml.read_bytes())["Subject"].startswith("[SAMPLE] fundradar week 48")
    assert sample_subject("[SAMPLE] already marked") == "[SAMPLE] already marked"  # not doubled


def test_run_and_the_scheduler_do_not_mail_sample_calls(
    monkeypatch: pytest.MonkeyPatch, config_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from fundradar.alerts.scheduler import digest_job
    from fundradar.weekly import weekly_job

    add_call()
    _mark_sample()
    lines: list[str] = []
    with SmtpServer() as server:
        _smtp_env(monkeypatch, server)
        report = weekly_job(send=True, echo=lines.append)
        digest_job()
    # the live crawl into a sample database is refused too (fundradar.crawling.guard_dataset)
    assert not report.ok and "SAMPLE calls" in report.problems[-1]
    assert any(line.startswith("digest not sent: ") for line in lines)
    assert "SAMPLE calls" in caplog.text
    assert server.received == [] and _deliveries() == {}
