"""Tell the maintainer when a source starts failing, and when it recovers — once per change.

A crawl runs weekly per source; mailing the maintainer on every failed run would teach them to
ignore the mails. So the last state they were told about is kept per source
(`source_alert_states`, survives restarts) and a mail goes out only when a source's state flips:
ok -> failing (any verdict other than ok, or "possibly broken") or failing -> ok. A source
never announced counts as ok, so its first failure is announced and a first ok run is not.

Mail goes through the digest's transports (alerts/mailer.py): SMTP when FUNDRADAR_SMTP_HOST is
set, else `.eml` files in `$FUNDRADAR_HOME/outbox/maintainer/`. A mail that cannot be sent leaves
the stored state as it was, so the change is announced at the next run instead of being lost.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path

from sqlalchemy.orm import Session

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
    transport: Transport,
    maintainer: str,
    mail_from: str,
    sources: Sequence[str] | None = None,
    health: Sequence[SourceHealth] | None = None,
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
        msg = build_alert(h, state, mail_from=mail_from, to=maintainer, previous=row)
        subject = str(msg["Subject"])
        try:
            transport.send(msg, recipient=maintainer)
        except MailError as exc:
            log.warning("maintainer alert for %s not sent: %s", h.source, exc)
            alerts.append(Alert(h.source, state, subject, sent=False, error=str(exc)))
            continue
        if row is None:
            row = SourceAlertState(source=h.source)
            session.add(row)
        row.state, row.status, row.cause = state, h.status, (h.cause or None)
        row.run_id, row.alerted_at = h.run_id, datetime.now(UTC)
        session.commit()
        alerts.append(Alert(h.source, state, subject, sent=True))
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
    if not maintainer:
        return []
    mail_from = settings.load().smtp.mail_from or _mail_from()
    with db.session_scope() as session:
        return alert_changes(session, transport=maintainer_transport(), maintainer=maintainer,
                             mail_from=mail_from, sources=[source])  # fmt: skip
