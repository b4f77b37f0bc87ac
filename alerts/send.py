"""Send this week's digest to every recipient, exactly once, resumably.

The bookkeeping lives in three tables:

- `Digest`: one row per ISO week ("2026-W48", unique).
- `Delivery`: one row per week and recipient (unique): pending -> sending -> sent | failed
  (*pending* with an `error` when the run stopped before trying that recipient).
- `DigestItem`: the calls a sent delivery carried, in which section, with their content hash,
  which is how the next digest knows what this person has already seen.

For each recipient: compose, mark the delivery *sending* and commit, hand the message to the
transport, and the moment the server has accepted DATA (before QUIT, before anything else that
can fail) mark it *sent* and record its items in one commit. A second run in the same week
skips every *sent* delivery; a run after a crash sends to the recipients not yet *sent*.

When that *sent* commit fails (database locked, disk full), the acceptance goes to an
append-only journal, `<FUNDRADAR_HOME>/digest-journal.jsonl` (fsynced), and the run goes on with
the others; the next run applies the journal to the database before it sends anything, so what
the server accepted is never sent again. Only if the journal cannot be written either is the
acceptance kept in memory for this run alone, and said loudly.

The window exactly-once cannot close is now the time between the server's "250" to DATA and
that commit: milliseconds, with QUIT outside it. A process dying inside it leaves the delivery
*sending*; the next run sends again with the same Message-ID, so a server or client that drops
duplicate Message-IDs drops it.

With the mail server down (refused, timing out, 421, login refused), the transport gives up on
the server after one recipient's retries; the rest are marked *pending* with the cause and the
run stops at once: the next run (or the scheduler's catch-up) tries them again.

A database of sample calls (`crawl --fixtures`, the demo: meta `dataset=sample`, or any crawl
run marked sample) is never mailed over SMTP unless `allow_sample` is given, and then every
subject starts with "[SAMPLE]" (the outbox copies are marked too).

Two senders never run at once, on one machine or on two servers sharing the database: the
send holds the database lease `digest` (`pipeline.locks`) from start to end, renewed by a
heartbeat, and every recipient's *sending* mark is committed together with a renewal of that
lease (fencing): a sender that lost its lease (it stalled past the lease's time to live and
another server took over) marks no one and sends nothing more. A second sender meanwhile gets
`DigestBusyError` naming the holder; a holder that died frees the lease within its time to
live (`DIGEST_LEASE_TTL`), and the next run resumes as after any crash.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fundradar import settings as app_settings
from fundradar.alerts import subscriptions
from fundradar.alerts.compose import DigestModel, compose, is_sample, iso_week
from fundradar.alerts.mailer import Receipt, Transport, transport_from_settings
from fundradar.alerts.message import build_message, message_id
from fundradar.alerts.render import render_html, render_text
from fundradar.config.loader import Recipient, RecipientsFile, load_recipients
from fundradar.exceptions import DigestBusyError, LeaseLostError, MailError, SampleDataError
from fundradar.pipeline import db, locks
from fundradar.pipeline.models import CrawlRun, Delivery, Digest, DigestItem
from fundradar.pipeline.normalise.dates import format_local
from fundradar.settings import DISPLAY_TZ

log = logging.getLogger("fundradar.digest")

Echo = Callable[[str], None]

SAMPLE_PREFIX = "[SAMPLE]"
JOURNAL_NAME = "digest-journal.jsonl"
DIGEST_LEASE = "digest"  # the database lease a send holds (pipeline.locks)
# a dead sender blocks the next one this long at most; the heartbeat renews every third of it
DIGEST_LEASE_TTL = locks.DEFAULT_TTL


@dataclass
class DeliveryResult:
    recipient: str
    status: str  # sent | skipped | failed | pending (not tried) | dry-run
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
    sample: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems and all(
            r.status not in ("failed", "pending") for r in self.results
        )

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)


@contextlib.contextmanager
def digest_claim(*, ttl: float | None = None) -> Iterator[locks.Held]:
    """Hold the database lease `digest` for a whole send; `DigestBusyError` names whoever holds
    it (another process, here or on another server). Released at the end, freed by itself
    within `ttl` seconds if this process dies."""
    with locks.Held(ttl=ttl or DIGEST_LEASE_TTL) as held:
        taken, lease = held.claim(DIGEST_LEASE)
        if not taken:
            raise DigestBusyError(
                f"another digest send is running ({lease.describe()}); try again when it has "
                f"finished (if that process has stopped, its claim ends by "
                f"{lease.expires_at:%H:%M:%S} UTC)"
            )
        yield held


def mail_from(config: RecipientsFile, env: app_settings.Settings) -> str:
    return env.smtp.mail_from or config.digest.mail_from


def is_sample_database(session: Session) -> bool:
    """Does this database hold sample calls (the demo, `crawl --fixtures`)? The same test the
    digest's own "[SAMPLE]" subject uses (`alerts.compose.is_sample`)."""
    flagged = session.scalars(select(CrawlRun).where(CrawlRun.sample.is_(True)).limit(1)).all()
    return is_sample(session, flagged)


