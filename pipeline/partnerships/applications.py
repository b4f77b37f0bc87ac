"""Applications: a shortlisted call answered by the unit, from idea to award.

Pure functions on a session (they flush, the caller commits), shared by the command line and
the web pages. Every change is an `ApplicationEvent` with its author and time: a stage change
carries from/to stages, any other edit says in words what changed ("owner: none → Marie").

The workflow is one way: idea → preparing → submitted → awarded | declined, and withdrawn from
any open stage. A closed application (awarded, declined, withdrawn) is never reopened: that
would rewrite what the dashboard already counted; a new application is made instead.

An application outlives its call. The call's key, title, funder and deadline are copied onto
it when it is made, the call link is SET NULL by the database when the call is deleted, and
the application is then archived (`archived_at`), never deleted: see `archive_for_deleted_calls`
and `install` (the session hook that runs it whenever calls are deleted).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from fundradar.exceptions import ApplicationError, CallNotFoundError
from fundradar.pipeline.models import (
    APPLICATION_STAGES,
    Application,
    ApplicationEvent,
    ApplicationPartner,
    CallOrganisation,
    CallRow,
    Organisation,
    utcnow,
)
from fundradar.pipeline.partnerships.currencies import ISO_4217
from fundradar.settings import DISPLAY_TZ

STAGES = APPLICATION_STAGES
OPEN_STAGES = ("idea", "preparing", "submitted")
CLOSED_STAGES = ("awarded", "declined", "withdrawn")
# stage -> the stages it may move to
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "idea": ("preparing", "withdrawn"),
    "preparing": ("submitted", "withdrawn"),
    "submitted": ("awarded", "declined", "withdrawn"),
    "awarded": (),
    "declined": (),
    "withdrawn": (),
}
PARTNER_ROLES = ("lead", "partner")
INTERNAL_LEAD_DAYS = 10  # the internal deadline's default: this many days before the funder's
MAX_AMOUNT = Decimal("99999999999999.99")  # Numeric(16, 2)
MAX_AUTHOR = 200


class _Unset:
    """The "not given" of `update`, so None can mean "clear it"."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


# ------------------------------------------------------------------------------ lookups


def get(session: Session, app_id: int) -> Application:
    """The application with this id; ApplicationError when there is none."""
    app = session.get(Application, int(app_id)) if str(app_id).strip().isdigit() else None
    if app is None:
        raise ApplicationError(f"no application with id {app_id!r}")
    return app


def list_applications(
    session: Session, *, stages: Iterable[str] = (), include_archived: bool = True,
    call_id: int | None = None,
) -> list[Application]:  # fmt: skip
    """Applications (of one call, with `call_id`), the soonest internal deadline first (none
    last), then newest."""
    stmt = select(Application)
    if call_id is not None:
        stmt = stmt.where(Application.call_id == call_id)
    stages = tuple(stages)
    if stages:
        stmt = stmt.where(Application.stage.in_([check_stage(s) for s in stages]))
    if not include_archived:
        stmt = stmt.where(Application.archived_at.is_(None))
    stmt = stmt.order_by(
        Application.internal_deadline.is_(None), Application.internal_deadline,
        Application.id.desc(),
    )  # fmt: skip
    return list(session.scalars(stmt))


def stage_counts(session: Session, *, include_archived: bool = True) -> list[tuple[str, int]]:
    """(stage, applications at it) for every stage in workflow order, zeros included: the
    dashboard's funnel."""
    from sqlalchemy import func

    stmt = select(Application.stage, func.count()).group_by(Application.stage)
    if not include_archived:
        stmt = stmt.where(Application.archived_at.is_(None))
    counts = {stage: n for stage, n in session.execute(stmt)}
    return [(stage, counts.get(stage, 0)) for stage in STAGES]


def check_stage(stage: str) -> str:
    value = (stage or "").strip().lower()
    if value not in STAGES:
        raise ApplicationError(f"unknown stage {stage!r} (one of {', '.join(STAGES)})")
    return value


