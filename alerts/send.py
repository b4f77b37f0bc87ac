"""Send this week's digest to every recipient, exactly once, resumably.

The bookkeeping lives in three tables:

- `Digest`: one row per ISO week ("2026-W48", unique).
- `Delivery`: one row per week and recipient (unique): pending -> sending -> sent | failed.
- `DigestItem`: the calls a sent delivery carried, in which section, with their content hash,
  which is how the next digest knows what this person has already seen.

For each recipient: compose, mark the delivery *sending* and commit, hand the message to the
transport, then mark it *sent* and record its items in one commit. A second run in the same
week skips every *sent* delivery; a run after a crash sends to the recipients not yet *sent*.

The one window exactly-once cannot close: the process dies after the SMTP server accepted the
message and before the *sent* commit. The next run finds that delivery still *sending*, logs
that it may be a duplicate, and sends again with the same Message-ID, so a server or client
that drops duplicate Message-IDs drops it. The window is one database commit long.

Two senders never run at once on one machine: a lock file in FUNDRADAR_HOME is held for the
whole send (the scheduler's digest job and a hand-typed `fundradar digest send` share it).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from alerts.compose import DigestModel, compose, iso_week
from alerts.mailer import Transport, transport_from_settings
from alerts.message import build_message, message_id
from alerts.render import render_html, render_text
from config.loader import Recipient, RecipientsFile, load_recipients
from fundradar import settings as app_settings
from fundradar.exceptions import DigestBusyError, MailError
from fundradar.settings import DISPLAY_TZ
from pipeline import db
from pipeline.models import Delivery, Digest, DigestItem
from pipeline.normalise.dates import format_local

log = logging.getLogger("fundradar.digest")

Echo = Callable[[str], None]


@dataclass
class DeliveryResult:
    recipient: str
    status: str  # sent | skipped | failed | dry-run
    subject: str = ""
    transport: str = ""
    detail: str = ""
    attempts: int = 0
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class SendReport:
    week: str
    results: list[DeliveryResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and all(r.status != "failed" for r in self.results)

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)


@contextlib.contextmanager
def digest_lock(home: Path) -> Iterator[None]:
    """An exclusive, non-blocking lock on `<home>/digest.lock` (released if the process dies)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on a POSIX system: no cross-process lock
        yield
        return
    home.mkdir(parents=True, exist_ok=True)
    path = home / "digest.lock"
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DigestBusyError(
                f"another digest send is running (lock {path}); try again when it has finished"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def mail_from(config: RecipientsFile, env: app_settings.Settings) -> str:
    return env.smtp.mail_from or config.digest.mail_from


def _digest_row(session: Session, week: str, *, create: bool) -> Digest | None:
    row = session.scalars(select(Digest).where(Digest.week == week)).first()
    if row is None and create:
        row = Digest(week=week)
        session.add(row)
        session.flush()
    return row


def _delivery_row(session: Session, digest: Digest, email: str) -> Delivery:
    row = session.scalars(
        select(Delivery).where(Delivery.digest_id == digest.id, Delivery.recipient == email)
    ).first()
    if row is None:
        row = Delivery(digest_id=digest.id, recipient=email, status="pending", attempts=0)
        session.add(row)
        session.flush()
    return row


def render_for(
    session: Session,
    recipient: Recipient,
    config: RecipientsFile,
    *,
    now: datetime,
    week: str,
    exclude_delivery: int | None = None,
) -> tuple[DigestModel, str, str]:
    model = compose(
        session, recipient, config, now=now, week=week, exclude_delivery=exclude_delivery
    )
    return model, render_html(model), render_text(model)


def send_digest(
    *,
    now: datetime | None = None,
    force: bool = False,
    dry_run: bool = False,
    only: str | None = None,
    transport: Transport | None = None,
    config: RecipientsFile | None = None,
    echo: Echo | None = None,
) -> SendReport:
    """Send this week's digest to each recipient who has not had it (all of them with force).

    `now` fixes the clock (tests); `only` limits the run to one configured address.
    """
    env = app_settings.load()
    now = now or datetime.now(UTC)
    config = config or load_recipients(env.config_dir)
    week = iso_week(now, config.schedule.timezone)
    report = SendReport(week)
    say = echo or (lambda _m: None)

    recipients = list(config.recipients)
    if only:
        recipients = [r for r in recipients if r.email.lower() == only.strip().lower()]
        if not recipients:
            report.problems.append(f"{only} is not a recipient in recipients.yaml")
            return report
    if not recipients:
        report.problems.append("no recipients in recipients.yaml: nobody would get the digest")
        return report

    if dry_run:
        _dry_run(report, recipients, config, now=now, week=week, force=force, say=say)
        return report

    sender = mail_from(config, env)
    transport = transport or transport_from_settings(env.smtp, env.outbox, mail_from=sender)
    with digest_lock(env.home):
        for recipient in recipients:
            result = _send_one(
                recipient, config, now=now, week=week, force=force, transport=transport,
                sender=sender,
            )  # fmt: skip
            report.results.append(result)
            say(_result_line(result))
    return report


def _result_line(r: DeliveryResult) -> str:
    if r.status == "sent":
        where = r.detail if r.transport == "outbox" else f"SMTP {r.detail}"
        tries = f", {r.attempts} tries" if r.attempts > 1 else ""
        return f"  sent     {r.recipient}: {r.subject} ({where}{tries})"
    if r.status == "skipped":
        return f"  skipped  {r.recipient}: {r.detail}"
    if r.status == "failed":
        return f"  FAILED   {r.recipient}: {r.detail}"
    return f"  {r.status:<8} {r.recipient}: {r.subject}"


def _send_one(
    recipient: Recipient,
    config: RecipientsFile,
    *,
    now: datetime,
    week: str,
    force: bool,
    transport: Transport,
    sender: str,
) -> DeliveryResult:
    email = recipient.email.lower()
    with db.session_scope() as session:
        digest = _digest_row(session, week, create=True)
        assert digest is not None
        delivery = _delivery_row(session, digest, email)
        if delivery.status == "sent" and not force:
            when = format_local(delivery.sent_at, DISPLAY_TZ) if delivery.sent_at else "?"
            return DeliveryResult(
                recipient.email, "skipped", delivery.subject or "",
                delivery.transport or "", f"already sent for {week} ({when})",
            )  # fmt: skip
        if delivery.status == "sending":
            log.warning(
                "the last digest run stopped while sending %s to %s; it may have arrived. "
                "Sending again with the same Message-ID %s so a duplicate can be dropped.",
                week, email, delivery.message_id,
            )  # fmt: skip
        resend = None
        if force and delivery.status == "sent":
            resend = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        # a forced resend (or a retry) shows what this delivery would carry, not "nothing new"
        model, html, text = render_for(
            session, recipient, config, now=now, week=week, exclude_delivery=delivery.id
        )
        msg_id = (
            delivery.message_id
            if delivery.status == "sending" and delivery.message_id
            else message_id(week, email, sender, resend=resend)
        )
        msg = build_message(
            model, html=html, text=text, mail_from=sender, reply_to=config.digest.reply_to,
            msg_id=msg_id, date=datetime.now(UTC),
        )  # fmt: skip
        delivery.status = "sending"
        delivery.attempts = (delivery.attempts or 0) + 1
        delivery.message_id = msg_id
        delivery.subject = model.subject
        delivery.transport = transport.name
        delivery.error = None
        delivery_id = delivery.id
    # committed: the delivery is 'sending' before a byte leaves

    try:
        receipt = transport.send(msg, recipient=email)
    except MailError as exc:
        tries = getattr(exc, "attempts", 1)
        _mark_failed(delivery_id, str(exc), extra_attempts=tries - 1)
        log.error("digest %s to %s failed: %s", week, email, exc)
        kind = "permanent failure" if exc.permanent else "temporary failure, retries exhausted"
        return DeliveryResult(
            recipient.email, "failed", model.subject, transport.name, f"{kind}: {exc}", tries,
            model.counts,
        )  # fmt: skip
    except Exception as exc:  # a bug or an unexpected error: record it, go on with the others
        _mark_failed(delivery_id, f"{type(exc).__name__}: {exc}", extra_attempts=0)
        log.exception("digest %s to %s failed unexpectedly", week, email)
        return DeliveryResult(
            recipient.email, "failed", model.subject, transport.name,
            f"unexpected error: {type(exc).__name__}: {exc}", 1, model.counts,
        )  # fmt: skip

    with db.session_scope() as session:
        delivery = session.get_one(Delivery, delivery_id)
        delivery.status = "sent"
        delivery.sent_at = datetime.now(UTC)
        delivery.attempts = (delivery.attempts or 0) + receipt.attempts - 1
        delivery.transport = receipt.transport
        delivery.error = None
        session.execute(delete(DigestItem).where(DigestItem.delivery_id == delivery_id))
        for call_id, section, content_hash in model.carried:
            session.add(
                DigestItem(
                    delivery_id=delivery_id, call_id=call_id, recipient=email, section=section,
                    content_hash=content_hash, created_at=now,
                )
            )  # fmt: skip
    log.info("digest %s sent to %s (%s %s)", week, email, receipt.transport, receipt.detail)
    return DeliveryResult(
        recipient.email, "sent", model.subject, receipt.transport, receipt.detail,
        receipt.attempts, model.counts,
    )  # fmt: skip


def _mark_failed(delivery_id: int, error: str, *, extra_attempts: int) -> None:
    with db.session_scope() as session:
        delivery = session.get_one(Delivery, delivery_id)
        delivery.status = "failed"
        delivery.error = error[:2000]
        delivery.attempts = (delivery.attempts or 0) + max(extra_attempts, 0)


def _dry_run(
    report: SendReport,
    recipients: list[Recipient],
    config: RecipientsFile,
    *,
    now: datetime,
    week: str,
    force: bool,
    say: Echo,
) -> None:
    """What a send would do, recording nothing (the session is rolled back)."""
    session = db.session_factory()()
    try:
        digest = _digest_row(session, week, create=False)
        for recipient in recipients:
            email = recipient.email.lower()
            delivery = None
            if digest is not None:
                delivery = session.scalars(
                    select(Delivery).where(
                        Delivery.digest_id == digest.id, Delivery.recipient == email
                    )
                ).first()
            if delivery is not None and delivery.status == "sent" and not force:
                result = DeliveryResult(
                    recipient.email, "skipped", delivery.subject or "", delivery.transport or "",
                    f"already sent for {week}",
                )  # fmt: skip
            else:
                model, _html, _text = render_for(
                    session, recipient, config, now=now, week=week,
                    exclude_delivery=delivery.id if delivery else None,
                )  # fmt: skip
                result = DeliveryResult(
                    recipient.email, "dry-run", model.subject, counts=model.counts
                )
            report.results.append(result)
            say(_result_line(result))
    finally:
        session.rollback()
        session.close()