def sample_subject(subject: str) -> str:
    return subject if subject.startswith(SAMPLE_PREFIX) else f"{SAMPLE_PREFIX} {subject}"


# --------------------------------------------------------------------------------------------
# The acceptance journal: what the server accepted but the database could not record


class AcceptanceJournal:
    """Append-only JSON lines, one per message the server accepted and the database refused.

    Each line is flushed and fsynced before the run goes on; `replay` applies the lines to the
    database and keeps only those it could not apply.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, entry: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    def entries(self) -> list[dict[str, Any]]:
        """The recorded acceptances; OSError if the journal exists but cannot be read."""
        if not self.path.exists():
            return []
        if not self.path.is_file():
            raise OSError(f"{self.path} is not a regular file")
        out = []
        for n, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except ValueError:  # a line cut by a crash: the whole record is on the next run
                log.warning("%s line %d is not JSON (cut by a crash?); ignored", self.path, n)
        return out

    def keep_only(self, entries: list[dict[str, Any]]) -> None:
        if not entries:
            self.path.unlink(missing_ok=True)
            return
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(
            "".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in entries),
            encoding="utf-8",
        )
        os.replace(tmp, self.path)

    def replay(self) -> tuple[set[tuple[str, str]], list[str]]:
        """Apply every entry to the database. Returns ((week, address) accepted, problems).

        Raises OSError when the journal cannot be read: sending then could repeat a message.
        """
        accepted: set[tuple[str, str]] = set()
        left: list[dict[str, Any]] = []
        problems: list[str] = []
        entries = self.entries()
        for entry in entries:
            accepted.add((entry["week"], entry["recipient"]))
            try:
                _apply_acceptance(entry)
                log.info("recorded from the journal: digest %s accepted for %s at %s",
                         entry["week"], entry["recipient"], entry["accepted_at"])  # fmt: skip
            except Exception as exc:
                left.append(entry)
                problems.append(
                    f"the database still cannot record that {entry['recipient']} got "
                    f"{entry['week']} ({type(exc).__name__}: {_short(exc)}); it stays in "
                    f"{self.path} and is not sent again"
                )
        if entries:
            try:
                self.keep_only(left)
            except OSError as exc:  # applied twice next time: harmless (idempotent)
                log.warning("cannot rewrite %s: %s", self.path, exc)
        return accepted, problems


def _short(exc: BaseException) -> str:
    """An error's first line, without the SQL statement SQLAlchemy appends."""
    text = str(getattr(exc, "orig", None) or exc)
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _apply_acceptance(entry: dict[str, Any]) -> None:
    """Record one accepted message: delivery *sent* and the calls it carried (idempotent)."""
    with db.session_scope() as session:
        digest = _digest_row(session, entry["week"], create=True)
        assert digest is not None
        delivery = _delivery_row(session, digest, entry["recipient"])
        if delivery.status == "sent" and delivery.message_id == entry["message_id"]:
            return
        delivery.status = "sent"
        delivery.sent_at = datetime.fromisoformat(entry["accepted_at"])
        delivery.message_id = entry["message_id"]
        delivery.subject = entry.get("subject") or delivery.subject
        delivery.transport = entry.get("transport") or delivery.transport
        delivery.error = entry.get("note")
        delivery.attempts = max(delivery.attempts or 0, int(entry.get("attempts") or 1))
        session.execute(delete(DigestItem).where(DigestItem.delivery_id == delivery.id))
        created = datetime.fromisoformat(entry["composed_for"])
        for call_id, section, content_hash in entry.get("carried", []):
            session.add(
                DigestItem(
                    delivery_id=delivery.id, call_id=call_id, recipient=entry["recipient"],
                    section=section, content_hash=content_hash, created_at=created,
                )
            )  # fmt: skip