def _author(author: str | None) -> str:
    return " ".join((author or "").split())[:MAX_AUTHOR] or "unknown"


def _event(
    app: Application, author: str | None, now: datetime | None, *, note: str | None = None,
    from_stage: str | None = None, to_stage: str | None = None,
) -> ApplicationEvent:  # fmt: skip
    event = ApplicationEvent(
        author=_author(author), at=now or utcnow(), from_stage=from_stage, to_stage=to_stage,
        note=note,
    )  # fmt: skip
    app.events.append(event)
    app.updated_at = event.at
    return event


# ------------------------------------------------------------------------------ create


def default_internal_deadline(call: CallRow) -> date | None:
    """INTERNAL_LEAD_DAYS before the funder's deadline, as a Saint Lucia date (the day the
    funder's deadline falls on for a date-only deadline); None without a deadline."""
    if call.deadline is None:
        return None
    from fundradar.pipeline.normalise.dates import deadline_day

    day = deadline_day(call.deadline, call.deadline_kind, call.timezone, DISPLAY_TZ)
    return None if day is None else day - timedelta(days=INTERNAL_LEAD_DAYS)


def create_from_call(
    session: Session, call_id: int, *, author: str, owner: str | None = None,
    now: datetime | None = None,
) -> Application:  # fmt: skip
    """An application at stage idea for a shortlisted call (flushes; the caller commits).

    Refused (ApplicationError) when the call's latest verdict is not shortlist, or when the call
    already has an open application. The call's funder is entered in the partner directory and
    linked to the call as its funder (`organisations.find_or_create`).
    """
    from fundradar.pipeline.review import latest_verdicts

    call = session.get(CallRow, int(call_id))
    if call is None:
        raise CallNotFoundError(f"no call with id {call_id!r}")
    verdict = latest_verdicts(session, [call.id]).get(call.id)
    if verdict is None or verdict.verdict != "shortlist":
        said = f"its latest verdict is {verdict.verdict}" if verdict else "it has no verdict"
        raise ApplicationError(
            f"call {call.id} is not shortlisted ({said}): shortlist it first "
            f"(fundradar review {call.id} shortlist)"
        )
    existing = session.scalars(
        select(Application).where(
            Application.call_id == call.id, Application.stage.in_(OPEN_STAGES)
        )
    ).first()
    if existing is not None:
        raise ApplicationError(
            f"call {call.id} already has application {existing.id} (stage {existing.stage})"
        )
    now = now or utcnow()
    app = Application(
        call_id=call.id, call_key=call.key, title=call.title, funder=call.funder,
        funder_deadline=call.deadline, stage="idea", owner=_clean_owner(owner),
        internal_deadline=default_internal_deadline(call), created_by=_author(author),
        created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(app)
    _event(app, author, now, to_stage="idea", note=f"made from call {call.id} ({call.key})")
    if call.funder:
        _link_funder(session, call, author)
    session.flush()
    return app


def _link_funder(session: Session, call: CallRow, author: str | None) -> None:
    from fundradar.pipeline.dedupe import effective_funder
    from fundradar.pipeline.partnerships.organisations import find_or_create

    funder = effective_funder(call.source, call.funder)
    if not funder:
        return  # only the aggregator's name: it says nothing about who funds the call
    org = find_or_create(session, funder, origin="calls", author=author)
    link = select(CallOrganisation.id).where(
        CallOrganisation.call_id == call.id, CallOrganisation.organisation_id == org.id,
        CallOrganisation.role == "funder",
    )  # fmt: skip
    if session.scalars(link).first() is None:
        session.add(CallOrganisation(call_id=call.id, organisation_id=org.id, role="funder"))


def _clean_owner(owner: str | None) -> str | None:
    return " ".join((owner or "").split())[:200] or None


# ------------------------------------------------------------------------------ stages


def move(
    session: Session, app_id: int, stage: str, *, author: str, note: str | None = None,
    now: datetime | None = None,
) -> ApplicationEvent:  # fmt: skip
    """Move an application to `stage`, recorded with its author and time (flushes).

    ApplicationError, saying why and what is allowed, for an unknown stage, the stage it is
    already at, a step the workflow does not allow, or reopening a closed application.
    """
    app = get(session, app_id)
    target = check_stage(stage)
    current = app.stage
    if target == current:
        raise ApplicationError(f"application {app.id} is already {current}")
    allowed = TRANSITIONS.get(current, ())
    if target not in allowed:
        if current in CLOSED_STAGES:
            raise ApplicationError(
                f"application {app.id} is {current}, a closed stage: it cannot be reopened "
                "(make a new application from the call instead)"
            )
        raise ApplicationError(
            f"application {app.id} cannot go from {current} to {target}; "
            f"from {current} it can go to {', '.join(allowed)}"
        )
    app.stage = target
    note = " ".join((note or "").split()) or None
    event = _event(app, author, now, from_stage=current, to_stage=target, note=note)
    session.flush()
    return event


def history(session: Session, app_id: int) -> list[ApplicationEvent]:
    """The application's events, oldest first."""
    return list(get(session, app_id).events)


# ------------------------------------------------------------------------------ edits


def parse_amount(value: Any, what: str = "amount") -> Decimal | None:
    """A non-negative amount with at most 2 decimals as a Decimal; None for ''/None.

    Text is read as typed on the command line ("50000", "50000.50", "50 000", "50,000.50");
    a float is read through its shortest text, so 0.1 is 0.1, not 0.1000000000000000055.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ApplicationError(f"{what}: {value!r} is not an amount")
    text = str(value).strip().replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
    if isinstance(value, str) and "," in text:
        if "." in text or text.count(",") > 1 or len(text.rsplit(",", 1)[1]) == 3:
            text = text.replace(",", "")  # 50,000 or 50,000.50: thousands separators
        else:
            text = text.replace(",", ".")  # 50000,50: a decimal comma
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ApplicationError(
            f"{what}: {value!r} is not an amount (write 50000 or 50000.50)"
        ) from None
    if not amount.is_finite():
        raise ApplicationError(f"{what}: {value!r} is not an amount")
    if amount < 0:
        raise ApplicationError(f"{what}: {value!r} is negative; amounts are 0 or more")
    if amount != amount.quantize(Decimal("0.01")):
        raise ApplicationError(f"{what}: {value!r} has more than 2 decimals")
    if amount > MAX_AMOUNT:
        raise ApplicationError(f"{what}: {value!r} is too large")
    return amount.quantize(Decimal("0.01"))


def check_currency(value: str | None) -> str | None:
    """An ISO 4217 code in capitals (eur → EUR); None for ''/None; ApplicationError else."""
    if value is None or not str(value).strip():
        return None
    code = str(value).strip().upper()
    if code not in ISO_4217:
        raise ApplicationError(
            f"currency {value!r} is not an ISO 4217 code (EUR, USD, XCD, GBP, ...)"
        )
    return code


def parse_date(value: Any, what: str = "internal deadline") -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo(DISPLAY_TZ)).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ApplicationError(f"{what}: {value!r} is not a date (write 2027-01-15)") from None


def money_words(amount: Decimal | None, currency: str | None) -> str:
    """'50,000.00 EUR', or 'none'."""
    if amount is None:
        return "none"
    return f"{amount:,.2f}" + (f" {currency}" if currency else "")


def _words(value: Any) -> str:
    if value is None or value == "":
        return "none"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def update(
    session: Session, app_id: int, *, author: str, owner: Any = UNSET,
    internal_deadline: Any = UNSET, amount_requested: Any = UNSET, amount_awarded: Any = UNSET,
    currency: Any = UNSET, notes: Any = UNSET, now: datetime | None = None,
) -> ApplicationEvent | None:  # fmt: skip
    """Change the given fields (None clears one); the event's note says what changed, in words.

    Validated before anything is written (ApplicationError, nothing changed): amounts are 0 or
    more with at most 2 decimals (stored as Decimal), the currency an ISO 4217 code, an amount
    needs a currency (given now or already set), and an amount awarded only at stage awarded.
    Returns the event, or None when every given value was already the stored one.
    """
    app = get(session, app_id)
    new: dict[str, Any] = {}
    if owner is not UNSET:
        new["owner"] = _clean_owner(owner)
    if internal_deadline is not UNSET:
        new["internal_deadline"] = parse_date(internal_deadline)
    if amount_requested is not UNSET:
        new["amount_requested"] = parse_amount(amount_requested, "amount requested")
    if amount_awarded is not UNSET:
        new["amount_awarded"] = parse_amount(amount_awarded, "amount awarded")
    if currency is not UNSET:
        new["currency"] = check_currency(currency)
    if notes is not UNSET:
        new["notes"] = (str(notes).strip() or None) if notes is not None else None
    if new.get("amount_awarded") is not None and app.stage != "awarded":
        raise ApplicationError(
            f"application {app.id} is {app.stage}: an amount awarded can only be set once it "
            "is awarded (fundradar application move ID awarded)"
        )
    currency_after = new.get("currency", app.currency)
    amounts_after = [new.get(f, getattr(app, f)) for f in ("amount_requested", "amount_awarded")]
    if currency_after is None and any(a is not None for a in amounts_after):
        raise ApplicationError("give the currency of the amount too (--currency EUR)")
    changed: list[str] = []
    labels = {
        "owner": "owner", "internal_deadline": "internal deadline",
        "amount_requested": "amount requested", "amount_awarded": "amount awarded",
        "currency": "currency", "notes": "notes",
    }  # fmt: skip
    for field, value in new.items():
        old = getattr(app, field)
        if old == value:
            continue
        if field in ("amount_requested", "amount_awarded"):
            words = f"{money_words(old, app.currency)} → {money_words(value, currency_after)}"
        elif field == "notes":
            words = "changed" if old and value else ("added" if value else "cleared")
        else:
            words = f"{_words(old)} → {_words(value)}"
        changed.append(f"{labels[field]}: {words}")
        setattr(app, field, value)
    if not changed:
        return None
    event = _event(app, author, now, note="; ".join(changed))
    session.flush()
    return event


# ------------------------------------------------------------------------------ partners


def _organisation(session: Session, organisation_id: int) -> Organisation:
    from fundradar.pipeline.partnerships.organisations import get_organisation

    return get_organisation(session, organisation_id, follow=True)


def add_partner(
    session: Session, app_id: int, organisation_id: int, *, role: str = "partner", author: str,
    now: datetime | None = None,
) -> ApplicationPartner:  # fmt: skip
    """Add an organisation to an application as its lead or a partner (one lead at most);
    an organisation already in it has its role changed. A merged organisation is replaced by
    the one it was merged into."""
    app = get(session, app_id)
    role = (role or "").strip().lower()
    if role not in PARTNER_ROLES:
        raise ApplicationError(f"unknown partner role {role!r} (one of {', '.join(PARTNER_ROLES)})")
    org = _organisation(session, organisation_id)
    mine = next((p for p in app.partners if p.organisation_id == org.id), None)
    if role == "lead":
        lead = next((p for p in app.partners if p.role == "lead" and p is not mine), None)
        if lead is not None:
            raise ApplicationError(
                f"application {app.id} already has a lead ({lead.organisation.name}); "
                "make it a partner first (an application has one lead at most)"
            )
    if mine is not None:
        if mine.role == role:
            raise ApplicationError(f"{org.name} is already {role} of application {app.id}")
        _event(app, author, now, note=f"{org.name}: {mine.role} → {role}")
        mine.role = role
        session.flush()
        return mine
    partner = ApplicationPartner(organisation=org, role=role)
    app.partners.append(partner)
    _event(app, author, now, note=f"{role} added: {org.name}")
    session.flush()
    return partner


def remove_partner(
    session: Session, app_id: int, organisation_id: int, *, author: str,
    now: datetime | None = None,
) -> ApplicationEvent:  # fmt: skip
    """Take an organisation out of an application (the organisation itself stays)."""
    app = get(session, app_id)
    org = _organisation(session, organisation_id)
    mine = next((p for p in app.partners if p.organisation_id == org.id), None)
    if mine is None:
        raise ApplicationError(f"{org.name} is not in application {app.id}")
    app.partners.remove(mine)
    event = _event(app, author, now, note=f"{mine.role} removed: {org.name}")
    session.flush()
    return event


# ------------------------------------------------------------------------------ archive


def move_call_links(session: Session, keep_id: int, gone_id: int) -> None:
    """Before call `gone_id` is deleted as a twin of `keep_id` (`pipeline.store.bridge`):
    its applications and organisation links move to the call kept, instead of being
    archived or dropped (the same call, found twice)."""
    session.execute(
        sql_update(Application).where(Application.call_id == gone_id).values(call_id=keep_id),
        execution_options={"synchronize_session": "fetch"},
    )
    kept = {
        (org_id, role)
        for org_id, role in session.execute(
            select(CallOrganisation.organisation_id, CallOrganisation.role).where(
                CallOrganisation.call_id == keep_id
            )
        )
    }
    for link in session.scalars(
        select(CallOrganisation).where(CallOrganisation.call_id == gone_id)
    ):
        if (link.organisation_id, link.role) in kept:
            continue  # the same link already on the call kept; the twin's goes with it
        link.call_id = keep_id
        kept.add((link.organisation_id, link.role))
    session.flush()


ARCHIVE_NOTE = "archived: its call was deleted"


def archive_for_deleted_calls(session: Session, *, now: datetime | None = None) -> int:
    """Archive every application whose call is gone (call link NULL, not archived yet), with
    an event saying so. Returns how many. Safe to run any time (idempotent): the session hook
    runs it after calls are deleted, and listings run it too, for deletions made outside
    fundradar (an SQL prompt)."""
    return _archive(session.connection(), now or utcnow())


def _archive(conn: Any, now: datetime) -> int:
    ids = list(
        conn.execute(
            select(Application.id).where(
                Application.call_id.is_(None), Application.archived_at.is_(None)
            )
        ).scalars()
    )
    archived = 0
    for app_id in ids:  # a handful at most: one call deleted has one or two applications
        # conditional, so two processes sweeping at once archive (and say so) only once
        done = conn.execute(
            sql_update(Application.__table__)
            .where(Application.id == app_id, Application.archived_at.is_(None))
            .values(archived_at=now, updated_at=now)
        )
        if done.rowcount:
            conn.execute(
                insert(ApplicationEvent.__table__),
                {"application_id": app_id, "at": now, "author": "fundradar",
                 "note": ARCHIVE_NOTE},
            )  # fmt: skip
            archived += 1
    return archived


# --- the hook: deleting calls archives their applications, whichever way they were deleted ----

_installed = False


def install() -> None:
    """Register the session hooks once per process (`pipeline.db` calls this on import)."""
    global _installed
    if _installed:
        return
    from sqlalchemy import event
    from sqlalchemy.orm import Session as SessionClass

    event.listen(SessionClass, "after_flush", _after_flush)
    event.listen(SessionClass, "do_orm_execute", _on_execute)
    _installed = True


def _after_flush(session: Session, _context: Any) -> None:
    # session.delete(call): the database set the applications' call link to NULL
    deleted_calls = any(isinstance(obj, CallRow) for obj in session.deleted)
    if deleted_calls and _archive(session.connection(), utcnow()):
        _expire_applications(session)


def _on_execute(state: Any) -> Any:
    # session.execute(delete(CallRow)...): a bulk delete the unit of work never sees
    if not state.is_delete or state.bind_mapper is None:
        return None
    if state.bind_mapper.class_ is not CallRow:
        return None
    result = state.invoke_statement()
    if _archive(state.session.connection(), utcnow()):
        _expire_applications(state.session)
    return result


def _expire_applications(session: Session) -> None:
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Application):
            session.expire(obj, ["call_id", "archived_at", "updated_at", "events"])
