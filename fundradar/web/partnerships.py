"""The partnerships pages: applications, partner organisations, the dashboard, print pages.

- `GET /dashboard`: applications by stage, amounts by funder, theme and year, upcoming
  deadlines, partners by kind and territory, calls found per week (`pipeline.partnerships.
  dashboard` computes, `web.dashboard_charts` draws).
- `POST /calls/<id>/application`: a shortlisted call becomes an application; `GET
  /applications` lists them, `GET /applications/<id>` shows one with its stage, details,
  partners and history, each changed by a small POST form.
- `GET /partners` (filter by kind, territory, words), `GET /partners/<id>` (with a form for
  past joint projects), `GET|POST /partners/new`, `POST /partners/import` (a CSV, answered
  with its report), `GET /partners/duplicates` with a merge button per pair.
- `GET /calls/<id>/print`, `GET /partners/<id>/print`: one call or one partner on one sheet.
- `GET /partnerships.xlsx`, `/applications.csv`, `/partners.csv`, `/relevant-calls.csv`: the
  exports of `pipeline.exports.workbook` and `pipeline.exports.partnerships`.

Every change goes through `pipeline.partnerships` (its `applications` and `organisations`
modules check and record it, with the author); this module reads forms and shows results.
No script (the CSP forbids it): GET filter forms, POST forms with the session's CSRF token.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from fundradar import settings
from fundradar.exceptions import ApplicationError, PartnerError
from fundradar.pipeline import db
from fundradar.pipeline.models import (
    APPLICATION_STAGES,
    ORGANISATION_KINDS,
    Application,
    ApplicationPartner,
    CallRow,
    Organisation,
)
from fundradar.pipeline.normalise.dates import deadline_day, format_deadline, format_local, to_local
from fundradar.pipeline.normalise.urls import safe_url
from fundradar.web.dashboard_charts import KIND_LABELS, kind_label

bp = Blueprint("partnerships", __name__)
MAX_TEXT = 200
ROLES = ("lead", "partner")


def install(app: Flask, clock: Callable[[], datetime]) -> None:
    """Register the pages on the review page's application (see `web.app.create_app`)."""
    app.extensions["fundradar_clock"] = clock
    app.jinja_env.globals["applications_of_call"] = applications_of_call
    app.jinja_env.globals["kind_label"] = kind_label
    app.register_blueprint(bp)


def _now() -> datetime:
    return current_app.extensions["fundradar_clock"]()


def _author() -> str:
    return session.get("reviewer") or f"{settings.load().author} (web)"


def _text(form: Any, name: str, limit: int = MAX_TEXT) -> str:
    return " ".join((form.get(name) or "").split())[:limit]


def _choice(args: Any, name: str, choices: Any) -> str:
    value = _text(args, name)
    if value and value not in choices:
        abort(400, f"unknown {name} {value!r}")
    return value


def _back(default: str) -> str:
    from fundradar.web.app import _safe_next

    given = request.form.get("next")
    return _safe_next(given) if given else default


def _go(target: str) -> Response:
    return redirect(target, 303)  # type: ignore[return-value]


# ------------------------------------------------------------------------------- read side


def applications_of_call(call_id: int) -> list[dict[str, Any]]:
    """The applications answering a call (id, stage): for the call's page and card."""
    with db.session_scope() as s:
        rows = s.execute(
            select(Application.id, Application.stage)
            .where(Application.call_id == call_id)
            .order_by(Application.id)
        ).all()
    return [{"id": i, "stage": st} for i, st in rows]


def _amount_text(value: Decimal | None, currency: str | None) -> str:
    if value is None:
        return ""
    return f"{currency or ''} {value:,.2f}".removesuffix(".00").strip()


def _amount_input(value: Decimal | None) -> str:
    """An amount as the form shows it for editing: 600000, 1000.5 (not 600000.00)."""
    if value is None:
        return ""
    return str(int(value)) if value == value.to_integral_value() else f"{value.normalize():f}"


def _funder_deadline(app: Application, call: CallRow | None) -> str:
    if call is not None:
        return format_deadline(call.deadline, call.deadline_kind, call.timezone)
    return format_local(app.funder_deadline) if app.funder_deadline else ""