# --------------------------------------------------------------------------------------------
# Rows


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
    # the signed links of her footer (None without FUNDRADAR_PUBLIC_URL and _SECRET_KEY)
    links = _links_for(session, recipient.email)
    model.unsubscribe_url = links.unsubscribe if links else None
    model.manage_url = links.manage if links else None
    return model, render_html(model), render_text(model)


# --------------------------------------------------------------------------------------------
# Sending


@dataclass
class _Run:
    """What one send run shares between recipients."""

    config: RecipientsFile
    now: datetime
    week: str
    force: bool
    transport: Transport
    sender: str
    sample: bool
    journal: AcceptanceJournal
    accepted: set[tuple[str, str]]
    report: SendReport
    claim: locks.Held | None = None  # the `digest` lease this run holds

    def lost(self) -> str | None:
        """Why this run may send no more (its lease was lost), else None."""
        if self.claim is None or self.claim.check(DIGEST_LEASE):
            return None
        cause = self.claim.lost.get(DIGEST_LEASE, "released")
        return f"this sender lost its claim on the digest ({cause})"


def send_digest(
    *,
    now: datetime | None = None,
    force: bool = False,
    dry_run: bool = False,
    only: str | None = None,
    transport: Transport | None = None,
    config: RecipientsFile | None = None,
    echo: Echo | None = None,
    allow_sample: bool = False,
    stop: Callable[[], bool] | None = None,
) -> SendReport:
    """Send this week's digest to each recipient who has not had it (all of them with force).

    `now` fixes the clock (tests); `only` limits the run to one configured address; `stop()`
    true between two recipients leaves the rest pending (the scheduler is shutting down).
    Raises `SampleDataError` (exit 2) for sample calls over SMTP without `allow_sample`.
    """
    env = app_settings.load()
    now = now or datetime.now(UTC)
    config = config or load_recipients(env.config_dir)
    week = iso_week(now, config.schedule.timezone)
    report = SendReport(week)
    say = echo or (lambda _m: None)

    recipients = subscribers(config, env, record=not dry_run)
    if only:
        recipients = [r for r in recipients if r.email.lower() == only.strip().lower()]
        if not recipients:
            report.problems.append(
                f"{only} has no active subscription (recipients.yaml seeds them; officers "
                "subscribe on the review page)"
            )
            return report
    if not recipients:
        report.problems.append(
            "no recipients (no active subscription): nobody would get the digest (add people to "
            "recipients.yaml, or subscribe on the review page)"
        )
        return report

    with db.session_scope() as session:
        report.sample = is_sample_database(session)
    sender = mail_from(config, env)
    if dry_run:
        _dry_run(report, recipients, config, now=now, week=week, force=force, say=say)
        return report

    transport = transport or transport_from_settings(env.smtp, env.outbox, mail_from=sender)
    if report.sample and transport.name == "smtp" and not allow_sample:
        raise SampleDataError(
            "this database holds SAMPLE calls (from `crawl --fixtures` or the demo), not real "
            f"ones; refusing to mail them over SMTP ({env.smtp.host}). Point FUNDRADAR_HOME at "
            "the live database, or add --allow-sample to send them marked [SAMPLE]"
        )
    with digest_claim() as claim:
        env.home.mkdir(parents=True, exist_ok=True)  # the journal's folder, even on PostgreSQL
        journal = AcceptanceJournal(env.home / JOURNAL_NAME)
        stopped: str | None = None
        try:
            accepted, problems = journal.replay()
        except OSError as exc:  # what was accepted is unknown: sending could repeat a message
            accepted, problems = set(), []
            stopped = f"the journal of accepted messages cannot be read ({exc}); fix it first"
        report.problems.extend(problems)
        run = _Run(config, now, week, force, transport, sender, report.sample, journal,
                   accepted, report, claim)  # fmt: skip
        for recipient in recipients:
            if not stopped and stop is not None and stop():
                stopped = "fundradar was asked to stop (SIGTERM)"
            if not stopped:
                stopped = run.lost()
            if stopped:
                result = _leave_pending(recipient, run, stopped)
            else:
                result = _send_one(recipient, run)
                stopped = getattr(transport, "unavailable", None) or run.lost()
            report.results.append(result)
            say(_result_line(result))
        if stopped:
            left = report.count("pending")
            report.problems.append(
                f"stopped sending: {stopped}; {left} recipient(s) not tried and left pending; "
                "the next run tries them again"
            )
    return report


