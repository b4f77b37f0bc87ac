"""Subscriptions: who gets mail, with which filters, how often, and the links that manage them.

- `seed(session, config)`: recipients.yaml's entries become subscriptions (idempotent; run
  before every digest send). An address not yet subscribed is added (`managed_by` "yaml"); a
  "yaml" row follows the file's later changes; a row the officer edited herself ("officer")
  is left as she set it; an entry removed from the file turns its "yaml" row inactive (her
  deliveries stay, nothing is deleted); nobody who unsubscribed is subscribed again by the file.
- `recipients(session)`: the active subscriptions as `config.loader.Recipient`, which is what
  the digest composes for.
- `subscribe`, `update`, `unsubscribe`: the review page's and the CLI's changes.
- `links(sub)`: the signed "unsubscribe" and "edit my subscription" addresses for a mail, or
  None when FUNDRADAR_PUBLIC_URL / FUNDRADAR_SECRET_KEY are not set (the mail has no links).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from fundradar import settings as app_settings
from fundradar import tokens
from fundradar.config.loader import Recipient, RecipientsFile
from fundradar.exceptions import LinkTokenError, SubscriptionError
from fundradar.pipeline.models import Subscription

log = logging.getLogger("fundradar.subscriptions")

SEEDED_BY = "recipients.yaml"
FREQUENCIES = ("weekly", "instant")
FILTER_FIELDS = ("language", "min_band", "themes", "sources", "words", "call_language",
                 "frequency")  # fmt: skip


def redact_channel(url: str | None) -> str:
    """What may be shown or logged of a channel URL: its kind and host, never its secret
    ('tgram://…', 'json://127.0.0.1:8080/…')."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(channel)"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    # Slack, Teams and Telegram put their token where a host would be: show the scheme only
    if parts.scheme in ("json", "xml", "form", "jsons", "xmls", "forms", "http", "https"):
        return f"{parts.scheme}://{host}/…"
    return f"{parts.scheme}://…"


def check_channel(url: str | None) -> str | None:
    """The channel URL if Apprise knows its kind, None for none; SubscriptionError otherwise."""
    url = (url or "").strip()
    if not url:
        return None
    import apprise

    if len(url) > 2000 or apprise.Apprise.instantiate(url) is None:
        raise SubscriptionError(
            f"the channel {redact_channel(url)!s} is not an address Apprise can use; give one "
            "such as msteams://…, slack://…, tgram://… or json://host/path "
            "(see https://github.com/caronc/apprise/wiki)"
        )
    return url


def as_recipient(sub: Subscription) -> Recipient:
    """The subscription as the digest's reader (the same filters, validated)."""
    return Recipient.model_validate(
        {"email": sub.email, "name": sub.name, "language": sub.language,
         "min_band": sub.min_band, "themes": list(sub.themes or ()),
         "sources": list(sub.sources or ()), "words": sub.words or None,
         "call_language": sub.call_language or None, "frequency": sub.frequency}
    )  # fmt: skip