def application_view(s: Session, app: Application, now: datetime) -> dict[str, Any]:
    call = s.get(CallRow, app.call_id) if app.call_id is not None else None
    today = to_local(now).date()
    internal = app.internal_deadline
    fday = (
        deadline_day(call.deadline, call.deadline_kind, call.timezone)
        if call
        else (to_local(app.funder_deadline).date() if app.funder_deadline else None)
    )
    partners = sorted(app.partners, key=lambda p: (p.role != "lead", p.organisation.name.lower()))
    return {
        "id": app.id,
        "title": app.title or "(untitled)",
        "call_id": call.id if call else None,
        "call_link": safe_url(call.url) if call else None,
        "archived": app.archived_at is not None or (app.call_id is None and app.call_key),
        "call_key": app.call_key,
        "funder": app.funder,
        "stage": app.stage,
        "owner": app.owner,
        "internal_deadline": internal,
        "internal_text": f"{internal:%a} {internal.day} {internal:%b %Y}" if internal else "",
        "internal_left": (internal - today).days if internal else None,
        "funder_deadline": _funder_deadline(app, call),
        "funder_left": (fday - today).days if fday else None,
        "amount_requested": _amount_input(app.amount_requested),
        "amount_awarded": _amount_input(app.amount_awarded),
        "requested_text": _amount_text(app.amount_requested, app.currency),
        "awarded_text": _amount_text(app.amount_awarded, app.currency),
        "currency": app.currency or "",
        "notes": app.notes or "",
        "partners": [
            {
                "id": p.organisation_id,
                "name": p.organisation.name,
                "role": p.role,
                "kind": kind_label(p.organisation.kind),
                "country": p.organisation.country,
            }
            for p in partners
        ],
        "events": [
            {
                "when": format_local(e.at),
                "author": e.author,
                "from": e.from_stage,
                "to": e.to_stage,
                "note": e.note,
            }
            for e in reversed(app.events)
        ],
        "created_by": app.created_by,
        "created": format_local(app.created_at, with_time=False),
    }


def organisation_view(p: Any) -> dict[str, Any]:
    """A partner's page from its `organisations.profile`: its details, the calls it funds or
    operates, its applications, past projects and the entries merged into it."""
    org = p.organisation
    return {
        "id": org.id,
        "name": org.name,
        "acronym": org.acronym,
        "aliases": [a for a in org.aliases or () if isinstance(a, str)],
        "kind": kind_label(org.kind),
        "country": org.country,
        "languages": [x for x in org.languages or () if isinstance(x, str)],
        "contact": org.contact,
        "website": safe_url(org.website),
        "website_text": org.website,
        "notes": org.notes,
        "origin": org.origin,
        "merged": [{"id": m.id, "name": m.name} for m in p.merged],
        "calls": [
            {
                "id": c.id,
                "title": c.title or "(untitled call)",
                "role": role,
                "deadline": format_deadline(c.deadline, c.deadline_kind, c.timezone),
                "status": c.status or "unknown",
            }
            for c, role in p.calls
        ],
        "applications": [
            {
                "id": a.id,
                "title": a.title,
                "stage": a.stage,
                "role": role,
                "requested": _amount_text(a.amount_requested, a.currency),
                "awarded": _amount_text(a.amount_awarded, a.currency),
            }
            for a, role in p.applications
        ],
        "projects": [
            {
                "title": x.title,
                "year": x.year,
                "amount": _amount_text(x.amount, x.currency),
                "notes": x.notes,
            }
            for x in p.past_projects
        ],
    }


def _profile_or_404(s: Session, org_id: int) -> Any:
    from fundradar.pipeline.partnerships import organisations

    try:
        return organisations.profile(s, org_id)
    except PartnerError:
        abort(404, f"no partner {org_id}")


def _organisations_menu(s: Session) -> list[tuple[int, str]]:
    rows = s.execute(
        select(Organisation.id, Organisation.name, Organisation.acronym)
        .where(Organisation.merged_into_id.is_(None))
        .order_by(func.lower(Organisation.name))
    ).all()
    return [(i, f"{n} ({a})" if a and a.lower() != n.lower() else n) for i, n, a in rows]


# ---------------------------------------------------------------------------------- pages


@bp.get("/dashboard")
def dashboard_page() -> str:
    from fundradar.pipeline.partnerships.dashboard import dashboard
    from fundradar.web import dashboard_charts

    now = _now()
    with db.session_scope() as s:
        d = dashboard(s, now)
    return render_template(
        "dashboard.html",
        d=d,
        charts=dashboard_charts.build(d),
        now_text=format_local(now),
    )