def subscribers(
    config: RecipientsFile, env: app_settings.Settings, *, record: bool = True
) -> list[Recipient]:
    """Who gets the digest: the active subscriptions, after recipients.yaml has seeded them
    (`alerts.subscriptions.seed`). `record` False (a dry run) leaves the database as it was."""
    session = db.session_factory()()
    try:
        try:
            seeded = subscriptions.seed(session, config)
        except IntegrityError:  # another server seeded the same address at the same moment
            session.rollback()
            seeded = subscriptions.seed(session, config)
        for email in seeded.added:
            log.info("subscribed %s from recipients.yaml", email)
        for email in seeded.stopped:
            log.warning("%s is no longer in recipients.yaml: no more digests to that address "
                        "(the subscription and its history are kept)", email)  # fmt: skip
        out = subscriptions.recipients(session)
        if record:
            session.commit()
        else:
            session.rollback()
        return out
    finally:
        session.close()


def _links_for(session: Session, email: str) -> subscriptions.Links | None:
    sub = subscriptions.find(session, email)
    return None if sub is None else subscriptions.links(sub.id, sub.email)


def _result_line(r: DeliveryResult) -> str:
    if r.status == "sent":
        where = r.detail if r.transport == "outbox" else f"SMTP {r.detail}"
        tries = f", {r.attempts} tries" if r.attempts > 1 else ""
        return f"  sent     {r.recipient}: {r.subject} ({where}{tries})"
    if r.status == "skipped":
        return f"  skipped  {r.recipient}: {r.detail}"
    if r.status == "failed":
        return f"  FAILED   {r.recipient}: {r.detail}"
    if r.status == "pending":
        return f"  PENDING  {r.recipient}: {r.detail}"
    return f"  {r.status:<8} {r.recipient}: {r.subject}"


def _already_sent(delivery: Delivery, recipient: Recipient, week: str) -> DeliveryResult:
    when = format_local(delivery.sent_at, DISPLAY_TZ) if delivery.sent_at else "?"
    return DeliveryResult(
        recipient.email, "skipped", delivery.subject or "", delivery.transport or "",
        f"already sent for {week} ({when})",
    )  # fmt: skip


def _claim(
    recipient: Recipient, run: _Run
) -> DeliveryResult | tuple[int, DigestModel, EmailMessage]:
    """Compose and mark the delivery *sending* (committed): the skipped result, or
    (delivery id, model, message)."""
    email = recipient.email.lower()
    with db.session_scope() as session:
        # first, and in this same transaction: the proof that this sender still holds the
        # digest lease (on PostgreSQL the lease row stays locked until the mark is committed)
        if run.claim is not None and not run.claim.renew_in(session, DIGEST_LEASE):
            raise LeaseLostError(
                run.claim.lost.get(DIGEST_LEASE) or "it expired and another process took it over"
            )
        digest = _digest_row(session, run.week, create=True)
        assert digest is not None
        delivery = _delivery_row(session, digest, email)
        if delivery.status == "sent" and not run.force:
            return _already_sent(delivery, recipient, run.week)
        sub = subscriptions.find(session, email)
        if sub is None or not sub.active:  # she unsubscribed while this run was under way
            return DeliveryResult(recipient.email, "skipped", detail="unsubscribed")
        if delivery.status == "sending":
            log.warning(
                "the last digest run stopped while sending %s to %s; it may have arrived. "
                "Sending again with the same Message-ID %s so a duplicate can be dropped.",
                run.week, email, delivery.message_id,
            )  # fmt: skip
        resend = None
        if run.force and delivery.status == "sent":
            resend = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        # a forced resend (or a retry) shows what this delivery would carry, not "nothing new"
        model, html, text = render_for(
            session, recipient, run.config, now=run.now, week=run.week,
            exclude_delivery=delivery.id,
        )  # fmt: skip
        msg_id = (
            delivery.message_id
            if delivery.status == "sending" and delivery.message_id
            else message_id(run.week, email, run.sender, resend=resend)
        )
        msg = build_message(
            model, html=html, text=text, mail_from=run.sender,
            reply_to=run.config.digest.reply_to, msg_id=msg_id, date=datetime.now(UTC),
            unsubscribe_url=model.unsubscribe_url,
        )  # fmt: skip
        subject = model.subject
        if run.sample:
            subject = sample_subject(subject)
            msg.replace_header("Subject", subject)
        delivery.status = "sending"
        delivery.attempts = (delivery.attempts or 0) + 1
        delivery.message_id = msg_id
        delivery.subject = subject
        delivery.transport = run.transport.name
        delivery.error = None
        return delivery.id, model, msg


