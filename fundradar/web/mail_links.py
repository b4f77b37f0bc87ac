"""The one-click verdict links of the digest: "relevant / not relevant / shortlist" per call.

`GET /mail/verdict/<token>` only shows what the link would do and asks to confirm: a GET
never changes anything, because mail scanners and link previews open every link in a mail.
The confirm page's form POSTs back to the same address with the session's CSRF token (and,
for "not relevant", the reason the scorer learns from); the POST records the verdict with
`pipeline.review.record_verdict`, the recipient the link was made for as its author.

The token (`fundradar.tokens`, purpose "verdict") carries the call, the verdict and the
recipient, signed with FUNDRADAR_SECRET_KEY: it is the authorisation for that one action, so
these two routes do not ask for FUNDRADAR_WEB_TOKEN (`security.signed_link`). An altered
link is refused with 400, an expired one with 410, and nothing is recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, render_template, request

from fundradar import settings, tokens
from fundradar.exceptions import CallNotFoundError, LinkTokenError, VerdictError
from fundradar.pipeline import db
from fundradar.pipeline.models import CallRow
from fundradar.pipeline.normalise.dates import format_deadline
from fundradar.pipeline.review import (
    MAX_AUTHOR,
    VERDICTS,
    latest_verdicts,
    record_verdict,
    resolve_call,
    same_verdict,
)
from fundradar.web.security import signed_link

blueprint = Blueprint("mail_links", __name__)
LABELS = {"relevant": "relevant", "not-relevant": "not relevant", "shortlist": "shortlisted"}


def install(app: Flask, *, clock: Callable[[], datetime]) -> None:
    """Register the routes; `clock` is the application's (tests freeze it)."""
    app.extensions["fundradar_clock"] = clock
    app.register_blueprint(blueprint)


def _refused(message: str, status: int) -> tuple[str, int]:
    return render_template("mail_link.html", state="refused", message=message), status


def _payload(token: str) -> dict[str, Any] | tuple[str, int]:
    """The verified (call, verdict, email) of a link, or the page refusing it."""
    secret = settings.load().secret_key
    if not secret:
        return _refused("Links from mail are not enabled on this server "
                        "(FUNDRADAR_SECRET_KEY is not set).", 404)  # fmt: skip
    try:
        data = tokens.verify(secret, "verdict", token)
    except LinkTokenError as exc:
        return _refused(str(exc).capitalize() + ".", 410 if exc.expired else 400)
    ok = (
        isinstance(data, dict)
        and isinstance(data.get("call"), int)
        and data.get("verdict") in VERDICTS
        and isinstance(data.get("email"), str)
        and "@" in data["email"]
    )
    if not ok:  # signed by us but not a verdict link we make: refuse rather than guess
        return _refused("This verdict link is not valid: it does not name a call, a verdict "
                        "and a recipient.", 400)  # fmt: skip
    email = " ".join(data["email"].split())[:MAX_AUTHOR]
    return {"call": data["call"], "verdict": data["verdict"], "email": email}


def _call(session: Any, call_id: int) -> CallRow:
    try:
        return resolve_call(session, str(call_id))
    except CallNotFoundError:
        abort(404, f"no call {call_id}: it may have been removed since the mail was sent")


def _page(state: str, link: dict[str, Any], row: CallRow, status: int = 200, **extra: Any):  # type: ignore[no-untyped-def]
    call = {
        "id": row.id,
        "title": row.title or "(untitled call)",
        "funder": row.funder,
        "deadline": format_deadline(row.deadline, row.deadline_kind, row.timezone) or None,
    }
    page = render_template("mail_link.html", state=state, link=link, call=call,
                           label=LABELS[link["verdict"]], **extra)  # fmt: skip
    return page, status


@blueprint.get("/mail/verdict/<token>/style.css")
@signed_link
def style(token: str) -> Response:
    """The review page's stylesheet, for the page of this link. With FUNDRADAR_WEB_TOKEN set,
    /static asks for the token like every other address; here the link's signature stands
    for it (whatever its age: an expired link's page is styled too; CSS changes nothing)."""
    secret = settings.load().secret_key
    try:
        if not secret:
            raise LinkTokenError("no key")
        tokens.verify(secret, "verdict", token, max_age=STYLE_MAX_AGE)
    except LinkTokenError:
        abort(404)
    return current_app.send_static_file("review.css")


STYLE_MAX_AGE = timedelta(days=3650)


@blueprint.get("/mail/verdict/<token>")
@signed_link
def confirm(token: str):  # type: ignore[no-untyped-def]
    link = _payload(token)
    if isinstance(link, tuple):
        return link
    with db.session_scope() as s:
        row = _call(s, link["call"])
        latest = latest_verdicts(s, [row.id]).get(row.id)
        current = LABELS.get(latest.verdict) if latest else None
        return _page("confirm", link, row, current=current)


@blueprint.post("/mail/verdict/<token>")
@signed_link
def record(token: str):  # type: ignore[no-untyped-def]
    link = _payload(token)
    if isinstance(link, tuple):
        return link
    reason = request.form.get("reason", "")
    now = current_app.extensions["fundradar_clock"]()
    with db.session_scope() as s:
        row = _call(s, link["call"])
        latest = latest_verdicts(s, [row.id]).get(row.id)
        if (latest is not None and latest.author == link["email"]
                and same_verdict(latest, link["verdict"], reason)):  # fmt: skip
            # the same link confirmed twice (a double click, a reload): recorded once
            return _page("done", link, row, again=True)
        try:
            record_verdict(s, row, link["verdict"], reason=reason, author=link["email"],
                           require_reason=True, now=now)  # fmt: skip
        except VerdictError as exc:
            return _page("confirm", link, row, 400, error=str(exc), current=None)
        return _page("done", link, row, again=False)
