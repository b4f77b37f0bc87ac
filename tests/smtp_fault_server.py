"""An SMTP server on 127.0.0.1 that misbehaves on demand (aiosmtpd), for the fault tests.

Reconstructed faults, not captures: each is what a real relay does in that situation, as
RFC 5321 describes it.

    with FaultySmtpServer() as smtp:
        smtp.rcpt_replies["ana@oecs.example"] = ["450 4.2.1 mailbox busy"]  # once, then 250
        smtp.data_replies = ["421 4.3.2 shutting down"]  # the next DATA, then recovery
        smtp.busy_ehlo = 2  # the next 2 connections get 421 at EHLO and are closed
        smtp.drop_data = 1  # the next DATA: connection dropped before any reply
        smtp.accept_delay = 2.0  # every DATA answered after 2 s
        smtp.hold_connection = 3  # the 3rd connection gets no EHLO reply for 30 s
        smtp.down()  # nothing listens on the port any more (connection refused) ... smtp.up()

    FaultySmtpServer(user="digest", password="right")  # AUTH required; anything else: 535

What it kept is in `received` (one `Got` per accepted message and recipient) and every
command's fate in `events` ("RCPT ana@... -> 450 ..."), so a test can say what happened where.
`per_recipient()` counts accepted messages by address; `duplicates()` lists the addresses that
got one week's digest more than once.

`smtp_fault_server` is a pytest fixture (import it into a test module) that starts one and
stops it after the test.
"""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

WEEK_HEADER = "X-Fundradar-Week"


@dataclass
class Got:
    recipient: str
    mail_from: str
    message_id: str
    week: str
    subject: str
    content: bytes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _reply_and_close(server, reply: str) -> str:  # type: ignore[no-untyped-def]
    """421 means "closing the channel": the reply goes out, then the connection is closed
    before the client can say anything more."""
    await server.push(reply)
    server.transport.close()
    return reply  # written nowhere: the transport is closed


@dataclass
class _Handler:
    owner: FaultySmtpServer
    received: list[Got] = field(default_factory=list)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # type: ignore[no-untyped-def]
        o = self.owner
        o.connections += 1
        if o.hold_connection == o.connections:
            o.events.append(f"EHLO #{o.connections} -> held")
            await asyncio.sleep(30)  # the client is killed meanwhile (or times out)
        if o.busy_ehlo:
            o.busy_ehlo -= 1
            o.events.append("EHLO -> 421 (busy)")
            await _reply_and_close(server, "421 4.3.2 too busy, try again later")
            return []
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        o = self.owner
        queued = o.rcpt_replies.get(address.lower())
        if queued:
            reply = queued.pop(0)
            o.events.append(f"RCPT {address} -> {reply}")
            if reply.startswith("421"):
                return await _reply_and_close(server, reply)
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        o = self.owner
        o.data_commands += 1
        rcpt = ",".join(envelope.rcpt_tos)
        if o.drop_data:
            o.drop_data -= 1
            o.events.append(f"DATA for {rcpt} -> connection dropped")
            server.transport.close()
            return "421 4.4.2 connection dropped"  # never reaches the client
        if o.data_replies:
            reply = o.data_replies.pop(0)
            o.events.append(f"DATA for {rcpt} -> {reply}")
            if reply.startswith("421"):
                return await _reply_and_close(server, reply)
            return reply
        if o.accept_delay:
            await asyncio.sleep(o.accept_delay)
        msg = message_from_bytes(envelope.original_content or envelope.content,
                                 policy=default_policy)  # fmt: skip
        for address in envelope.rcpt_tos:
            self.received.append(
                Got(address.lower(), envelope.mail_from, str(msg["Message-ID"]),
                    str(msg[WEEK_HEADER] or ""), str(msg["Subject"]),
                    envelope.original_content or envelope.content)
            )  # fmt: skip
        o.events.append(f"DATA for {rcpt} -> 250 accepted")
        return "250 2.0.0 accepted"


class FaultySmtpServer:
    """aiosmtpd on 127.0.0.1 (plain SMTP), with faults switched on and off by attributes."""

    def __init__(self, *, user: str | None = None, password: str | None = None) -> None:
        self.port = free_port()
        self.rcpt_replies: dict[str, list[str]] = {}
        self.data_replies: list[str] = []
        self.busy_ehlo = 0
        self.drop_data = 0
        self.accept_delay = 0.0
        self.hold_connection: int | None = None  # the Nth connection waits at EHLO (30 s)
        self.connections = 0
        self.data_commands = 0
        self.events: list[str] = []
        self.logins: list[tuple[str, bool]] = []
        self.handler = _Handler(self)
        self._user, self._password = user, password
        self._controller: Controller | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    def _make_controller(self) -> Controller:
        kwargs: dict[str, Any] = {}
        if self._user is not None:
            expected = (self._user, self._password)

            def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
                ok = (
                    isinstance(auth_data, LoginPassword)
                    and (auth_data.login.decode(), auth_data.password.decode()) == expected
                )
                login = auth_data.login.decode() if isinstance(auth_data, LoginPassword) else "?"
                self.logins.append((login, ok))
                self.events.append(f"AUTH {login} -> {'235' if ok else '535'}")
                return AuthResult(success=ok, handled=False, auth_data=auth_data)

            # loopback only: login without TLS is allowed by the client for 127.0.0.1
            kwargs.update(authenticator=authenticator, auth_require_tls=False,
                          auth_required=True)  # fmt: skip
        return Controller(self.handler, hostname="127.0.0.1", port=self.port, **kwargs)

    def up(self) -> FaultySmtpServer:
        if self._controller is None:
            self._controller = self._make_controller()
            self._controller.start()
        return self

    def down(self) -> None:
        """Stop listening: a connection is now refused, as with a relay that is down."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> FaultySmtpServer:
        return self.up()

    def __exit__(self, *exc: object) -> None:
        self.down()

    # --- what happened -----------------------------------------------------------------------
    @property
    def received(self) -> list[Got]:
        return self.handler.received

    def per_recipient(self) -> dict[str, int]:
        return dict(Counter(g.recipient for g in self.received))

    def duplicates(self) -> list[str]:
        """Addresses that were given the same week's digest more than once."""
        weeks = Counter((g.recipient, g.week) for g in self.received)
        return sorted({r for (r, _w), n in weeks.items() if n > 1})


@pytest.fixture
def smtp_fault_server(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A running FaultySmtpServer, with FUNDRADAR_SMTP_* pointing at it (plain, 5 s timeout)."""
    with FaultySmtpServer() as server:
        point_env_at(monkeypatch, server)
        yield server


def point_env_at(monkeypatch: pytest.MonkeyPatch, server: FaultySmtpServer) -> None:
    monkeypatch.setenv("FUNDRADAR_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("FUNDRADAR_SMTP_PORT", str(server.port))
    monkeypatch.setenv("FUNDRADAR_SMTP_SECURITY", "none")
    monkeypatch.setenv("FUNDRADAR_SMTP_TIMEOUT", "5")
