"""Tell the maintainer when a source starts failing, and when it recovers — once per change.

A crawl runs weekly per source; mailing the maintainer on every failed run would teach them to
ignore the mails. So the last state they were told about is kept per source
(`source_alert_states`, survives restarts) and a mail goes out only when a source's state flips:
ok -> failing (any verdict other than ok, or "possibly broken") or failing -> ok. A source
never announced counts as ok, so its first failure is announced and a first ok run is not.

Mail goes through the digest's transports (alerts/mailer.py): SMTP when FUNDRADAR_SMTP_HOST is
set, else `.eml` files in `$FUNDRADAR_HOME/outbox/maintainer/`. A mail that cannot be sent leaves
the stored state as it was, so the change is announced at the next run instead of being lost.

FUNDRADAR_MAINTAINER_CHANNEL (an Apprise URL: Teams, Slack, Telegram, a webhook) gets the same
alert as a chat message, in addition to the mail or instead of it when recipients.yaml names no
maintainer. It is an environment variable and not a recipients.yaml key because the URL holds
the service's token. The state is kept when the mail was accepted (or, with no mail configured,
the channel): a channel that fails is reported with its cause on the alert and in the log, and
is not retried, so a broken channel never makes the maintainer's mail go out again and again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path

from sqlalchemy.orm import Session

from fundradar.alerts import channels
from fundradar.alerts.mailer import OutboxTransport, SmtpTransport, Transport
from fundradar.exceptions import MailError
from fundradar.pipeline.health import NEVER_RUN, SourceHealth, latest_health
from fundradar.pipeline.models import SourceAlertState

log = logging.getLogger("fundradar.maintainer")

ALERT_HEADER = "X-Fundradar-Alert"  # "<source> failing|ok": lets a mail rule file them


@dataclass(frozen=True)
class Alert:
    source: str
    state: str  # failing | ok: what the maintainer is now told
    subject: str
    sent: bool
    error: str | None = None
    channel_error: str | None = None  # the chat channel failed (the mail may still have gone)
    posted: bool = False  # the chat channel took it


def state_of(health: SourceHealth) -> str | None:
    """ok | failing, or None when there is nothing to judge yet (never run, still running)."""
    if health.status in (NEVER_RUN, "running"):
        return None
    return "ok" if health.ok else "failing"


def describe(health: SourceHealth) -> str:
    if health.status != "ok":
        return f"{health.cause or health.status} ({health.status})"
    if health.possibly_broken:
        return f"possibly broken: no new or updated call in {health.quiet_runs} runs in a row"
    return "ok"


def build_alert(
    health: SourceHealth, state: str, *, mail_from: str, to: str, previous: SourceAlertState | None
) -> EmailMessage:
    funder = health.funder
    if state == "failing":
        subject = f"[fundradar] {funder}: {describe(health)}"
    else:
        subject = f"[fundradar] {funder}: recovered"
    when = health.finished_at.strftime("%Y-%m-%d %H:%M UTC") if health.finished_at else "?"
    lines = [
        f"Source: {health.source} ({funder})",
        f"Last crawl: {when}, verdict {health.status}",
    ]
    if state == "failing":
        lines += [f"What happened: {describe(health)}",
                  f"Detail: {health.message or '-'}", ""]  # fmt: skip
        lines.append(
            "Calls from this source may be missing from the digest until it is repaired. "
            "`fundradar sources list` shows every source's health; "
            "`fundradar sources check --live` crawls it again and reports what it finds."
        )
    else:
        was = previous.cause or previous.status if previous else "failing"
        lines += [f"It was failing: {was}.", f"Now: {health.message or 'ok'}", ""]
        lines.append("No action needed.")
    lines += ["", "You get one mail when a source starts failing and one when it recovers."]
    msg = EmailMessage(policy=SMTP)
    msg["From"] = mail_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain="fundradar.local")
    msg[ALERT_HEADER] = f"{health.source} {state} run-{health.run_id}"
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    msg.set_content("\n".join(lines) + "\n", charset="utf-8")
    return msg


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9@._+-]+", "_", text).strip("._") or "alert"


class AlertOutbox(OutboxTransport):
    """The outbox, one file per alert (the digest's names one file per week and recipient)."""

    def path_for(self, msg: EmailMessage, recipient: str) -> Path:
        return self.folder / f"{_slug(str(msg[ALERT_HEADER]))}--{_slug(recipient.lower())}.eml"


def alert_changes(
    session: Session,
    *,
    transport: Transport | None,
    maintainer: str | None,
    mail_from: str,
    sources: Sequence[str] | None = None,
    health: Sequence[SourceHealth] | None = None,
    channel: str | None = None,
    post: Callable[..., channels.Posted] = channels.post,
) -> list[Alert]:
    """Mail the maintainer about each source whose state changed since they were last told.

    The new state is committed right after its mail is accepted, before the next source, so
    a crash never makes a mail go out twice for one change (at worst once more for the change
    being sent at the crash).
    """
    alerts: list[Alert] = []
    for h in health if health is not None else latest_health(session):
        if sources is not None and h.source not in sources:
            continue
        if h.sample or not h.enabled:
            continue  # bundled sample pages say nothing about the real site
        state = state_of(h)
        if state is None:
            continue
        row = session.get(SourceAlertState, h.source)
        told = row.state if row else "ok"
        if state == told:
            continue
        msg = build_alert(h, state, mail_from=mail_from, to=maintainer or "", previous=row)
        subject = str(msg["Subject"])
        posted, channel_error = False, None
        if channel:  # first: a mail server that is down must not silence the chat
            result = post(channel, title=subject, body=msg.get_content())
            posted, channel_error = result.ok, (None if result.ok else result.error)
            if channel_error:
                log.warning("maintainer alert for %s not posted to %s: %s", h.source,
                            result.where, channel_error)  # fmt: skip
        if maintainer and transport is not None:
            try:
                transport.send(msg, recipient=maintainer)
            except MailError as exc:
                log.warning("maintainer alert for %s not sent: %s", h.source, exc)
                alerts.append(Alert(h.source, state, subject, sent=False, error=str(exc),
                                    channel_error=channel_error, posted=posted))  # fmt: skip
                continue
        elif not posted:  # no mail configured and the channel failed: try again next run
            alerts.append(Alert(h.source, state, subject, sent=False, error=channel_error,
                                channel_error=channel_error))  # fmt: skip
            continue
        if row is None:
            row = SourceAlertState(source=h.source)
            session.add(row)
        row.state, row.status, row.cause = state, h.status, (h.cause or None)
        row.run_id, row.alerted_at = h.run_id, datetime.now(UTC)
        session.commit()
        alerts.append(Alert(h.source, state, subject, sent=bool(maintainer), posted=posted,
                            channel_error=channel_error))  # fmt: skip
    return alerts


def maintainer_transport() -> Transport:
    from fundradar import settings

    env = settings.load()
    if env.smtp.host:
        # two tries: a crawl child should not spend minutes on a mail server that is down;
        # the state is kept, so the alert is tried again after the next run
        mail_from = env.smtp.mail_from or _mail_from()
        return SmtpTransport(env.smtp, mail_from=mail_from, attempts=2, backoff=5.0)
    return AlertOutbox(env.outbox / "maintainer")


def _mail_from() -> str:
    from fundradar.config.loader import load_recipients

    return load_recipients().digest.mail_from


def alert_after_run(source: str) -> list[Alert]:
    """After a live crawl of `source` (crawlers/runlog.py): announce its change, if any."""
    from fundradar import settings
    from fundradar.config.loader import load_recipients
    from fundradar.pipeline import db

    maintainer = load_recipients().maintainer
    env = settings.load()
    if not maintainer and not env.maintainer_channel:
        return []
    mail_from = env.smtp.mail_from or _mail_from()
    transport = maintainer_transport() if maintainer else None
    with db.session_scope() as session:
        return alert_changes(session, transport=transport, maintainer=maintainer,
                             mail_from=mail_from, sources=[source],
                             channel=env.maintainer_channel)  # fmt: skip
