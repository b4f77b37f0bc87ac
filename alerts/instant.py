"""Instant alerts: after a crawl, each new high-band call goes at once to the subscriptions
that asked for it (frequency "instant"), by mail and, when set, on their Apprise channel.

Which calls: band high, open (not closed, deadline not passed), not marked not relevant,
first seen after the subscription was made (no flood of old calls the day she subscribes), and
matching her filters (alerts/subscription_filter.py, the digest's own rules). Each call is told
to a subscription once per way: the `instant_alerts` row is committed the moment the server
(or the channel) accepted it, and a way that failed has no row, so it is tried again after the
next crawl. A channel failing is reported with its cause and does not stop the mail, nor the
other way round. Instant subscribers still get the weekly digest.

Sample calls (demo, `crawl --fixtures`) are never told to anyone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from fundradar import settings as app_settings
from fundradar.alerts import channels, subscriptions
from fundradar.alerts.compose import safe_url
from fundradar.alerts.mailer import OutboxTransport, Transport, transport_from_settings
from fundradar.alerts.message import add_unsubscribe, domain_of
from fundradar.alerts.subscription_filter import matches_all
from fundradar.config.loader import RecipientsFile, load_recipients
from fundradar.exceptions import MailError
from fundradar.pipeline import db
from fundradar.pipeline.models import CallRow, InstantAlert, Subscription
from fundradar.pipeline.normalise.dates import format_deadline
from fundradar.pipeline.review import latest_verdicts
from fundradar.settings import DISPLAY_TZ

log = logging.getLogger("fundradar.instant")

INSTANT_HEADER = "X-Fundradar-Instant"  # "<call id>": lets a mail rule pick them out
WORDS = {
    "en": {"subject": "New high-relevance call", "funder": "Funder", "deadline": "Deadline",
           "band": "Relevance: high", "page": "Call page", "review": "In fundradar",
           "stop": "Stop these mails", "edit": "Change what you receive"},
    "fr": {"subject": "Nouvel appel très pertinent", "funder": "Bailleur",
           "deadline": "Date limite", "band": "Pertinence : haute", "page": "Page de l’appel",
           "review": "Dans fundradar", "stop": "Ne plus recevoir ces messages",
           "edit": "Modifier ce que vous recevez"},
}  # fmt: skip


@dataclass
class InstantReport:
    sent: list[tuple[str, int, str]] = field(default_factory=list)  # (email, call id, way)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class InstantOutbox(OutboxTransport):
    """Without SMTP: one .eml per call and address in `<outbox>/instant/`."""

    def path_for(self, msg: EmailMessage, recipient: str) -> Path:
        safe = recipient.lower().replace("/", "_")
        return self.folder / f"call-{msg[INSTANT_HEADER]}--{safe}.eml"


def _open_high_calls(session: Session, now: datetime) -> list[CallRow]:
    dismissed = {c for c, v in latest_verdicts(session).items() if v.verdict == "not-relevant"}
    rows = session.scalars(
        select(CallRow)
        .where(
            CallRow.band == "high",
            (CallRow.status.is_(None)) | (CallRow.status != "closed"),
            (CallRow.deadline.is_(None)) | (CallRow.deadline >= now),
        )
        .order_by(CallRow.id)
    ).all()
    return [r for r in rows if r.id not in dismissed]


def message_text(row: CallRow, sub: Subscription, links: subscriptions.Links | None) -> str:
    w = WORDS.get(sub.language) or WORDS["en"]
    lines = [row.title or "(untitled)", ""]
    if row.funder:
        lines.append(f"{w['funder']}: {row.funder}")
    deadline = format_deadline(row.deadline, row.deadline_kind, row.timezone, sub.language,
                               DISPLAY_TZ)  # fmt: skip
    if deadline:
        lines.append(f"{w['deadline']}: {deadline}")
    score = f" ({row.score}/100)" if row.score is not None else ""
    lines.append(w["band"] + score)
    lines += [f"- {r}" for r in (row.reasons or [])[:2] if isinstance(r, str)]
    link = safe_url(row.url)
    if link:
        lines.append(f"{w['page']}: {link}")
    env = app_settings.load()
    if env.public_url:
        lines.append(f"{w['review']}: {env.public_url}/calls/{row.id}")
    if links:
        lines += ["", f"{w['edit']}: {links.manage}", f"{w['stop']}: {links.unsubscribe}"]
    return "\n".join(lines) + "\n"


def build_mail(
    row: CallRow, sub: Subscription, *, mail_from: str, links: subscriptions.Links | None
) -> EmailMessage:
    w = WORDS.get(sub.language) or WORDS["en"]
    msg = EmailMessage(policy=SMTP)
    msg["From"] = formataddr(("fundradar", mail_from))
    msg["To"] = formataddr((sub.name or "", sub.email))
    title = " ".join((row.title or "").split())[:150]
    msg["Subject"] = f"[fundradar] {w['subject']}: {title}"
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(idstring=f"instant.{row.id}", domain=domain_of(mail_from))
    msg[INSTANT_HEADER] = str(row.id)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    add_unsubscribe(msg, links.unsubscribe if links else None)
    msg.set_content(message_text(row, sub, links), charset="utf-8")
    return msg


def send_instant(
    *,
    now: datetime | None = None,
    transport: Transport | None = None,
    config: RecipientsFile | None = None,
    post: Callable[..., channels.Posted] = channels.post,
    echo: Callable[[str], None] | None = None,
) -> InstantReport:
    """Tell every instant subscription about its new high-band calls not yet told."""
    from fundradar.alerts.send import is_sample_database, mail_from

    env = app_settings.load()
    now = now or datetime.now(UTC)
    config = config or load_recipients(env.config_dir)
    report = InstantReport()
    say = echo or (lambda _m: None)
    with db.session_scope() as session:
        subscriptions.seed(session, config)
        if is_sample_database(session):
            return report  # sample calls are never told to real people
        subs = [s for s in subscriptions.active(session) if s.frequency == "instant"]
        if not subs:
            return report
        calls = _open_high_calls(session, now)
        done = {
            (a.subscription_id, a.call_id, a.way) for a in session.scalars(select(InstantAlert))
        }
        sender = mail_from(config, env)
        if transport is None:
            transport = (
                transport_from_settings(env.smtp, env.outbox, mail_from=sender)
                if env.smtp.host
                else InstantOutbox(env.outbox / "instant")
            )
        for sub in subs:
            links = subscriptions.links(sub.id, sub.email, env)
            for row in calls:
                if row.first_seen < sub.created_at or not matches_all(row, sub):
                    continue
                ways = ["mail"] + (["channel"] if sub.channel else [])
                for way in ways:
                    if (sub.id, row.id, way) in done:
                        continue
                    error = _tell(way, row, sub, links, transport, sender, post)
                    if error:
                        report.problems.append(f"{sub.email}, call {row.id} ({way}): {error}")
                        say(f"  FAILED   {sub.email} {way}: {error}")
                        continue
                    session.add(InstantAlert(subscription_id=sub.id, call_id=row.id, way=way,
                                             sent_at=datetime.now(UTC)))  # fmt: skip
                    session.commit()  # recorded the moment it was accepted: never twice
                    report.sent.append((sub.email, row.id, way))
                    say(f"  instant  {sub.email} {way}: {row.title}")
    return report


def _tell(
    way: str, row: CallRow, sub: Subscription, links: subscriptions.Links | None,
    transport: Transport, sender: str, post: Callable[..., channels.Posted],
) -> str | None:  # fmt: skip
    """Tell one call one way; the cause of a failure, or None."""
    if way == "mail":
        try:
            transport.send(build_mail(row, sub, mail_from=sender, links=links),
                           recipient=sub.email)  # fmt: skip
        except MailError as exc:
            log.error("instant mail about call %s to %s failed: %s", row.id, sub.email, exc)
            return str(exc)
        return None
    w = WORDS.get(sub.language) or WORDS["en"]
    posted = post(sub.channel or "", title=f"{w['subject']}: {row.title}",
                  body=message_text(row, sub, None))  # fmt: skip
    return None if posted.ok else f"channel {posted.where}: {posted.error}"


def after_crawl(echo: Callable[[str], None] | None = None) -> InstantReport | None:
    """The crawl job's last step (scheduler, `fundradar run`): never raises, so a problem here
    never marks a finished crawl as failed; it is logged with its cause."""
    try:
        report = send_instant(echo=echo)
    except Exception as exc:
        log.exception("instant alerts after the crawl failed")
        if echo:
            echo(f"instant alerts failed: {type(exc).__name__}: {exc}")
        return None
    for problem in report.problems:
        log.error("instant alert: %s", problem)
    return report
