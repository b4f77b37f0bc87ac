"""Signed links carried by mail: one-click unsubscribe, "edit my subscription", and the verdict
buttons ("relevant / not relevant / shortlist") of the digest.

A link must work for its recipient without a login, and for nobody else: each token is the
payload (who, what) signed with FUNDRADAR_SECRET_KEY by itsdangerous (the signing library
Flask itself uses: HMAC-SHA1 over a salted key, timestamps, constant-time checks), so it
cannot be forged or altered. Each purpose has its own salt, so a verdict link can never be
replayed as an unsubscribe link or the reverse, and its own lifetime: an unsubscribe link works
for a long time (RFC 8058 expects it to work from old mail), a verdict link for as long as a
digest is read.

The key is a secret, so it is read from the environment only; without it no signed link is
made (the mail simply has none) and none is accepted.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from fundradar.exceptions import LinkTokenError

# purpose -> how long a link of that purpose stays valid
LIFETIMES: dict[str, timedelta] = {
    "unsubscribe": timedelta(days=365),
    "subscription": timedelta(days=90),  # "edit my subscription"
    "verdict": timedelta(days=30),
}


def _serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    if purpose not in LIFETIMES:
        raise ValueError(f"unknown link purpose {purpose!r} (one of {', '.join(LIFETIMES)})")
    return URLSafeTimedSerializer(secret, salt=f"fundradar-{purpose}")


def sign(secret: str, purpose: str, payload: dict[str, Any]) -> str:
    """A URL-safe token carrying `payload` (JSON-able), signed for one purpose."""
    return _serializer(secret, purpose).dumps(payload)


def verify(secret: str, purpose: str, token: str, *, max_age: timedelta | None = None) -> Any:
    """The payload of a token made by `sign` for this purpose, or LinkTokenError saying why."""
    age = max_age if max_age is not None else LIFETIMES[purpose]
    try:
        return _serializer(secret, purpose).loads(token, max_age=int(age.total_seconds()))
    except SignatureExpired:
        raise LinkTokenError(
            f"this {purpose} link has expired (links of this kind last {age.days} days); "
            "use the link in a newer mail",
            expired=True,
        ) from None
    except BadSignature:
        raise LinkTokenError(
            f"this {purpose} link is not valid: it was altered, cut short in the mail, or made "
            "for something else"
        ) from None