@bp.get("/applications")
def applications_page() -> str:
    stage = _choice(request.args, "stage", APPLICATION_STAGES)
    now = _now()
    with db.session_scope() as s:
        stmt = select(Application).order_by(
            Application.internal_deadline.is_(None),
            Application.internal_deadline,
            Application.id.desc(),
        )
        if stage:
            stmt = stmt.where(Application.stage == stage)
        stmt = stmt.options(
            selectinload(Application.partners).selectinload(ApplicationPartner.organisation),
            selectinload(Application.events),
        )
        rows = list(s.scalars(stmt))
        ids = sorted({a.call_id for a in rows if a.call_id is not None})
        if ids:  # their calls in one query: application_view's s.get finds them loaded
            s.scalars(select(CallRow).where(CallRow.id.in_(ids))).all()
        apps = [application_view(s, a, now) for a in rows]
    return render_template("applications.html", apps=apps, stage=stage, stages=APPLICATION_STAGES)


def _application_or_404(s: Session, app_id: int) -> Application:
    app = s.get(Application, app_id)
    if app is None:
        abort(404, f"no application {app_id}")
    return app


@bp.get("/applications/<int:app_id>")
def application_page(app_id: int) -> str:
    with db.session_scope() as s:
        a = application_view(s, _application_or_404(s, app_id), _now())
        menu = _organisations_menu(s)
    return render_template(
        "application.html",
        a=a,
        stages=APPLICATION_STAGES,
        organisations=menu,
        kinds=[(k, KIND_LABELS.get(k, k)) for k in ORGANISATION_KINDS],
        roles=ROLES,
        here=request.path,
    )


@bp.get("/partners")
def partners_page() -> str:
    kind = _choice(request.args, "kind", ORGANISATION_KINDS)
    country = _text(request.args, "country")
    words = _text(request.args, "q")
    with db.session_scope() as s:
        used = (
            select(ApplicationPartner.organisation_id, func.count().label("n"))
            .group_by(ApplicationPartner.organisation_id)
            .subquery()
        )
        stmt = (
            select(Organisation, func.coalesce(used.c.n, 0))
            .outerjoin(used, used.c.organisation_id == Organisation.id)
            .where(Organisation.merged_into_id.is_(None))
            .order_by(func.lower(Organisation.name), Organisation.id)
        )
        if kind:
            stmt = stmt.where(Organisation.kind == kind)
        if country:  # the menu's value as stored; typed in another case, found all the same
            stmt = stmt.where(
                (Organisation.country == country)
                | (func.lower(Organisation.country) == country.lower())
            )
        if words:
            from fundradar.pipeline.partnerships.organisations import fold_name

            # the directory's folded names: "ecole", "École" and "ÉCOLE" find the same entries
            folded = fold_name(words)
            acronym = func.lower(func.coalesce(Organisation.acronym, ""))
            found = acronym.contains(words.lower(), autoescape=True)
            if folded:  # words of punctuation only fold to nothing: that matches no name
                found = found | Organisation.name_key.contains(folded, autoescape=True)
            stmt = stmt.where(found)
        orgs = [
            {
                "id": o.id,
                "name": o.name,
                "acronym": o.acronym,
                "kind": kind_label(o.kind),
                "country": o.country,
                "website": safe_url(o.website),
                "applications": n,
            }
            for o, n in s.execute(stmt).all()
        ]
        countries = sorted(
            {c for c in s.scalars(select(Organisation.country).distinct()) if c and c.strip()},
            key=str.lower,
        )
    return render_template(
        "partners.html",
        orgs=orgs,
        kind=kind,
        country=country,
        q=words,
        countries=countries,
        kinds=[(k, KIND_LABELS.get(k, k)) for k in ORGANISATION_KINDS],
    )


@bp.get("/partners/<int:org_id>")
def partner_page(org_id: int) -> Any:
    with db.session_scope() as s:
        o = organisation_view(_profile_or_404(s, org_id))
    if o["id"] != org_id:  # merged into another entry: that one's page
        return redirect(f"/partners/{o['id']}", 301)
    return render_template("partner.html", o=o)