def _validated(fields: dict[str, Any]) -> dict[str, Any]:
    """The filter fields checked by the same model recipients.yaml is (one set of rules)."""
    try:
        r = Recipient.model_validate(
            {
                "email": fields.get("email") or "x@example.org",
                **{k: v for k, v in fields.items() if k != "email"},
            }
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise SubscriptionError(f"{where}: {err['msg']}") from None
    out = {k: getattr(r, k) for k in FILTER_FIELDS if k in fields}
    if "email" in fields:
        out["email"] = r.email.lower()
    if "name" in fields:
        out["name"] = (" ".join((fields["name"] or "").split())[:200]) or None
    if "words" in out:
        out["words"] = " ".join((out["words"] or "").split()) or None
    return out


def find(session: Session, email: str) -> Subscription | None:
    return session.scalars(
        select(Subscription).where(Subscription.email == email.strip().lower())
    ).first()


def subscribe(
    session: Session, *, email: str, created_by: str, channel: str | None = None,
    now: datetime | None = None, **filters: Any,
) -> Subscription:  # fmt: skip
    """A new subscription, or one that was unsubscribed made active again with these filters.
    An address already subscribed is refused (she edits hers with the link in her mail)."""
    now = now or datetime.now(UTC)
    values = _validated({"email": email, **filters})
    channel = check_channel(channel)
    sub = find(session, values["email"])
    if sub is not None and sub.active:
        raise SubscriptionError(
            f'{values["email"]} is already subscribed; change it with the "edit my '
            'subscription" link at the foot of any digest'
        )
    if sub is None:
        sub = Subscription(email=values["email"], created_by=created_by[:200], created_at=now)
        session.add(sub)
    for name, value in values.items():
        setattr(sub, name, value)
    sub.channel = channel
    sub.active, sub.unsubscribed_at = True, None
    sub.managed_by = "yaml" if created_by == SEEDED_BY else "officer"
    sub.updated_at = now
    session.flush()
    log.info("subscribed %s (%s, by %s%s)", sub.email, sub.frequency, created_by,
             f", channel {redact_channel(channel)}" if channel else "")  # fmt: skip
    return sub


def update(
    session: Session, sub: Subscription, *, channel: str | None = None,
    now: datetime | None = None, **filters: Any,
) -> Subscription:  # fmt: skip
    """Her own change: the filters as given, and the file no longer overwrites them."""
    values = _validated(filters)
    values.pop("email", None)
    for name, value in values.items():
        setattr(sub, name, value)
    sub.channel = check_channel(channel)
    sub.managed_by = "officer"
    sub.updated_at = now or datetime.now(UTC)
    session.flush()
    return sub


def unsubscribe(session: Session, sub: Subscription, *, now: datetime | None = None) -> bool:
    """Stop her mail (idempotent): True when this call changed something."""
    if not sub.active:
        return False
    sub.active = False
    sub.unsubscribed_at = sub.updated_at = now or datetime.now(UTC)
    session.flush()
    log.info("unsubscribed %s", sub.email)
    return True


# --------------------------------------------------------------------------------------------
# recipients.yaml -> subscriptions


@dataclass
class SeedReport:
    added: list[str]
    updated: list[str]
    stopped: list[str]  # removed from the file: their yaml-managed subscription turned off


def seed(session: Session, config: RecipientsFile, *, now: datetime | None = None) -> SeedReport:
    """Bring the file's entries into the table (see the module's doc for the rules)."""
    now = now or datetime.now(UTC)
    report = SeedReport([], [], [])
    listed = set()
    for r in config.recipients:
        email = r.email.lower()
        listed.add(email)
        sub = find(session, email)
        values = {k: getattr(r, k) for k in FILTER_FIELDS}
        values["words"] = r.words or None
        if sub is None:
            subscribe(session, email=email, name=r.name, created_by=SEEDED_BY, now=now, **values)
            report.added.append(email)
            continue
        if sub.managed_by != "yaml" or sub.unsubscribed_at is not None:
            continue  # hers now, or she said stop: the file does not override her
        wanted = {**values, "name": r.name, "active": True}
        if any(getattr(sub, k) != v for k, v in wanted.items()):
            for k, v in wanted.items():
                setattr(sub, k, v)
            sub.updated_at = now
            report.updated.append(email)
    for sub in session.scalars(
        select(Subscription).where(Subscription.managed_by == "yaml", Subscription.active)
    ):
        if sub.email not in listed:
            sub.active = False
            sub.updated_at = now
            report.stopped.append(sub.email)
    session.flush()
    return report


def active(session: Session) -> list[Subscription]:
    return list(
        session.scalars(select(Subscription).where(Subscription.active).order_by(Subscription.id))
    )


def recipients(session: Session) -> list[Recipient]:
    """Who gets this week's digest: every active subscription, as the digest's reader."""
    out = []
    for sub in active(session):
        try:
            out.append(as_recipient(sub))
        except ValidationError as exc:  # a row edited by hand: say so, send to the others
            log.error("subscription %s (%s) is not valid and gets no mail: %s", sub.id,
                      sub.email, exc.errors()[0]["msg"])  # fmt: skip
    return out


# --------------------------------------------------------------------------------------------
# Signed links


@dataclass(frozen=True)
class Links:
    unsubscribe: str
    manage: str


def links(sub_id: int, email: str, env: app_settings.Settings | None = None) -> Links | None:
    """The mail's signed links for this subscription; None without a public address and key."""
    env = env or app_settings.load()
    if not env.public_url or not env.secret_key:
        return None
    payload = {"id": sub_id, "email": email.lower()}
    return Links(
        unsubscribe=f"{env.public_url}/unsubscribe/"
        f"{tokens.sign(env.secret_key, 'unsubscribe', payload)}",
        manage=f"{env.public_url}/subscription/"
        f"{tokens.sign(env.secret_key, 'subscription', payload)}",
    )


def from_token(session: Session, secret: str, purpose: str, token: str) -> Subscription:
    """The subscription a signed link names; LinkTokenError when the link is bad, expired, or
    its subscription is gone or now belongs to another address."""
    payload = tokens.verify(secret, purpose, token)
    sub = None
    if isinstance(payload, dict) and isinstance(payload.get("id"), int):
        sub = session.get(Subscription, payload["id"])
    if sub is None or sub.email != str(payload.get("email", "")).lower():
        raise LinkTokenError(f"this {purpose} link names no subscription (it may have been "
                             "removed); ask the maintainer")  # fmt: skip
    return sub