def _send_one(recipient: Recipient, run: _Run) -> DeliveryResult:
    email = recipient.email.lower()
    week = run.week
    if (week, email) in run.accepted and not run.force:
        return DeliveryResult(
            recipient.email, "skipped", detail=f"already accepted by the server for {week} "
            f"(recorded in {run.journal.path}, not yet in the database)",
        )  # fmt: skip
    try:
        claimed = _claim(recipient, run)
    except LeaseLostError as exc:  # another sender has the digest now: leave this one to it
        if run.claim is not None:
            run.claim.lost.setdefault(DIGEST_LEASE, str(exc))
        return _leave_pending(recipient, run, run.lost() or str(exc))
    except Exception as exc:  # database locked / full / gone: nothing was sent to this person
        log.error("digest %s to %s not sent: cannot record it first: %s", week, email, exc)
        return DeliveryResult(
            recipient.email, "failed", transport=run.transport.name,
            detail=f"not sent: the database could not record the send first "
            f"({type(exc).__name__}: {_short(exc)}); the next run tries again",
        )  # fmt: skip
    if isinstance(claimed, DeliveryResult):
        return claimed
    delivery_id, model, msg = claimed
    subject = str(msg["Subject"])
    # a committed 'sending' row exists before a byte leaves
    recorded: dict[str, Any] = {}

    def on_accepted(receipt: Receipt) -> None:
        recorded.update(_record_acceptance(delivery_id, email, model, msg, receipt, run))

    try:
        receipt = run.transport.send(msg, recipient=email, on_accepted=on_accepted)
    except MailError as exc:
        tries = getattr(exc, "attempts", 1)
        if tries == 0:  # the server was given up on before this recipient: not tried at all
            return _leave_pending(recipient, run, str(exc).split(": not tried: ", 1)[-1],
                                  delivery_id=delivery_id)  # fmt: skip
        _mark_failed(delivery_id, str(exc), extra_attempts=tries - 1)
        log.error("digest %s to %s failed: %s", week, email, exc)
        kind = "permanent failure" if exc.permanent else "temporary failure, retries exhausted"
        return DeliveryResult(
            recipient.email, "failed", subject, run.transport.name, f"{kind}: {exc}", tries,
            model.counts,
        )  # fmt: skip
    except Exception as exc:  # a bug or an unexpected error: record it, go on with the others
        if recorded:  # accepted and recorded: only what came after failed
            log.exception("digest %s to %s: error after the server accepted it", week, email)
        else:
            _mark_failed(delivery_id, f"{type(exc).__name__}: {exc}", extra_attempts=0)
            log.exception("digest %s to %s failed unexpectedly", week, email)
            return DeliveryResult(
                recipient.email, "failed", subject, run.transport.name,
                f"unexpected error: {type(exc).__name__}: {exc}", 1, model.counts,
            )  # fmt: skip
        receipt = recorded["receipt"]
    if recorded.get("problem"):
        run.report.problems.append(recorded["problem"])
    log.info("digest %s sent to %s (%s %s)", week, email, receipt.transport, receipt.detail)
    detail = receipt.detail
    if recorded.get("where") != "database":
        detail += f"; recorded in {recorded.get('where', 'nothing')}, not the database"
    return DeliveryResult(
        recipient.email, "sent", subject, receipt.transport, detail, receipt.attempts,
        model.counts,
    )  # fmt: skip


