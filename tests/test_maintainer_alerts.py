"""The maintainer is told once per change of state: when a source turns failing, when it recovers.

Mail goes to a real aiosmtpd server on 127.0.0.1 through the digest's own SMTP transport; the
state lives in the real SQLite database, so it survives a restart (a new process, new caches).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

from fundradar import settings
from fundradar.alerts.mailer import SmtpTransport
from fundradar.alerts.maintainer import AlertOutbox, alert_changes
from fundradar.crawling import crawl
from fundradar.pipeline import db
from fundradar.pipeline.models import CrawlRun, SourceAlertState
from tests.digest_support import SmtpServer
from tests.fault_server import FaultServer, Page, closed_port
from tests.test_run_verdicts import html_source, listing, use_sources

MAINTAINER = "maintainer@oecs.example"
T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def add_run(
    source: str, week: int, status: str, cause: str | None = None, message: str = ""
) -> None:
    at = T0 + timedelta(days=7 * week)
    with db.session_scope() as s:
        s.add(CrawlRun(source=source, started_at=at, finished_at=at + timedelta(minutes=2),
                       status=status, cause=cause, message=message, items_seen=5,
                       items_new=1))  # fmt: skip


def smtp_transport(monkeypatch: pytest.MonkeyPatch, port: int) -> SmtpTransport:
    monkeypatch.setenv("FUNDRADAR_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("FUNDRADAR_SMTP_PORT", str(port))
    monkeypatch.setenv("FUNDRADAR_SMTP_SECURITY", "none")
    monkeypatch.setenv("FUNDRADAR_SMTP_TIMEOUT", "5")
    return SmtpTransport(settings.load().smtp, mail_from="fundradar@oecs.example", attempts=1)


def run_alerts(transport: SmtpTransport) -> list[str]:
    with db.session_scope() as s:
        sent = alert_changes(s, transport=transport, maintainer=MAINTAINER,
                             mail_from="fundradar@oecs.example")  # fmt: skip
    return [f"{a.source} {a.state}" for a in sent if a.sent]


def subjects(server: SmtpServer) -> list[str]:
    # unfolded: a long subject is folded over two header lines on the wire
    return [" ".join(str(r.message["Subject"]).split()) for r in server.received]


def test_one_mail_when_failing_none_while_still_failing_one_when_recovered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with SmtpServer() as server:
        t = smtp_transport(monkeypatch, server.port)
        add_run("afd", 0, "ok", message="6 calls")
        add_run("anr", 0, "ok", message="4 calls")
        assert run_alerts(t) == []  # a source never announced counts as ok: nothing to say

        add_run("afd", 1, "unreachable", "site unreachable", "DNS lookup failed for www.afd.fr")
        assert run_alerts(t) == ["afd failing"]
        add_run("afd", 2, "unreachable", "site unreachable", "DNS lookup failed for www.afd.fr")
        assert run_alerts(t) == []  # still failing: not told again
        db.reset_caches()  # a restart: the state is in the database, not in memory
        assert run_alerts(t) == []
        add_run("afd", 3, "ok", message="6 calls")
        assert run_alerts(t) == ["afd ok"]

        assert len(server.received) == 2
        failing, recovered = server.received
        assert failing.rcpt_tos == [MAINTAINER]
        assert subjects(server) == [
            "[fundradar] Agence française de développement (AFD): site unreachable (unreachable)",
            "[fundradar] Agence française de développement (AFD): recovered",
        ]
        body = failing.message.get_body(preferencelist=("plain",)).get_content()
        assert "DNS lookup failed for www.afd.fr" in body
        assert "It was failing: site unreachable." in recovered.message.get_body(
            preferencelist=("plain",)).get_content()  # fmt: skip
    with db.session_scope() as s:
        state = s.get(SourceAlertState, "afd")
        assert state is not None and state.state == "ok" and state.status == "ok"


def test_a_mail_that_could_not_go_is_tried_again_not_forgotten(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    add_run("anr", 0, "http-error", "error 503", "HTTP 503 from https://anr.fr/fr/appels/")
    down = smtp_transport(monkeypatch, closed_port())
    assert run_alerts(down) == []  # the server is down: nothing recorded as told
    with db.session_scope() as s:
        assert s.get(SourceAlertState, "anr") is None
    with SmtpServer() as server:
        assert run_alerts(smtp_transport(monkeypatch, server.port)) == ["anr failing"]
        anr = "Agence nationale de la recherche (ANR)"
        assert subjects(server) == [f"[fundradar] {anr}: error 503 (http-error)"]


def test_possibly_broken_is_announced_and_sample_runs_are_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at = T0
    with db.session_scope() as s:
        for week in range(3):  # three "ok" runs with nothing new or updated
            at = T0 + timedelta(days=7 * week)
            s.add(CrawlRun(source="auf", started_at=at, finished_at=at, status="ok",
                           items_seen=3, message="3 calls"))  # fmt: skip
        s.add(CrawlRun(source="ird", started_at=at, finished_at=at, status="empty",
                       cause="no calls found, the site may have changed", sample=True))  # fmt: skip
    with SmtpServer() as server:
        assert run_alerts(smtp_transport(monkeypatch, server.port)) == ["auf failing"]
        assert "possibly broken: no new or updated call in 3 runs" in subjects(server)[0]


def test_crawls_alert_the_maintainer_once_per_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault_server: FaultServer
) -> None:
    """Three real crawls (child processes): down, down, back. Two mails, from the crawls."""
    folder = use_sources(tmp_path, monkeypatch, [html_source("t_alert", fault_server.url("/x"))])
    recipients = (folder / "recipients.yaml").read_text(encoding="utf-8")
    (folder / "recipients.yaml").write_text(
        recipients.replace("maintainer: dcrm@oecs.int", f"maintainer: {MAINTAINER}"), "utf-8"
    )
    fault_server.route("/x", Page("gone", status=404))
    with SmtpServer() as server:
        smtp_transport(monkeypatch, server.port)  # sets the environment the crawls inherit
        statuses = []
        for page in (None, None, Page(listing("Alert", 2, first=18))):
            if page is not None:
                fault_server.route("/x", page)
            statuses.append(crawl(["t_alert"])[0].status)
        assert statuses == ["http-error", "http-error", "ok"]
        assert subjects(server) == [
            "[fundradar] Funder T_ALERT: error 404 (http-error)",
            "[fundradar] Funder T_ALERT: recovered",
        ]


def test_without_smtp_alerts_go_to_the_outbox_one_file_each(tmp_path: Path) -> None:
    add_run("afd", 0, "blocked", "blocked by robots.txt", "robots.txt disallows 2 start URLs")
    outbox = AlertOutbox(tmp_path / "outbox" / "maintainer")
    with db.session_scope() as s:
        sent = alert_changes(s, transport=outbox, maintainer=MAINTAINER, mail_from="f@oecs.example")
    add_run("afd", 1, "ok", message="6 calls")
    with db.session_scope() as s:
        sent += alert_changes(s, transport=outbox, maintainer=MAINTAINER,
                              mail_from="f@oecs.example")  # fmt: skip
    files = sorted((tmp_path / "outbox" / "maintainer").glob("*.eml"))
    assert [a.state for a in sent] == ["failing", "ok"] and len(files) == 2
    first = message_from_bytes(files[0].read_bytes(), policy=default)
    assert "blocked by robots.txt" in str(first["Subject"])


def test_a_throwaway_crawl_can_turn_alerts_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`FUNDRADAR_MAINTAINER_ALERTS=0` (for crawls in a temporary home): no mail, no state."""
    use_sources(tmp_path, monkeypatch,
                [html_source("t_quiet", f"http://127.0.0.1:{closed_port()}/x")])  # fmt: skip
    monkeypatch.setenv("FUNDRADAR_MAINTAINER_ALERTS", "0")
    with SmtpServer() as server:
        smtp_transport(monkeypatch, server.port)
        assert crawl(["t_quiet"])[0].status == "unreachable"
        assert server.received == []
    with db.session_scope() as s:
        assert s.get(SourceAlertState, "t_quiet") is None
