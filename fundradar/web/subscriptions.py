"""Subscriptions on the web: save the page's filters as one, edit it, unsubscribe.

- `POST /subscriptions` (the review page's "Save these filters as a subscription" form, CSRF
  token required): band, themes, sources and words from the page, plus address, frequency,
  the digest's language, the calls' language and an optional Apprise channel.
- `GET /subscription/<token>`, `POST /subscription/<token>` (CSRF token required): the edit page
  a digest's "edit my subscription" link opens.
- `GET /unsubscribe/<token>`: a confirmation page with one button; it changes nothing (mail
  scanners and link previews follow links). `POST /unsubscribe/<token>`: unsubscribes. That POST
  needs no CSRF token: it is what RFC 8058 mail clients send (body `List-Unsubscribe=One-Click`,
  from their servers, with no session), and the signed token is the proof.

The `<token>` routes work without FUNDRADAR_WEB_TOKEN (`@signed_link`: web/security.py lets
them through): the signature, made with FUNDRADAR_SECRET_KEY for that purpose and that
subscription, authorises that one action and nothing else. Without a secret key they answer
404: no link was ever made.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, session

from fundradar import settings
from fundradar.alerts import subscriptions as subs
from fundradar.exceptions import LinkTokenError, SubscriptionError
from fundradar.pipeline import db
from fundradar.pipeline.exports.query import known_values
from fundradar.pipeline.models import Subscription
from fundradar.web.security import signed_link

bp = Blueprint("subscriptions", __name__)

MAX_TEXT = 200
MAX_ITEMS = 30
BANDS_MENU = (("high", "high only"), ("medium", "medium or higher"), ("low", "low or higher"),
              ("none", "every call, unscored too"))  # fmt: skip
FREQUENCY_MENU = (
    ("weekly", "weekly digest"),
    ("instant", "weekly digest + a mail at once for each new high-band call"),
)
LANGUAGE_MENU = (("en", "English"), ("fr", "Français"))
CALL_LANGUAGE_MENU = (("", "any language"), ("en", "English"), ("fr", "French"),
                      ("es", "Spanish"))  # fmt: skip
# what an RFC 8058 client POSTs (and our confirmation button too)
ONE_CLICK = ("List-Unsubscribe", "One-Click")


def _text(name: str) -> str:
    return " ".join((request.form.get(name) or "").split())[:MAX_TEXT]


def _list(name: str) -> list[str]:
    values = [" ".join(v.split())[:MAX_TEXT] for v in request.form.getlist(name)]
    return sorted({v for v in values if v})[:MAX_ITEMS]


def _filters() -> dict[str, Any]:
    """The subscription's filters from a form (validated again by alerts.subscriptions)."""
    return {
        "name": _text("name") or None,
        "language": _text("language") or "en",
        "min_band": _text("band") or "none",  # the page's "any band" shows every call
        "themes": _list("theme"),
        "sources": _list("source"),
        "words": _text("q") or None,
        "call_language": _text("call_language") or None,
        "frequency": _text("frequency") or "weekly",
    }


def _secret() -> str:
    key = settings.load().secret_key
    if not key:
        abort(404, "signed links are not set up here (FUNDRADAR_SECRET_KEY is not set)")
    return key


def _describe(sub: Subscription) -> str:
    parts = [dict(BANDS_MENU).get(sub.min_band, sub.min_band)]
    if sub.themes:
        parts.append("themes " + ", ".join(sub.themes))
    if sub.sources:
        parts.append("sources " + ", ".join(sub.sources))
    if sub.words:
        parts.append(f"words “{sub.words}”")
    if sub.call_language:
        parts.append(f"calls in {dict(CALL_LANGUAGE_MENU)[sub.call_language]}")
    return "; ".join(parts)


@bp.post("/subscriptions")
def create() -> Response:
    from fundradar.web.app import _safe_next

    back = _safe_next(request.form.get("next"))
    email = _text("email")
    author = session.get("reviewer") or email
    try:
        with db.session_scope() as s:
            sub = subs.subscribe(
                s, email=email, created_by=f"web ({author})"[:200],
                channel=request.form.get("channel"), **_filters(),
            )  # fmt: skip
            what = _describe(sub)
            frequency = dict(FREQUENCY_MENU)[sub.frequency]
            address = sub.email
    except SubscriptionError as exc:
        flash(f"Not subscribed: {exc}", "error")
        return redirect(back, 303)  # type: ignore[return-value]
    flash(f"Subscribed {address}: {frequency}; {what}. Every mail has links to change or stop "
          "it.", "ok")  # fmt: skip
    return redirect(back, 303)  # type: ignore[return-value]


@contextmanager
def _signed(purpose: str, token: str) -> Iterator[tuple[Any, Subscription | None, str | None]]:
    """(session, subscription, None), or (session, None, why the link is refused), for the
    length of one request; the session is closed after it."""
    s = db.session_factory()()
    try:
        try:
            found, why = subs.from_token(s, _secret(), purpose, token), None
        except LinkTokenError as exc:
            found, why = None, str(exc)
        yield s, found, why
    finally:
        s.close()


def _refused(why: str) -> tuple[str, int]:
    return render_template("message.html", code=403, message=why), 403


@bp.get("/subscription/<token>")
@signed_link
def manage(token: str) -> Any:
    with _signed("subscription", token) as (s, sub, why):
        if sub is None:
            return _refused(why or "")
        menus = known_values(s)  # the same session: one connection per request
        links = subs.links(sub.id, sub.email)
        return render_template(
            "subscription.html", sub=sub, token=token, menus=menus, bands=BANDS_MENU,
            frequencies=FREQUENCY_MENU, languages=LANGUAGE_MENU,
            call_languages=CALL_LANGUAGE_MENU, channel=subs.redact_channel(sub.channel),
            unsubscribe_url=links.unsubscribe if links else None, describe=_describe(sub),
        )  # fmt: skip


@bp.post("/subscription/<token>")
@signed_link
def manage_post(token: str) -> Any:
    with _signed("subscription", token) as (s, sub, why):
        if sub is None:
            return _refused(why or "")
        channel = (request.form.get("channel") or "").strip() or sub.channel
        if request.form.get("no_channel") == "1":
            channel = None
        try:
            subs.update(s, sub, channel=channel, **_filters())
            if not sub.active and request.form.get("resume") == "1":
                sub.active, sub.unsubscribed_at = True, None
            s.commit()
        except SubscriptionError as exc:
            s.rollback()
            flash(f"Not saved: {exc}", "error")
            return redirect(f"/subscription/{token}", 303)
        flash(f"Saved: {_describe(sub)}.", "ok")
        return redirect(f"/subscription/{token}", 303)


@bp.get("/unsubscribe/<token>")
@signed_link
def unsubscribe(token: str) -> Any:
    with _signed("unsubscribe", token) as (_s, sub, why):
        if sub is None:
            return _refused(why or "")
        return render_template("unsubscribe.html", sub=sub, token=token, done=False)


@bp.post("/unsubscribe/<token>")
@signed_link
def unsubscribe_post(token: str) -> Any:
    with _signed("unsubscribe", token) as (s, sub, why):
        if sub is None:
            return _refused(why or "")
        if request.form.get(ONE_CLICK[0]) != ONE_CLICK[1]:
            abort(400, "an unsubscribe request carries List-Unsubscribe=One-Click")
        subs.unsubscribe(s, sub)
        s.commit()
        return render_template("unsubscribe.html", sub=sub, token=token, done=True)
