"""Alerts beyond e-mail: Apprise channels against a local webhook receiver on 127.0.0.1, and
instant alerts for new high-band calls (mail to aiosmtpd, message to the webhook), never twice.

The receiver is a tiny http.server started by the test (Apprise's `json://` posts JSON to it);
the calls are reconstructed — not captures.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from fundradar.alerts import subscriptions as subs
from fundradar.alerts.channels import post
from fundradar.alerts.instant import send_instant
from fundradar.alerts.mailer import OutboxTransport
from fundradar.alerts.maintainer import alert_changes
from fundradar.pipeline import db
from fundradar.pipeline.health import latest_health
from fundradar.pipeline.models import InstantAlert
from tests.digest_support import SmtpServer, add_call, add_run, free_port, recipients_config

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SECRET = "k" * 40
PUBLIC = "https://fundradar.oecs.example"


class Receiver:
    """A webhook on 127.0.0.1 that records each JSON body; `status` is what it answers."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                outer.paths.append(self.path)
                outer.bodies.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "hooks/SECRET-TOKEN-0123456789") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        monkeypatch.setenv("FUNDRADAR_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("FUNDRADAR_SMTP_PORT", str(server.port))
        monkeypatch.setenv("FUNDRADAR_SMTP_SECURITY", "none")
        monkeypatch.setenv("FUNDRADAR_SMTP_TIMEOUT", "5")
        monkeypatch.setenv("FUNDRADAR_PUBLIC_URL", PUBLIC)
        monkeypatch.setenv("FUNDRADAR_SECRET_KEY", SECRET)
        yield server


def test_post_reaches_the_webhook_and_a_failure_says_why_without_the_secret(
    receiver: Receiver,
) -> None:
    ok = post(receiver.url(), title="A title", body="A body")
    assert ok.ok and receiver.bodies[0]["title"] == "A title"
    assert receiver.bodies[0]["message"] == "A body"
    assert receiver.paths == ["/hooks/SECRET-TOKEN-0123456789"]

    receiver.status = 500
    bad = post(receiver.url(), title="t", body="b")
    assert not bad.ok and "500" in bad.error
    dead = post(f"json://127.0.0.1:{free_port()}/hooks/SECRET-TOKEN-0123456789", title="t",
                body="b")  # fmt: skip
    assert not dead.ok and "refused" in dead.error.lower()
    for result in (bad, dead):
        assert "SECRET" not in result.error and "SECRET" not in result.where


def _instant_sub(channel: str | None, **filters: Any) -> int:
    with db.session_scope() as s:
        sub = subs.subscribe(s, email="ana@oecs.example", created_by="test",
                             frequency="instant", channel=channel,
                             now=NOW - dt.timedelta(days=1), **filters)  # fmt: skip
        return sub.id


def test_instant_high_calls_by_mail_and_channel_once(smtp: SmtpServer, receiver: Receiver) -> None:
    _instant_sub(receiver.url(), themes=["ocean"])
    old = add_call(title="Seen before she subscribed", themes=["ocean"],
                   now=NOW - dt.timedelta(days=30))  # fmt: skip
    high = add_call(title="Blue economy in small island states", themes=["ocean"], score=91,
                    reasons=["Open to OECS member states", "Theme: ocean"], now=NOW)  # fmt: skip
    add_call(title="Medium ocean call", themes=["ocean"], band="medium", now=NOW)
    add_call(title="High health call", themes=["health"], now=NOW)
    cfg = recipients_config([])

    report = send_instant(now=NOW, config=cfg)
    assert report.ok, report.problems
    assert report.sent == [("ana@oecs.example", high, "mail"),
                           ("ana@oecs.example", high, "channel")]  # fmt: skip
    (mail,) = smtp.received
    msg = mail.message
    assert "Blue economy in small island states" in str(msg["Subject"])
    body = msg.get_content()
    assert "Relevance: high (91/100)" in body and "Open to OECS member states" in body
    assert f"{PUBLIC}/calls/{high}" in body
    assert msg["List-Unsubscribe"].startswith(f"<{PUBLIC}/unsubscribe/")
    (hook,) = receiver.bodies
    assert "Blue economy in small island states" in hook["title"]
    assert "Relevance: high" in hook["message"]
    assert f"{PUBLIC}/calls/{high}" in hook["message"]
    assert "https://funder.example.org/calls/" in hook["message"]  # the funder's page

    again = send_instant(now=NOW, config=cfg)  # a second crawl: nothing told twice
    assert again.sent == [] and len(smtp.received) == 1 and len(receiver.bodies) == 1
    with db.session_scope() as s:
        told = {(a.call_id, a.way) for a in s.scalars(select(InstantAlert))}
    assert told == {(high, "mail"), (high, "channel")} and old not in {c for c, _ in told}


def test_a_failing_channel_is_reported_and_does_not_stop_mail(
    smtp: SmtpServer, receiver: Receiver
) -> None:
    _instant_sub(receiver.url())
    call = add_call(title="High call for everyone", now=NOW)
    receiver.status = 503
    report = send_instant(now=NOW, config=recipients_config([]))
    assert report.sent == [("ana@oecs.example", call, "mail")]
    (problem,) = report.problems
    assert "channel json://127.0.0.1" in problem and "503" in problem
    assert "SECRET" not in problem
    assert len(smtp.received) == 1
    receiver.status = 200  # repaired: the channel gets it after the next crawl, mail not again
    report = send_instant(now=NOW, config=recipients_config([]))
    assert report.sent == [("ana@oecs.example", call, "channel")] and len(smtp.received) == 1


def test_unsubscribed_and_weekly_subscriptions_get_no_instant_alert(
    smtp: SmtpServer, receiver: Receiver
) -> None:
    sub_id = _instant_sub(receiver.url())
    with db.session_scope() as s:
        subs.subscribe(s, email="ben@oecs.example", created_by="test", frequency="weekly",
                       channel=receiver.url(), now=NOW - dt.timedelta(days=1))  # fmt: skip
        row = s.get(subs.Subscription, sub_id)
        assert row is not None
        subs.unsubscribe(s, row)
    add_call(title="High call", now=NOW)
    assert send_instant(now=NOW, config=recipients_config([])).sent == []
    assert smtp.received == [] and receiver.bodies == []


def test_maintainer_channel_gets_source_alerts_and_its_failure_does_not_stop_mail(
    tmp_path: Any, receiver: Receiver
) -> None:
    add_run("eu_ft", at=NOW, status="unreachable", seen=0, message="connection refused")
    outbox = OutboxTransport(tmp_path / "outbox")
    with db.session_scope() as s:
        health = [h for h in latest_health(s) if h.source == "eu_ft"]
        assert health, "eu_ft is a configured source"
        receiver.status = 500
        (alert,) = alert_changes(s, transport=outbox, maintainer="dcrm@oecs.example",
                                 mail_from="fundradar@oecs.example", health=health,
                                 channel=receiver.url())  # fmt: skip
    assert alert.sent and not alert.posted and "500" in (alert.channel_error or "")
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    assert len(receiver.bodies) == 1  # it was tried
    assert "Source: eu_ft" in receiver.bodies[0]["message"]

    receiver.status = 200
    add_run("eu_ft", at=NOW + dt.timedelta(days=7), status="ok", seen=10)
    with db.session_scope() as s:
        health = [h for h in latest_health(s) if h.source == "eu_ft"]
        (alert,) = alert_changes(s, transport=None, maintainer=None,
                                 mail_from="fundradar@oecs.example", health=health,
                                 channel=receiver.url())  # fmt: skip
    assert alert.posted and "recovered" in receiver.bodies[-1]["title"]


def test_after_crawl_never_raises_into_the_crawl(monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken setting (here the SMTP security) is reported, not raised: the crawl that just
    finished is not marked failed because of its alerts."""
    from fundradar.alerts.instant import after_crawl

    said: list[str] = []
    monkeypatch.setenv("FUNDRADAR_SMTP_SECURITY", "carrier-pigeon")
    assert after_crawl(echo=said.append) is None
    assert said and "FUNDRADAR_SMTP_SECURITY" in said[0]