def _record_acceptance(
    delivery_id: int,
    email: str,
    model: DigestModel,
    msg: EmailMessage,
    receipt: Receipt,
    run: _Run,
) -> dict[str, Any]:
    """The server has accepted DATA: record it before anything else. Never raises."""
    now = datetime.now(UTC)
    run.accepted.add((run.week, email))
    try:
        with db.session_scope() as session:
            delivery = session.get_one(Delivery, delivery_id)
            delivery.status = "sent"
            delivery.sent_at = now
            delivery.attempts = (delivery.attempts or 0) + receipt.attempts - 1
            delivery.transport = receipt.transport
            delivery.error = None
            session.execute(delete(DigestItem).where(DigestItem.delivery_id == delivery_id))
            for call_id, section, content_hash in model.carried:
                session.add(
                    DigestItem(
                        delivery_id=delivery_id, call_id=call_id, recipient=email,
                        section=section, content_hash=content_hash, created_at=run.now,
                    )
                )  # fmt: skip
        return {"receipt": receipt, "where": "database"}
    except Exception as exc:
        db_error = f"{type(exc).__name__}: {_short(exc)}"
    entry = {
        "week": run.week, "recipient": email, "message_id": str(msg["Message-ID"]),
        "subject": str(msg["Subject"]), "transport": receipt.transport,
        "attempts": receipt.attempts, "accepted_at": now.isoformat(),
        "composed_for": run.now.isoformat(), "carried": [list(c) for c in model.carried],
        "note": f"recorded late from the journal (database error: {db_error})",
    }  # fmt: skip
    try:
        run.journal.append(entry)
    except Exception as exc:
        log.critical(
            "digest %s WAS accepted for %s (Message-ID %s) but neither the database (%s) nor "
            "the journal %s (%s) could record it: it may be sent again by the next run",
            run.week, email, entry["message_id"], db_error, run.journal.path, exc,
        )  # fmt: skip
        return {
            "receipt": receipt, "where": "memory",
            "problem": f"{email}: accepted by the server but not recorded anywhere "
            f"(database: {db_error}; journal: {exc}); the next run may send it again",
        }  # fmt: skip
    log.error("digest %s accepted for %s; the database refused the record (%s): kept in %s",
              run.week, email, db_error, run.journal.path)  # fmt: skip
    return {
        "receipt": receipt, "where": f"the journal {run.journal.path}",
        "problem": f"{email}: sent, but the database could not record it ({db_error}); kept "
        f"in {run.journal.path}, recorded at the next run and not sent again",
    }  # fmt: skip


def _leave_pending(
    recipient: Recipient, run: _Run, cause: str, *, delivery_id: int | None = None
) -> DeliveryResult:
    """Not tried in this run (the server was given up on): pending, with the cause."""
    email = recipient.email.lower()
    note = f"not tried: {cause}; the next run tries again"
    if run.lost():  # the delivery is another sender's now: write nothing over its marks
        return DeliveryResult(recipient.email, "pending", transport=run.transport.name,
                              detail=f"not tried: {cause}")  # fmt: skip
    try:
        with db.session_scope() as session:
            if delivery_id is not None:
                delivery = session.get_one(Delivery, delivery_id)
            else:
                digest = _digest_row(session, run.week, create=True)
                assert digest is not None
                delivery = _delivery_row(session, digest, email)
                if delivery.status == "sent" and not run.force:
                    return _already_sent(delivery, recipient, run.week)
            if delivery.status != "sending":  # a 'sending' row keeps its Message-ID claim
                delivery.status = "pending"
            delivery.error = note[:2000]
    except Exception as exc:
        log.error("cannot record %s as pending: %s", email, exc)
    return DeliveryResult(recipient.email, "pending", transport=run.transport.name, detail=note)


def _mark_failed(delivery_id: int, error: str, *, extra_attempts: int) -> None:
    try:
        with db.session_scope() as session:
            delivery = session.get_one(Delivery, delivery_id)
            delivery.status = "failed"
            delivery.error = error[:2000]
            delivery.attempts = (delivery.attempts or 0) + max(extra_attempts, 0)
    except Exception as exc:  # the row stays 'sending': the next run retries it
        log.error("cannot record the failure for delivery %s (%s): %s", delivery_id, error, exc)


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
                subject = sample_subject(model.subject) if report.sample else model.subject
                result = DeliveryResult(recipient.email, "dry-run", subject, counts=model.counts)
            report.results.append(result)
            say(_result_line(result))
    finally:
        session.rollback()
        session.close()
