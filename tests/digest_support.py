"""Helpers for the digest, mailer, scheduler and weekly-job tests.

- `add_call` / `add_run` / `add_verdict`: rows written straight into the test's database.
- `recipients_config`: a validated `RecipientsFile` without touching config/.
- `SmtpServer`: a real SMTP server (aiosmtpd) on 127.0.0.1 that records what it accepted and
  can refuse, fail temporarily, drop the connection, require STARTTLS or implicit TLS and login.
- `make_tls_files`: a throwaway CA and a server certificate for 127.0.0.1 (generated per test
  run with `cryptography`; nothing is bundled).
"""

from __future__ import annotations

import datetime as dt
import email
import socket
import ssl
from dataclasses import dataclass, field
from email.message import Message
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from fundradar.config.loader import RecipientsFile
from fundradar.pipeline import db
from fundradar.pipeline.models import CallChange, CallRow, CrawlRun, Verdict

UTC = dt.UTC

_counter = 0


def add_call(**fields: Any) -> int:
    """Insert one call (sensible defaults for what the test does not care about); its id."""
    global _counter
    _counter += 1
    now = fields.pop("now", dt.datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    row = CallRow(
        key=fields.pop("key", f"test:{_counter}"),
        source=fields.pop("source", "eu_ft"),
        url=fields.get("url", f"https://funder.example.org/calls/{_counter}"),
        canonical_url=fields.pop("canonical_url", f"https://funder.example.org/calls/{_counter}"),
        title=fields.pop("title", f"Call number {_counter}"),
        content_hash=fields.pop("content_hash", f"hash-{_counter}-a"),
        first_seen=fields.pop("first_seen", now),
        last_seen=fields.pop("last_seen", now),
    )
    fields.pop("url", None)
    defaults = {
        "funder": "European Commission", "programme": "Horizon Europe", "status": "open",
        "band": "high", "score": 80, "reasons": ["Open to OECS member states"], "themes": [],
        "deadline": now + dt.timedelta(days=60), "language": "en",
    }  # fmt: skip
    for name, value in {**defaults, **fields}.items():
        setattr(row, name, value)
    if row.deadline is not None:
        row.deadlines = [row.deadline.isoformat()]
    with db.session_scope() as s:
        s.add(row)
        s.flush()
        return row.id


def change_call(call_id: int, *, at: dt.datetime, **new: Any) -> None:
    """Change tracked fields the way `pipeline.store.upsert` records it (CallChange rows)."""
    with db.session_scope() as s:
        row = s.get_one(CallRow, call_id)
        for name, value in new.items():
            if name == "deadline":
                old = list(row.deadlines or [])
                row.deadline = value
                row.deadlines = [value.isoformat()] if value else []
                s.add(CallChange(call_id=call_id, field="deadlines", old_value=old,
                                 new_value=list(row.deadlines), seen_at=at))  # fmt: skip
                continue
            old = getattr(row, name)
            setattr(row, name, value)
            old_j = old.isoformat() if isinstance(old, dt.datetime) else old
            new_j = value.isoformat() if isinstance(value, dt.datetime) else value
            s.add(CallChange(call_id=call_id, field=name, old_value=old_j, new_value=new_j,
                             seen_at=at))  # fmt: skip
        row.content_hash = f"{row.content_hash}+{at.isoformat()}"
        row.updated_at = at


def add_run(source: str, *, at: dt.datetime, status: str = "ok", seen: int = 10,
            message: str | None = None) -> None:  # fmt: skip
    with db.session_scope() as s:
        s.add(CrawlRun(source=source, started_at=at, finished_at=at + dt.timedelta(minutes=3),
                       status=status, items_seen=seen, message=message))  # fmt: skip


def add_verdict(call_id: int, verdict: str, *, at: dt.datetime | None = None) -> None:
    with db.session_scope() as s:
        s.add(Verdict(call_id=call_id, verdict=verdict, author="tester",
                      created_at=at or dt.datetime(2026, 11, 1, tzinfo=UTC)))  # fmt: skip


def recipients_config(recipients: list[dict[str, Any]], **digest: Any) -> RecipientsFile:
    return RecipientsFile.model_validate(
        {
            "digest": {"from": "fundradar@oecs.example", "reply_to": "dcrm@oecs.example",
                       **digest},
            "recipients": recipients,
        }
    )  # fmt: skip


def parse(raw: bytes) -> Message:
    return email.message_from_bytes(raw, policy=default_policy)


def parts(msg: Message) -> tuple[str, str]:
    """(text, html) bodies of a multipart/alternative digest."""
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


# --------------------------------------------------------------------------------------------
# TLS


def make_tls_files(folder: Path) -> tuple[Path, Path, Path]:
    """(ca.pem, server-cert.pem, server-key.pem): a throwaway CA signing a 127.0.0.1 cert."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fundradar test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                          content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, encipher_only=False,
                          decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    ca_pem, cert_pem, key_pem = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption())
    )  # fmt: skip
    return ca_pem, cert_pem, key_pem


# --------------------------------------------------------------------------------------------
# SMTP server


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    login: str | None
    tls: bool

    @property
    def message(self) -> Message:
        return parse(self.content)


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # address -> "550 ..." reply
    data_replies: list[str] = field(default_factory=list)  # replies for the next DATA commands
    drop_next: int = 0  # drop the connection at the next N DATA commands
    data_commands: int = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address.lower() in self.refuse:
            return self.refuse[address.lower()]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.data_commands += 1
        if self.drop_next:
            self.drop_next -= 1
            server.transport.close()  # the connection dies mid-conversation
            return "421 4.4.2 connection dropped"
        if self.data_replies:
            return self.data_replies.pop(0)
        auth = session.auth_data if session.authenticated else None
        login = auth.login.decode() if isinstance(auth, LoginPassword) else None
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content
                     or envelope.content, login, _encrypted(server, session))
        )  # fmt: skip
        return "250 2.0.0 accepted"


def _encrypted(server, session) -> bool:  # type: ignore[no-untyped-def]
    """STARTTLS sets session.ssl; implicit TLS shows in the transport."""
    return session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    """aiosmtpd on 127.0.0.1: plain, STARTTLS (required) or implicit TLS; optional login."""

    def __init__(
        self,
        *,
        security: str = "none",
        cert: tuple[Path, Path] | None = None,
        user: str | None = None,
        password: str | None = None,
    ) -> None:
        self.handler = Handler()
        self.port = free_port()
        self.security = security
        self.logins: list[tuple[str, bool]] = []
        kwargs: dict[str, Any] = {}
        ctx = None
        if security in ("starttls", "ssl"):
            assert cert is not None
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(str(cert[0]), str(cert[1]))
        if security == "starttls":
            kwargs.update(tls_context=ctx, require_starttls=True)
        elif security == "ssl":
            kwargs.update(ssl_context=ctx)
        if user is not None:
            expected = (user, password)

            def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
                ok = (
                    isinstance(auth_data, LoginPassword)
                    and (auth_data.login.decode(), auth_data.password.decode()) == expected
                )
                self.logins.append((auth_data.login.decode(), ok))
                return AuthResult(success=ok, handled=False, auth_data=auth_data)

            kwargs.update(authenticator=authenticator, auth_require_tls=security != "none",
                          auth_required=True)  # fmt: skip
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **kwargs)

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