@bp.get("/partners/<int:org_id>/print")
def partner_print(org_id: int) -> str:
    with db.session_scope() as s:
        o = organisation_view(_profile_or_404(s, org_id))
    return render_template("partner_print.html", o=o, now_text=format_local(_now()))


@bp.get("/calls/<int:call_id>/print")
def call_print(call_id: int) -> str:
    from fundradar.web.app import call_view

    now = _now()
    with db.session_scope() as s:
        row = s.get(
            CallRow,
            call_id,
            options=[
                selectinload(CallRow.changes),
                selectinload(CallRow.sightings),
                selectinload(CallRow.verdicts),
            ],
        )
        if row is None:
            abort(404, f"no call {call_id}")
        c = call_view(row, now)
        apps = [
            application_view(s, a, now)
            for a in s.scalars(select(Application).where(Application.call_id == call_id))
        ]
    return render_template("call_print.html", c=c, apps=apps, now_text=format_local(now))


@bp.get("/partners/new")
def partner_form() -> str:
    return render_template(
        "partner_new.html",
        kinds=[(k, KIND_LABELS.get(k, k)) for k in ORGANISATION_KINDS],
        form={},
    )


@bp.get("/partners/duplicates")
def duplicates_page() -> str:
    from fundradar.pipeline.partnerships import organisations

    with db.session_scope() as s:
        pairs = [_pair_view(p) for p in organisations.duplicate_candidates(s)]
    return render_template("duplicates.html", pairs=pairs)


def _pair_view(pair: tuple[Organisation, Organisation, str]) -> dict[str, Any]:
    a, b, why = pair

    def one(o: Organisation) -> dict[str, Any]:
        return {"id": o.id, "name": o.name, "kind": kind_label(o.kind), "country": o.country}

    return {"a": one(a), "b": one(b), "why": why}


# ---------------------------------------------------------------------------------- forms


@bp.post("/calls/<int:call_id>/application")
def make_application(call_id: int) -> Response:
    from fundradar.pipeline.partnerships import applications

    back = _back(f"/calls/{call_id}")
    try:
        with db.session_scope() as s:
            if s.get(CallRow, call_id) is None:
                abort(404, f"no call {call_id}")
            app = applications.create_from_call(
                s, call_id, author=_author(), owner=_text(request.form, "owner") or None
            )
            app_id, title = app.id, app.title
    except ApplicationError as exc:
        flash(str(exc), "error")
        return _go(back)
    flash(f"Application made: {title}", "ok")
    return _go(f"/applications/{app_id}")


@bp.post("/applications/<int:app_id>/stage")
def move_application(app_id: int) -> Response:
    from fundradar.pipeline.partnerships import applications

    stage = _text(request.form, "stage")
    note = (request.form.get("note") or "").strip()[:2000] or None
    here = f"/applications/{app_id}"
    try:
        with db.session_scope() as s:
            _application_or_404(s, app_id)
            applications.move(s, app_id, stage, author=_author(), note=note)
    except ApplicationError as exc:
        flash(str(exc), "error")
        return _go(here)
    flash(f"Moved to {stage}.", "ok")
    return _go(here)


class _FormError(Exception):
    pass


def _decimal(form: Any, name: str, words: str) -> Decimal | None:
    raw = _text(form, name, 40).replace(",", "").replace(" ", "").replace("\u202f", "")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise _FormError(f"{words}: give an amount such as 50000") from None
    if not value.is_finite() or value < 0 or value >= Decimal("1e14"):
        raise _FormError(f"{words}: give an amount from 0 up")
    return value


def _date(form: Any, name: str, words: str) -> date | None:
    raw = _text(form, name, 20)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise _FormError(f"{words}: give a date as 2027-04-30") from None


@bp.post("/applications/<int:app_id>/details")
def update_application(app_id: int) -> Response:
    from fundradar.pipeline.partnerships import applications

    here = f"/applications/{app_id}"
    f = request.form
    try:
        readers: dict[str, Callable[[], Any]] = {
            "owner": lambda: _text(f, "owner") or None,
            "internal_deadline": lambda: _date(f, "internal_deadline", "Internal deadline"),
            "amount_requested": lambda: _decimal(f, "amount_requested", "Amount requested"),
            "amount_awarded": lambda: _decimal(f, "amount_awarded", "Amount awarded"),
            "currency": lambda: _text(f, "currency", 10).upper() or None,
            "notes": lambda: (f.get("notes") or "").strip()[:20000] or None,
        }
        # a field left out of the form stays as it is; one sent empty is cleared
        changes = {name: read() for name, read in readers.items() if name in f}
        with db.session_scope() as s:
            _application_or_404(s, app_id)
            applications.update(s, app_id, author=_author(), **changes)
    except (_FormError, ApplicationError) as exc:
        flash(str(exc), "error")
        return _go(here)
    flash("Details saved.", "ok")
    return _go(here)


