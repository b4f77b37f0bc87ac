"""Deliver one message: by SMTP (STARTTLS, implicit TLS or none, with login), or to the outbox.

SMTP failures are sorted into *temporary* (4xx replies, dropped or refused connections,
timeouts) and *permanent* (5xx replies, login refused, TLS not offered or certificate not
trusted): temporary ones are retried with growing pauses, permanent ones at once raise
`MailError(permanent=True)`. Either way the caller records the failure for that recipient and
goes on with the others.

Failures are also sorted by *scope*: one recipient's (its RCPT or its DATA refused) or the
server's (nobody listening, timeouts, TLS, 421 "closing channel", MAIL FROM or login refused).
A server failure that outlasts the retries marks the transport `unavailable`: every later
`send` in this run fails at once without a connection, so five recipients with the relay down
cost one backoff, not five; the caller leaves them pending for the next run.

`send(..., on_accepted=cb)` calls `cb(receipt)` the moment the server has accepted DATA and
before QUIT, so the caller can record the acceptance first; QUIT comes after, and its errors
are ignored (the message is the server's once DATA was accepted). An error in `cb` is never
taken for a delivery failure, and never retried.

The password is handed to smtplib only; it is never logged or put in an error message.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import socket
import ssl
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from fundradar.alerts.message import WEEK_HEADER, address_of
from fundradar.exceptions import MailError
from fundradar.settings import SmtpSettings

log = logging.getLogger("fundradar.mailer")

LOOPBACK = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class Receipt:
    transport: str  # smtp | outbox
    detail: str  # 'smtp.example.org:587' or the .eml path
    attempts: int = 1


OnAccepted = Callable[[Receipt], None]


class Transport(Protocol):
    name: str

    def send(
        self, msg: EmailMessage, *, recipient: str, on_accepted: OnAccepted | None = None
    ) -> Receipt: ...


# --------------------------------------------------------------------------------------------
# Outbox


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9@._+-]+", "_", text).strip("._") or "recipient"


class OutboxTransport:
    """Writes `<outbox>/<week>--<address>.eml`; any mail client opens it.

    Written to a temporary file and renamed, so a crash never leaves half a message.
    """

    name = "outbox"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path_for(self, msg: EmailMessage, recipient: str) -> Path:
        week = _slug(str(msg.get(WEEK_HEADER) or "digest"))
        return self.folder / f"{week}--{_slug(recipient.lower())}.eml"

    def send(
        self, msg: EmailMessage, *, recipient: str, on_accepted: OnAccepted | None = None
    ) -> Receipt:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            target = self.path_for(msg, recipient)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".writing-", suffix=".eml")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(msg.as_bytes())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            reason = f"cannot write to the outbox {self.folder}: {exc}"
            raise MailError(reason, permanent=True) from None
        receipt = Receipt("outbox", str(target))
        if on_accepted is not None:
            on_accepted(receipt)
        return receipt


# --------------------------------------------------------------------------------------------
# SMTP


def classify(exc: BaseException) -> tuple[bool, str]:
    """(temporary?, a one-line reason without secrets) for an exception from smtplib/ssl."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return False, f"login refused ({exc.smtp_code} {_reply(exc.smtp_error)})"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = list(exc.recipients.values())
        code, text = codes[0] if codes else (550, b"refused")
        return 400 <= code < 500, f"recipient refused ({code} {_reply(text)})"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return False, f"the server does not support what was asked: {exc}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True, f"connection dropped ({exc or 'server closed it'})"
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        what = type(exc).__name__.removeprefix("SMTP").removesuffix("Error").lower() or "reply"
        if code < 0:  # SMTPConnectError without a reply: nobody answered properly
            return True, f"no proper greeting from the server ({_reply(exc.smtp_error)})"
        return 400 <= code < 500, f"{what} refused ({code} {_reply(exc.smtp_error)})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return False, f"the server's TLS certificate is not trusted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return True, f"TLS error ({exc.reason or exc})"
    if isinstance(exc, socket.gaierror):
        return True, f"cannot resolve the SMTP host ({exc.strerror})"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return True, "timed out"
    if isinstance(exc, OSError):
        return True, f"connection failed ({exc.strerror or exc})"
    if isinstance(exc, smtplib.SMTPException):
        return True, str(exc)
    return False, f"{type(exc).__name__}: {exc}"


def server_wide(exc: BaseException) -> bool:
    """Would every recipient fail the same way? (the relay, not one address, is the problem)"""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return any(code == 421 for code, _text in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPDataError):
        return exc.smtp_code == 421  # "service not available, closing transmission channel"
    if isinstance(exc, smtplib.SMTPResponseException):
        # greeting, HELO, AUTH, MAIL FROM: the same answer for every recipient
        return True
    return isinstance(exc, (smtplib.SMTPException, OSError))


def _reply(text: bytes | str | None) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join((text or "").split())[:200]


class _DataWait:
    """Waits up to `data_timeout` for the reply to the end of DATA (RFC 5321 4.5.3.2.6 asks
    10 minutes): a relay slow to accept is not taken for a failure and sent the message twice.
    """

    data_timeout: float = 600.0
    sock: socket.socket | None

    def data(self, msg):  # type: ignore[no-untyped-def]
        sock = self.sock
        before = sock.gettimeout() if sock is not None else None
        if sock is not None and before is not None:
            sock.settimeout(max(before, self.data_timeout))
        try:
            return super().data(msg)  # type: ignore[misc]
        finally:
            if sock is not None and self.sock is sock:
                sock.settimeout(before)


