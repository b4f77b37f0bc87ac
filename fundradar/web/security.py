"""Who may use the review page, and what a page may do in a browser.

- **Access token** (FUNDRADAR_WEB_TOKEN). Required when `serve` listens beyond this machine, and
  enforced whenever one is configured. Given once as `?token=…` (the page then keeps a signed
  session cookie and drops the token from the address bar), as `Authorization: Bearer …`, or on
  each feed URL (calendar and feed readers cannot send headers or keep cookies). Compared in
  constant time; never logged (see `server.RedactingHandler`).
- **Cross-site forgery.** Every state-changing request (POST) must carry the session's CSRF
  token from the form, and is refused if the browser says it comes from another site
  (`Sec-Fetch-Site`, `Origin`). The session cookie is HttpOnly and SameSite=Lax.
- **Signed mail links.** Views marked `@signed_link` (unsubscribe and edit my subscription:
  web/subscriptions.py; the digest's verdict buttons: web/mail_links.py) need no access token:
  the link's signature (FUNDRADAR_SECRET_KEY) authorises that one action for that one
  recipient, and an officer reads her mail outside the office network. The one-click
  unsubscribe POST needs no CSRF token either (`NO_CSRF_ENDPOINTS`): RFC 8058 clients post
  it from their servers, without a session, and the signed token is the proof.
- **Invisible controls.** Every value a template prints loses NUL bytes and bidirectional
  overrides (U+202E shows a title reversed), also for calls stored before the normaliser
  removed them.
- **Headers.** A strict Content Security Policy: no script at all, styles and images from this
  server only (the charts are inline SVG drawn on the server), no framing, forms post only
  here; no referrer to other sites, so nothing about the page leaks through a clicked link.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, abort, current_app, redirect, request, session
from markupsafe import Markup

from fundradar.pipeline.normalise.text import strip_invisible

CSRF_FIELD = "csrf_token"
NO_CSRF_ENDPOINTS = frozenset({"subscriptions.unsubscribe_post"})
TOKEN_PARAM = "token"

CSP = "; ".join(
    (
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # same-origin: our own forms keep a real Origin header (no-referrer would make it "null");
    # a funder's site gets no referrer at all
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


def _fingerprint(token: str) -> str:
    # the session keeps a hash, not the token: a leaked cookie does not reveal the token, and
    # changing FUNDRADAR_WEB_TOKEN logs every browser out
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(given: str | None, expected: str) -> bool:
    if not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _presented_token() -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.args.get(TOKEN_PARAM)


def signed_link(view: Any) -> Any:
    """Mark a view whose URL carries its own authorisation: a link from a mail, signed with
    FUNDRADAR_SECRET_KEY for one action by one recipient (`fundradar.tokens`). The access token
    is not asked for there (the recipient has none); the view must verify the signature."""
    view.fundradar_signed_link = True
    return view


def check_access() -> Response | None:
    """before_request: None to go on, or the response that ends the request."""
    token: str | None = current_app.config.get("FUNDRADAR_TOKEN")
    if not token:
        return None
    if getattr(current_app.view_functions.get(request.endpoint or ""), "fundradar_signed_link",
               False):  # fmt: skip
        return None  # a mail link's signature authorises its own page (mail_links.py)
    fingerprint = session.get("auth")
    if isinstance(fingerprint, str) and hmac.compare_digest(fingerprint, _fingerprint(token)):
        return None
    if token_matches(_presented_token(), token):
        session["auth"] = _fingerprint(token)
        if TOKEN_PARAM in request.args and request.method == "GET" and _is_page():
            # keep the token out of the address bar, history and bookmarks
            rest = [(k, v) for k, v in request.args.items(multi=True) if k != TOKEN_PARAM]
            return redirect(request.path + (f"?{urlencode(rest)}" if rest else ""), 303)  # type: ignore[return-value]
        return None
    resp = Response(
        "Access token required: open the address you were given with ?token=…\n",
        status=401,
        mimetype="text/plain",
    )
    resp.headers["WWW-Authenticate"] = 'Bearer realm="fundradar"'
    return resp


def _is_page() -> bool:
    return not request.path.endswith((".csv", ".ics", ".atom", ".xlsx"))


def csrf_token() -> str:
    """The session's CSRF token (created on first use); templates put it in every form."""
    value = session.get("csrf")
    if not isinstance(value, str):
        value = secrets.token_urlsafe(32)
        session["csrf"] = value
    return value


def check_csrf() -> None:
    """before_request for POST: abort(403) unless the form proves it came from our page."""
    if request.method in ("GET", "HEAD", "OPTIONS") or request.endpoint in NO_CSRF_ENDPOINTS:
        return
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        abort(403, "cross-site request refused")
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        o = urlsplit(origin)
        if (o.scheme, o.netloc) != (request.scheme, request.host):
            abort(403, "cross-site request refused")
    expected = session.get("csrf")
    given = request.form.get(CSRF_FIELD, "")
    if not isinstance(expected, str) or not hmac.compare_digest(
        given.encode("utf-8"), expected.encode("utf-8")
    ):
        abort(403, "the form has expired; reload the page and try again")


def add_headers(resp: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        resp.headers.setdefault(name, value)
    if resp.mimetype == "text/html":
        resp.headers["Cache-Control"] = "no-store"  # verdict state must not come from a cache
    return resp


def printable(value: Any) -> Any:
    """Jinja `finalize`: scraped text is printed without NUL or bidi controls. Markup is ours
    (already escaped and built from cleaned values), so it is left as it is."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return strip_invisible(value)
    return value


def install(app: Flask) -> None:
    app.before_request(check_access)
    app.before_request(check_csrf)
    app.after_request(add_headers)
    app.jinja_env.finalize = printable
    app.jinja_env.globals["csrf_token"] = csrf_token