@bp.post("/applications/<int:app_id>/partners")
def add_partner(app_id: int) -> Response:
    from fundradar.pipeline.partnerships import applications, organisations

    here = f"/applications/{app_id}"
    f = request.form
    role = _text(f, "role") or "partner"
    chosen = _text(f, "organisation_id")
    name = _text(f, "name", 300)
    kind = _text(f, "kind") or None
    try:
        with db.session_scope() as s:
            _application_or_404(s, app_id)
            if name:
                org = organisations.find_or_create(
                    s,
                    name,
                    kind=kind,
                    country=_text(f, "country", 100) or None,
                    origin="manual",
                    author=_author(),
                )
                org_id = org.id
            elif chosen.isdigit():
                org_id = int(chosen)
            else:
                raise PartnerError("choose a partner from the list or type a new name")
            applications.add_partner(s, app_id, org_id, role=role, author=_author())
            added = s.get(Organisation, org_id)
            added_name = added.name if added else str(org_id)
    except (ApplicationError, PartnerError) as exc:
        flash(str(exc), "error")
        return _go(here)
    flash(f"Added {added_name} as {role}.", "ok")
    return _go(here)


@bp.post("/applications/<int:app_id>/partners/<int:org_id>/remove")
def remove_partner(app_id: int, org_id: int) -> Response:
    from fundradar.pipeline.partnerships import applications

    here = f"/applications/{app_id}"
    try:
        with db.session_scope() as s:
            _application_or_404(s, app_id)
            applications.remove_partner(s, app_id, org_id, author=_author())
    except (ApplicationError, PartnerError) as exc:
        flash(str(exc), "error")
        return _go(here)
    flash("Partner removed.", "ok")
    return _go(here)


_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


def _details(form: Any) -> dict[str, Any]:
    """The add form's optional details, checked: languages as codes, an http(s) website."""
    languages = [x for x in re.split(r"[\s,;/]+", _text(form, "languages", 60).lower()) if x]
    bad = [x for x in languages if not _LANGUAGE.match(x)]
    if bad:
        raise _FormError(f"Languages: {bad[0]!r} is not a language code (fr, en, es...)")
    website = _text(form, "website", 2000)
    if website:
        checked = safe_url(website if "://" in website else f"https://{website}")
        if checked is None:
            raise _FormError(f"Website: {website!r} is not an http(s) link")
        website = checked
    return {
        "languages": list(dict.fromkeys(languages)),
        "contact": _text(form, "contact", 300) or None,
        "website": website or None,
        "notes": (form.get("notes") or "").strip()[:5000] or None,
    }


@bp.post("/partners")
def create_partner() -> Response:
    from fundradar.pipeline.partnerships import organisations

    f = request.form
    kind = _text(f, "kind") or None
    try:
        details = _details(f)
        with db.session_scope() as s:
            org = organisations.find_or_create(
                s, _text(f, "name", 300), kind=kind, country=_text(f, "country", 100) or None,
                acronym=_text(f, "acronym", 40) or None, origin="manual", author=_author(),
            )  # fmt: skip
            # as the CSV import does: an entry found fills what it lacks, never overwritten
            org.languages = list(dict.fromkeys([*(org.languages or []), *details["languages"]]))
            for attr in ("contact", "website", "notes"):
                if details[attr] and not getattr(org, attr):
                    setattr(org, attr, details[attr])
            s.flush()
            org_id, name = org.id, org.name
    except (_FormError, PartnerError) as exc:
        flash(str(exc), "error")
        return _go("/partners/new")
    flash(f"Partner saved: {name}", "ok")
    return _go(f"/partners/{org_id}")