class _SMTP(_DataWait, smtplib.SMTP):
    pass


class _SMTP_SSL(_DataWait, smtplib.SMTP_SSL):
    pass


class SmtpTransport:
    """One SMTP connection per message, retried with backoff on temporary failures.

    A fresh connection per attempt keeps a retry simple after a dropped connection; a digest
    goes to a handful of people, so the extra handshakes cost nothing that matters.
    """

    name = "smtp"

    def __init__(
        self,
        smtp: SmtpSettings,
        *,
        mail_from: str,
        attempts: int = 4,
        backoff: float = 5.0,
        factor: float = 3.0,
        sleep: Callable[[float], None] = time.sleep,
        ssl_context: ssl.SSLContext | None = None,
        data_timeout: float = 600.0,
    ) -> None:
        if not smtp.host:
            raise ValueError("SmtpTransport needs FUNDRADAR_SMTP_HOST")
        self.smtp = smtp
        self.envelope_from = address_of(mail_from)
        self.attempts = max(1, attempts)
        self.backoff, self.factor, self.sleep = backoff, factor, sleep
        self.data_timeout = data_timeout
        # the system's trust store (SSL_CERT_FILE / SSL_CERT_DIR are honoured), hostname checked
        self.ssl_context = ssl_context or ssl.create_default_context()
        # set when the server itself failed (not one recipient): the rest of the run stops
        self.unavailable: str | None = None

    @property
    def where(self) -> str:
        return f"{self.smtp.host}:{self.smtp.port}"

    def send(
        self, msg: EmailMessage, *, recipient: str, on_accepted: OnAccepted | None = None
    ) -> Receipt:
        if self.unavailable:
            err = MailError(f"{recipient}: not tried: {self.unavailable}", permanent=False)
            err.attempts = 0  # type: ignore[attr-defined]
            raise err
        last = ""
        for attempt in range(1, self.attempts + 1):
            try:
                server = self._deliver(msg, recipient)
            except MailError as exc:  # a setting that fails every recipient alike
                self.unavailable = f"{self.where}: {exc}"
                exc.attempts = attempt  # type: ignore[attr-defined]
                raise
            except Exception as exc:
                temporary, reason = classify(exc)
                last = reason
                if not temporary:
                    if server_wide(exc):
                        self.unavailable = f"{self.where} {reason}"
                    err = MailError(f"{recipient} via {self.where}: {reason}", permanent=True)
                    err.attempts = attempt  # type: ignore[attr-defined]
                    raise err from None
                if attempt < self.attempts:
                    pause = self.backoff * self.factor ** (attempt - 1)
                    log.warning(
                        "temporary failure sending to %s via %s (%s); try %d of %d in %.0f s",
                        recipient, self.where, reason, attempt + 1, self.attempts, pause,
                    )  # fmt: skip
                    self.sleep(pause)
                    continue
                if server_wide(exc):
                    self.unavailable = f"{self.where} {reason}"
                break
            receipt = Receipt("smtp", self.where, attempt)
            # DATA accepted: the message is the server's. Record that first, then QUIT.
            try:
                if on_accepted is not None:
                    on_accepted(receipt)
            finally:
                _quit(server)
            return receipt
        err = MailError(
            f"{recipient} via {self.where}: {last} (gave up after {self.attempts} tries)",
            permanent=False,
        )
        err.attempts = self.attempts  # type: ignore[attr-defined]
        raise err

    def _connect(self) -> smtplib.SMTP:
        s = self.smtp
        server: smtplib.SMTP
        if s.security == "ssl":
            server = _SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self.ssl_context)
        else:
            server = _SMTP(s.host, s.port, timeout=s.timeout)
        server.data_timeout = self.data_timeout  # type: ignore[attr-defined]
        return server

    def _deliver(self, msg: EmailMessage, recipient: str) -> smtplib.SMTP:
        """Up to the server's reply to DATA; returns the open connection (QUIT is the
        caller's, after it has recorded the acceptance). Closes it on any failure."""
        s = self.smtp
        if s.user and s.security == "none" and (s.host or "").lower() not in LOOPBACK:
            raise MailError(
                f"refusing to send the SMTP password to {self.where} unencrypted; set "
                "FUNDRADAR_SMTP_SECURITY to starttls or ssl",
                permanent=True,
            )
        server = self._connect()
        try:
            _hello(server)
            if s.security == "starttls":
                server.starttls(context=self.ssl_context)
                _hello(server)
            if s.user:
                server.login(s.user, s.password or "")
            server.send_message(msg, from_addr=self.envelope_from, to_addrs=[recipient])
        except BaseException:
            _quit(server)
            raise
        return server


def _hello(server: smtplib.SMTP) -> None:
    """EHLO, and take a refusal (421 "too busy") as one: smtplib only returns the code."""
    code, reply = server.ehlo()
    if not 200 <= code < 300:
        raise smtplib.SMTPHeloError(code, reply)


def _quit(server: smtplib.SMTP) -> None:
    """QUIT politely; a failing QUIT changes nothing (and is never waited on for long)."""
    try:
        server.quit()
    except Exception:
        server.close()


def transport_from_settings(smtp: SmtpSettings, outbox: Path, *, mail_from: str) -> Transport:
    """SMTP when FUNDRADAR_SMTP_HOST is set, else the outbox folder."""
    if smtp.host:
        return SmtpTransport(smtp, mail_from=mail_from)
    return OutboxTransport(outbox)
