"""Build the digest e-mail: multipart/alternative (text first, HTML last) with correct headers.

The Message-ID is deterministic per digest week and recipient,
`<fundradar.2026-W48.<sha1(address)[:12]>@<sender's domain>>`, so a message sent again after
a crash (the one window exactly-once cannot close: the server accepted it and the process died
before recording it) carries the same id, and a server or client that drops duplicates drops
it. A deliberate `--force` resend gets a suffix, so it is *not* dropped as a duplicate.

With a signed unsubscribe address (alerts/subscriptions.py `links`), the message carries the
RFC 8058 one-click headers: `List-Unsubscribe: <https://…/unsubscribe/TOKEN>` and
`List-Unsubscribe-Post: List-Unsubscribe=One-Click`, so Gmail, Outlook and Apple Mail show
their own "Unsubscribe" button, which POSTs that body to the address. Without one (no
FUNDRADAR_PUBLIC_URL or FUNDRADAR_SECRET_KEY) neither header is sent: an unsubscribe header
that leads nowhere is worse than none.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, parseaddr

from fundradar.alerts.compose import DigestModel

SENDER_NAME = "fundradar"
WEEK_HEADER = "X-Fundradar-Week"


def address_of(value: str) -> str:
    """The bare address of 'Name <a@b>' or 'a@b'."""
    return parseaddr(value)[1] or value.strip()


def domain_of(value: str) -> str:
    addr = address_of(value)
    return addr.rpartition("@")[2].strip().lower() or "localhost"


def message_id(week: str, recipient: str, mail_from: str, *, resend: str | None = None) -> str:
    digest = hashlib.sha1(recipient.strip().lower().encode("utf-8")).hexdigest()[:12]
    suffix = f".resend-{resend}" if resend else ""
    return f"<fundradar.{week}.{digest}{suffix}@{domain_of(mail_from)}>"


def _sender(mail_from: str) -> str:
    name, addr = parseaddr(mail_from)
    return formataddr((name or SENDER_NAME, addr or mail_from))


def build_message(
    model: DigestModel,
    *,
    html: str,
    text: str,
    mail_from: str,
    reply_to: str | None,
    msg_id: str,
    date: datetime | None = None,
    unsubscribe_url: str | None = None,
) -> EmailMessage:
    """One recipient's digest, ready for SMTP or the outbox (CRLF line ends, UTF-8)."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = _sender(mail_from)
    # the name comes from recipients.yaml, never from scraped text; formataddr quotes it
    msg["To"] = formataddr((model.recipient_name or "", model.recipient))
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Subject"] = model.subject
    msg["Date"] = format_datetime((date or datetime.now(UTC)).astimezone(UTC))
    msg["Message-ID"] = msg_id
    msg[WEEK_HEADER] = model.week  # lets an Outlook rule or a script pick digests out
    # an automatic mail: no out-of-office replies back to the sender (RFC 3834, Exchange)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    add_unsubscribe(msg, unsubscribe_url)
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    # after the content: set_content() drops every Content-* header set before it
    msg["Content-Language"] = model.lang
    return msg


def add_unsubscribe(msg: EmailMessage, url: str | None) -> None:
    """RFC 8058 one-click unsubscribe headers (nothing for no URL). RFC 8058 wants an https
    address: a FUNDRADAR_PUBLIC_URL on plain http works in our page but mail clients may not
    offer their button for it (README says so)."""
    if not url or any(ch in url for ch in "<>\r\n \t"):
        return
    msg["List-Unsubscribe"] = f"<{url}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