@bp.post("/partners/import")
def import_partners() -> Any:
    """A CSV of partners: the report is the answer page itself (every refused row with its
    line and reason; a flash message in the session cookie could not hold hundreds)."""
    from fundradar.exceptions import InputError
    from fundradar.pipeline.partnerships.partner_import import import_text
    from fundradar.pipeline.verdict_csv import decode

    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("Choose a CSV file to import.", "error")
        return _go("/partners")
    filename = " ".join(upload.filename.split())[:100]
    try:
        text = decode(upload.read(), filename)
        with db.session_scope() as s:
            report = import_text(s, text, author=_author(), name=filename)
            created = [(o, s.get(Organisation, o)) for o in report.created]
            merged = [(o, s.get(Organisation, o)) for o in dict.fromkeys(report.merged)]
            names = {
                "created": [(i, o.name) for i, o in created if o is not None],
                "merged": [(i, o.name) for i, o in merged if o is not None],
            }
    except InputError as exc:
        flash(str(exc), "error")
        return _go("/partners")
    # nothing stored at all: a 400, so a script posting the file sees it failed
    status = 400 if report.refused and not (report.created or report.merged) else 200
    html = render_template("partner_import.html", filename=filename, report=report, names=names)
    return html, status


@bp.post("/partners/<int:org_id>/projects")
def add_past_project(org_id: int) -> Response:
    from fundradar.pipeline.partnerships import organisations

    f = request.form
    here = f"/partners/{org_id}"
    try:
        with db.session_scope() as s:
            _profile_or_404(s, org_id)
            organisations.add_past_project(
                s, org_id, _text(f, "title", 500), year=_text(f, "year", 10) or None,
                amount=_text(f, "amount", 40) or None, currency=_text(f, "currency", 10) or None,
                notes=(f.get("notes") or "").strip()[:5000] or None,
            )  # fmt: skip
    except PartnerError as exc:
        flash(str(exc), "error")
        return _go(here)
    flash("Past project recorded.", "ok")
    return _go(here)


@bp.post("/partners/merge")
def merge_partners() -> Response:
    from fundradar.pipeline.partnerships import organisations

    keep, drop = _text(request.form, "keep_id"), _text(request.form, "merge_id")
    if not (keep.isdigit() and drop.isdigit()):
        abort(400, "keep_id and merge_id: give two partner ids")
    try:
        with db.session_scope() as s:
            organisations.merge(s, int(keep), int(drop), author=_author())
            kept = s.get(Organisation, int(keep))
            kept_name = kept.name if kept else keep
    except PartnerError as exc:
        flash(str(exc), "error")
        return _go("/partners/duplicates")
    flash(f"Merged into {kept_name}.", "ok")
    return _go(f"/partners/{keep}")


# ------------------------------------------------------------------------------- downloads


def _download(body: Any, mimetype: str, filename: str) -> Response:
    resp = Response(body, mimetype=mimetype)
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    if mimetype == "text/csv":
        resp.charset = "utf-8"
    return resp


def _stream(chunks: Callable[[Session], Any]) -> Any:
    # its own session: the body is produced after the view returns
    with db.session_scope() as s:
        for chunk in chunks(s):
            yield chunk.encode("utf-8")


@bp.get("/partnerships.xlsx")
def workbook_download() -> Response:
    from fundradar.pipeline.exports.workbook import workbook_bytes

    with db.session_scope() as s:
        data, _counts = workbook_bytes(s, now=_now())
    return _download(
        data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "partnerships.xlsx",
    )  # fmt: skip


@bp.get("/applications.csv")
def applications_download() -> Response:
    from fundradar.pipeline.exports.partnerships import applications_csv

    now = _now()
    return _download(_stream(lambda s: applications_csv(s, now=now)), "text/csv",
                     "applications.csv")  # fmt: skip


@bp.get("/partners.csv")
def partners_download() -> Response:
    from fundradar.pipeline.exports.partnerships import partners_csv

    return _download(_stream(lambda s: partners_csv(s)), "text/csv", "partners.csv")


@bp.get("/relevant-calls.csv")
def relevant_calls_download() -> Response:
    from fundradar.pipeline.exports.partnerships import CALL_COLUMNS, csv_text, relevant_call_rows

    now = _now()
    return _download(
        _stream(lambda s: csv_text(CALL_COLUMNS, relevant_call_rows(s, now=now))), "text/csv",
        "relevant-calls.csv",
    )  # fmt: skip
