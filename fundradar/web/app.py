"""The review page and the feeds, as a Flask application.

- `GET /`: scored calls with filters (band, theme, source, status, text), each call's reasons,
  versions (tracked changes), sightings and verdicts; buttons to mark it relevant, shortlisted or
  not relevant (a reason is required for the last one); two charts.
- `GET /calls/<id>`: one call's page: its details, every sighting (source, language, link),
  its changes in words ("deadline moved from 15 to 30 April 2027"), reasons and verdicts.
- `POST /calls/<id>/verdict`: the same verdicts as `fundradar review`, stored by
  `pipeline.review.record_verdict`.
- `GET /calls.csv`, `/calls.ics`, `/calls.atom`: the exports, with the page's filters and search
  (words, applicant, budget, deadline: a feed gives the calls the page shows), streamed.

Everything works without JavaScript (the CSP forbids all script): filters are a GET form,
verdicts are small POST forms with a CSRF token.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, abort, flash, redirect, render_template, request, session
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from fundradar import settings
from fundradar.exceptions import CallNotFoundError, VerdictError
from fundradar.pipeline import db
from fundradar.pipeline.exports.query import (
    DEFAULT_STATUSES,
    STATUS_CHOICES,
    CallFilter,
    band_rank,
    count_calls,
    known_values,
    statement,
)
from fundradar.pipeline.models import CallRow, utcnow
from fundradar.pipeline.normalise.dates import (
    deadline_day,
    format_deadline,
    format_local,
    to_local,
)
from fundradar.pipeline.normalise.text import strip_invisible
from fundradar.pipeline.normalise.urls import safe_url
from fundradar.pipeline.record import BANDS, Call
from fundradar.pipeline.review import VERDICTS, record_verdict, resolve_call
from fundradar.web import changes, charts, mail_links, search, security

PAGE_SIZE = 50
MAX_UPLOAD = 2 * 1024 * 1024  # bytes of one request (the partners CSV upload is the big one)
MAX_TEXT = 200  # a search box, not a document
STATUS_MENU = (("", "open, forthcoming or undated"), *((s, s) for s in STATUS_CHOICES),
               ("all", "all, including closed"))  # fmt: skip
BAND_MENU = (("", "any band"), ("high", "high"), ("medium", "medium or higher"),
             ("low", "low or higher"), ("none", "scored (any band)"))  # fmt: skip
# The digest's order (band, then score, then deadline) is the default; officers planning their
# week sort by deadline, and "newest" shows what came in since they last looked.
SORT_MENU = (("score", "best first (as the digest)"), ("deadline", "deadline, soonest first"),
             ("newest", "newest first"))  # fmt: skip
VERDICT_LABELS = {"relevant": "Relevant", "not-relevant": "Not relevant", "shortlist": "Shortlist"}


def _one(args: MultiDict[str, str], name: str, choices: Any = None) -> str:
    value = (args.get(name) or "").strip()[:MAX_TEXT]
    if choices is not None and value and value not in choices:
        abort(400, f"unknown {name} {value!r}")
    return value


def filter_from_args(args: MultiDict[str, str], base: CallFilter | None = None) -> CallFilter:
    """The filters in a query string (the page's form, or a feed URL) on top of `base`."""
    base = base or CallFilter()
    changes: dict[str, Any] = {}
    band = _one(args, "band", BANDS)
    if band:
        changes["min_band"] = band
    status = _one(args, "status", (*STATUS_CHOICES, "all"))
    if status == "all":
        changes["statuses"] = ()
    elif status:
        changes["statuses"] = (status,)
    themes = tuple(t.strip()[:MAX_TEXT] for t in args.getlist("theme") if t.strip())
    if themes:
        changes["themes"] = themes
    sources = tuple(s.strip()[:MAX_TEXT] for s in args.getlist("source") if s.strip())
    if sources:
        changes["sources"] = sources
    text = _one(args, "q")
    if text:
        changes["text"] = text
    if args.get("dismissed") == "1":
        changes["include_dismissed"] = True
    return base.but(**changes)


def _amount(args: MultiDict[str, str], name: str) -> float | None:
    raw = _one(args, name).replace(",", "").replace(" ", "").replace("\u202f", "")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        abort(400, f"{name}: give an amount such as 50000")
    if not (0 <= value < 1e13):
        abort(400, f"{name}: give an amount from 0 up")
    return value


def _day(args: MultiDict[str, str], name: str) -> date | None:
    raw = _one(args, name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(400, f"{name}: give a date as 2027-04-30")


def _profile() -> Any:
    from fundradar.pipeline.score import load_profile

    return load_profile(settings.load().config_dir / "priorities.yaml")


def narrow(s: Any, flt: CallFilter, wanted: search.Search, profile: Any) -> CallFilter:
    """`flt` with the page's search applied (web/search.py): the page and its feeds alike."""
    if not wanted.active:
        return flt
    return search.narrow(
        s, flt, wanted, theme_labels={k: v.label for k, v in profile.themes.items()},
        applicant_terms={k: a.terms.all() for k, a in profile.applicants.items()},
    )  # fmt: skip


def search_from_args(args: MultiDict[str, str]) -> search.Search:
    """The page's search: words (`q`), applicant type, budget and deadline ranges."""
    return search.Search(
        text=_one(args, "q"),
        applicant=_one(args, "applicant", _profile().applicants),
        budget_min=_amount(args, "budget_min"),
        budget_max=_amount(args, "budget_max"),
        deadline_from=_day(args, "deadline_from"),
        deadline_to=_day(args, "deadline_to"),
    )


# C0 controls, DEL, C1 controls and spaces: browsers drop tabs and newlines anywhere in a URL
# and trim the rest at its ends, so "/\t/evil.example" is read as "//evil.example".
_URL_NOISE = re.compile(r"[\x00-\x20\x7f-\x9f]")


def _safe_next(target: str | None) -> str:
    """Where to go after a POST: a path on this site only (never `//evil.example`).

    Judged on the target as a browser would read it (controls and spaces removed); anything
    but a single leading "/" followed by a path with no scheme or host gives "/".
    """
    cleaned = _URL_NOISE.sub("", strip_invisible(target or ""))
    if not cleaned.startswith("/") or cleaned.startswith(("//", "/\\")) or "\\" in cleaned:
        return "/"
    try:
        parts = urlsplit(cleaned)
    except ValueError:
        return "/"
    if parts.scheme or parts.netloc:
        return "/"
    return cleaned


def page_number(raw: str | None, pages: int) -> int:
    """The page asked for, clamped to 1..pages: "-3", "abc" or 10**20 never reach the query
    (SQLite's OFFSET is a 64-bit integer; a larger one is an OverflowError, not an empty page)."""
    raw = (raw or "").strip()
    if not (raw.isascii() and raw.isdigit()):  # no sign, no "1e9", no "²"
        return 1
    if len(raw) > 9:  # more pages than calls could ever fill
        return pages
    return min(max(1, int(raw)), pages)


def _show_value(field: str, value: Any) -> str:
    if value in (None, "", []):
        return "—"
    if field in ("deadline", "opens_at") and isinstance(value, str):
        try:
            return format_local(datetime.fromisoformat(value))
        except ValueError:
            return value
    if field == "deadlines" and isinstance(value, list):
        return ", ".join(_show_value("deadline", v) for v in value)
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return text if len(text) <= 300 else text[:299] + "…"


def sort_order(name: str) -> tuple[Any, ...]:
    """ORDER BY for the review page's sort menu; ties broken by id so pages never overlap."""
    if name == "deadline":
        return (CallRow.deadline.is_(None), CallRow.deadline, band_rank(), CallRow.id)
    if name == "newest":
        return (CallRow.first_seen.desc(), CallRow.id.desc())
    return (band_rank(), CallRow.score.is_(None), CallRow.score.desc(),
            CallRow.deadline.is_(None), CallRow.deadline, CallRow.id)  # fmt: skip


def call_view(row: CallRow, now: datetime) -> dict[str, Any]:
    """What the template shows of one call (plain values; Jinja escapes them)."""
    day = deadline_day(row.deadline, row.deadline_kind, row.timezone)  # a date: its own day
    days_left = None if day is None else (day - to_local(now).date()).days
    latest = row.verdicts[-1] if row.verdicts else None
    return {
        "id": row.id,
        "key": row.key,
        "title": row.title or "(untitled call)",
        "link": safe_url(row.url),
        "url": row.url,
        "funder": row.funder,
        "programme": row.programme,
        "source": row.source,
        "deadline": format_deadline(row.deadline, row.deadline_kind, row.timezone) or None,
        "days_left": days_left,
        "status": row.status or "unknown",
        "budget": Call.budget_display(row),  # type: ignore[arg-type]
        "score": row.score,
        "band": row.band or "unscored",
        "themes": [t for t in row.themes or () if isinstance(t, str)],
        "reasons": [r for r in row.reasons or () if isinstance(r, str)],
        "first_seen": format_local(row.first_seen, with_time=False),
        "changes": [
            {
                "when": format_local(c.seen_at),
                "field": c.field,
                "old": _show_value(c.field, c.old_value),
                "new": _show_value(c.field, c.new_value),
                "text": changes.describe(
                    c.field, c.old_value, c.new_value, row.deadline_kind, row.timezone
                ),
                "source": c.source,
            }
            for c in reversed(row.changes)
        ],
        "sightings": [
            {
                "source": s.source,
                "link": safe_url(s.url),
                "url": s.url,
                "listed": s.listed,
                "language": s.language or row.language,
                "title": s.title,
                "first_seen": format_local(s.first_seen, with_time=False),
                "last_seen": format_local(s.last_seen, with_time=False),
            }
            for s in row.sightings
        ],
        "verdicts": [
            {
                "verdict": v.verdict,
                "reason": v.reason,
                "author": v.author,
                "when": format_local(v.created_at),
            }
            for v in reversed(row.verdicts)
        ],
        "verdict": latest.verdict if latest else None,
        "summary": row.summary,
        "eligibility": row.eligibility_text,
        "applicants": [a for a in row.eligible_applicants or () if isinstance(a, str)],
        "countries": [c for c in row.eligible_countries or () if isinstance(c, str)],
        "languages": sorted({x for x in [row.language, *(s.language for s in row.sightings)] if x}),
        "opens": format_local(row.opens_at) if row.opens_at else None,
    }


def create_app(
    *, token: str | None = None, secret_key: bytes | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Flask:  # fmt: skip
    """The application. `token`: require it on every request (see `security`); one shorter
    than `settings.MIN_WEB_TOKEN` is refused (ConfigError)."""
    settings.check_web_token(token)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key or secrets.token_bytes(32),  # new per process: sessions end with it
        FUNDRADAR_TOKEN=token,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="fundradar_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        # a partners CSV upload (/partners/import) may be a few thousand rows; every other form
        # is small, and Werkzeug holds each non-file field to MAX_FORM_MEMORY_SIZE (it must
        # exceed Werkzeug's 64 KB read buffer, which the multipart decoder also counts)
        MAX_CONTENT_LENGTH=MAX_UPLOAD,
        MAX_FORM_MEMORY_SIZE=256 * 1024,
        TEMPLATES_AUTO_RELOAD=False,
    )
    security.install(app)
    from fundradar.web.subscriptions import bp as subscriptions_bp

    app.register_blueprint(subscriptions_bp)  # save filters, edit, unsubscribe (signed links)
    mail_links.install(app, clock=clock)  # the digest's signed verdict links
    from fundradar.web import partnerships  # applications, partners, dashboard (issue 15)

    partnerships.install(app, clock)

    def feed_query() -> str:
        keep = [(k, v) for k, v in request.args.items(multi=True) if k not in ("page", "token")]
        return urlencode(keep)

    @app.get("/")
    def review_page() -> str:
        now = clock()
        flt = filter_from_args(request.args)
        sort = _one(request.args, "sort", [v for v, _ in SORT_MENU]) or "score"
        wanted = search_from_args(request.args)
        profile = _profile()
        with db.session_scope() as s:
            flt = narrow(s, flt, wanted, profile)  # words, applicant, budget, deadline
            total = count_calls(s, flt)
            pages = max(1, -(-total // PAGE_SIZE))
            page_no = page_number(request.args.get("page"), pages)
            stmt = (
                statement(flt)
                .order_by(None)
                .order_by(*sort_order(sort))
                .options(selectinload(CallRow.changes), selectinload(CallRow.sightings),
                         selectinload(CallRow.verdicts))
                .offset((page_no - 1) * PAGE_SIZE)
                .limit(PAGE_SIZE)
            )  # fmt: skip
            calls = [call_view(r, now) for r in s.scalars(stmt)]
            menus = known_values(s)
            chart_list = charts.build(s, flt, now)
        args = request.args.to_dict(flat=False)

        def page_url(n: int) -> str:
            q = {**args, "page": [str(n)]}
            return "/?" + urlencode([(k, v) for k, vs in q.items() for v in vs])

        return render_template(
            "review.html",
            calls=calls, total=total, page=page_no, pages=pages, page_url=page_url,
            flt=flt, args=request.args, menus=menus, charts=chart_list,
            status_menu=STATUS_MENU, band_menu=BAND_MENU, sort_menu=SORT_MENU, sort=sort,
            verdict_labels=VERDICT_LABELS, search=wanted,
            applicant_menu=[(a.id, a.label) for a in profile.applicants.values()],
            verdicts=VERDICTS, reviewer=session.get("reviewer", ""),
            default_statuses=DEFAULT_STATUSES, feed_query=feed_query(),
            here=request.full_path.rstrip("?"), now_text=format_local(now),
        )  # fmt: skip

    @app.get("/charts.css")
    def charts_css() -> Response:
        # pygal's stylesheet as a file: the CSP allows styles from this site only, not inline
        resp = Response(charts.stylesheet(), mimetype="text/css")
        resp.cache_control.max_age = 3600
        return resp

    @app.get("/calls/<int:call_id>")
    def call_page(call_id: int) -> str:
        with db.session_scope() as s:
            loads = [selectinload(CallRow.changes), selectinload(CallRow.sightings),
                     selectinload(CallRow.verdicts)]  # fmt: skip
            row = s.get(CallRow, call_id, options=loads)
            if row is None:
                abort(404, f"no call {call_id}")
            call = call_view(row, clock())
        back = _safe_next(request.args.get("back")) if request.args.get("back") else "/"
        return render_template(
            "call.html", c=call, verdict_labels=VERDICT_LABELS, back=back,
            here=request.full_path.rstrip("?"),
        )  # fmt: skip

    @app.post("/calls/<int:call_id>/verdict")
    def mark(call_id: int) -> Response:
        verdict = request.form.get("verdict", "")
        reason = request.form.get("reason", "")
        back = _safe_next(request.form.get("next"))
        author = session.get("reviewer") or f"{settings.load().author} (web)"
        try:
            with db.session_scope() as s:
                call = resolve_call(s, str(call_id))
                v = record_verdict(
                    s, call, verdict, reason=reason, author=author, require_reason=True,
                    now=clock(),
                )  # fmt: skip
                title = call.title
        except CallNotFoundError:
            abort(404, f"no call {call_id}")
        except VerdictError as exc:
            flash(str(exc), "error")
            return redirect(back, 303)  # type: ignore[return-value]
        flash(f"Marked {VERDICT_LABELS[v.verdict].lower()}: {title}", "ok")
        return redirect(back, 303)  # type: ignore[return-value]

    @app.post("/reviewer")
    def set_reviewer() -> Response:
        name = " ".join(request.form.get("name", "").split())[:100]
        session["reviewer"] = name
        return redirect(_safe_next(request.form.get("next")), 303)  # type: ignore[return-value]

    def stream(chunks: Callable[[Any], Iterator[str]]) -> Iterator[bytes]:
        # the generator opens its own session: the response body is produced after the view
        # returns, and a 100,000-call CSV should not wait in memory
        with db.session_scope() as s:
            for chunk in chunks(s):
                yield chunk.encode("utf-8")

    @app.get("/calls.csv")
    def calls_csv() -> Response:
        from fundradar.pipeline.exports.csv_feed import csv_chunks

        flt, wanted, now = filter_from_args(request.args), search_from_args(request.args), clock()
        profile = _profile()  # read before the stream starts: a bad profile is a clear error
        resp = Response(stream(lambda s: csv_chunks(s, narrow(s, flt, wanted, profile), now=now)),
                        mimetype="text/csv")  # fmt: skip
        resp.headers["Content-Disposition"] = 'attachment; filename="calls.csv"'
        resp.charset = "utf-8"
        return resp

    @app.get("/calls.ics")
    def calls_ics() -> Response:
        from fundradar.pipeline.exports.ics import default_filter, ics_chunks

        flt, now = filter_from_args(request.args, default_filter()), clock()
        wanted, profile = search_from_args(request.args), _profile()
        resp = Response(stream(lambda s: ics_chunks(s, narrow(s, flt, wanted, profile), now=now)),
                        mimetype="text/calendar")  # fmt: skip
        resp.headers["Content-Disposition"] = 'inline; filename="calls.ics"'
        return resp

    @app.get("/calls.atom")
    def calls_atom() -> Response:
        from fundradar.pipeline.exports.atom import atom_document, default_filter

        now = clock()
        flt = filter_from_args(request.args, default_filter(now))
        wanted = search_from_args(request.args)
        with db.session_scope() as s:
            flt = narrow(s, flt, wanted, _profile())
            body = atom_document(s, flt, now=now, self_url=request.base_url)
        return Response(body, mimetype="application/atom+xml")

    @app.errorhandler(400)
    @app.errorhandler(403)
    @app.errorhandler(404)
    @app.errorhandler(405)
    @app.errorhandler(413)
    def error(exc: Any) -> tuple[str, int]:
        code = getattr(exc, "code", 500) or 500
        message = getattr(exc, "description", str(exc))
        if code == 413:  # say the limit and what to do, not the HTTP jargon
            message = (
                f"That is more than this page accepts at once ({MAX_UPLOAD // 2**20} MB): "
                "split the file, or import it with `fundradar partner import FILE`."
            )
        return render_template("message.html", code=code, message=message), code

    return app
