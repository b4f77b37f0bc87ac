"""Normalise a raw call: clean text, typed dates and money, status, language, canonical URL.

Pure functions over `Call`; `crawlers.pipelines.NormalisePipeline` wraps them for Scrapy and
`fundradar import` calls them directly. A value that cannot be read is left empty with a note
saying why (never guessed); a call that cannot be used at all (no title, no http(s) link)
raises `Rejected`. A call whose deadline cannot be read is kept: `deadline_kind` says
"not_found" (or "rolling" when its words say so), so it is shown as "check the page".
"""

from __future__ import annotations

import calendar
import hashlib
import json
from datetime import UTC, datetime

from fundradar.pipeline.normalise.dates import InvalidDate, ParsedDate, parse_date, to_local
from fundradar.pipeline.normalise.deadline import DeadlineReading, read_deadline
from fundradar.pipeline.normalise.money import parse_money, pick_budget
from fundradar.pipeline.normalise.text import clean_title, detect_language, html_to_text
from fundradar.pipeline.normalise.urls import canonical_url, safe_url
from fundradar.pipeline.record import Call

# Fields whose change an officer cares about; the content hash covers exactly these, so a
# reworded summary does not make a call "updated".
TRACKED_FIELDS = (
    "title",
    "deadlines",
    "status",
    "opens_at",
    "budget_min",
    "budget_max",
    "currency",
)

CLOSED_WORDS = ("closed", "clôturé", "cloturé", "clôture", "fermé", "cerrad", "terminé", "expired")
OPEN_WORDS = ("open", "ouvert", "en cours", "abierta", "ongoing")
FORTHCOMING_WORDS = ("forthcoming", "prochainement", "à venir", "upcoming", "soon", "próxima")


class Rejected(ValueError):
    """The call cannot be stored (no title, no usable URL...). The message is the reason."""


def _status_from_text(text: str | None) -> str | None:
    if not text:
        return None
    low = text.lower()
    for word in CLOSED_WORDS:
        if word in low:
            return "closed"
    for word in FORTHCOMING_WORDS:
        if word in low:
            return "forthcoming"
    for word in OPEN_WORDS:
        if word in low:
            return "open"
    return None


def derive_status(
    opens_at: datetime | None,
    deadlines: list[datetime],
    stated: str | None,
    now: datetime,
    *,
    rolling: bool = False,
) -> str | None:
    """Dates decide; a page that explicitly says "closed" wins (calls close early).

    The EU portal's status code is stale (topics "forthcoming" years after their deadline), so a
    stated forthcoming/open never overrides the dates. A rolling call (no fixed deadline) is
    open unless the page says closed or it opens later.
    """
    if stated == "closed":
        return "closed"
    if deadlines and all(d < now for d in deadlines):
        return "closed"
    if opens_at and opens_at > now:
        return "forthcoming"
    if deadlines:
        return "open"
    if opens_at or rolling:
        return "open"
    return stated


def next_deadline(deadlines: list[datetime], now: datetime) -> datetime | None:
    ahead = [d for d in deadlines if d >= now]
    if ahead:
        return min(ahead)
    return max(deadlines) if deadlines else None


def content_hash(call: Call) -> str:
    payload = {
        "title": call.title,
        "deadlines": [d.isoformat() for d in call.deadlines],
        "status": call.status,
        "opens_at": call.opens_at.isoformat() if call.opens_at else None,
        "budget_min": call.budget_min,
        "budget_max": call.budget_max,
        "currency": call.currency,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


# US zones: a source there writes 03/04/2027 month first (unless its language says otherwise)
_MONTH_FIRST_ZONES = frozenset({
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "America/Phoenix", "America/Anchorage", "America/Detroit", "America/Boise",
    "America/Indiana/Indianapolis", "America/Kentucky/Louisville", "Pacific/Honolulu",
    "US/Eastern", "US/Central", "US/Mountain", "US/Pacific",
})  # fmt: skip


def date_order(call: Call, tz: str) -> str:
    """How the source writes numeric dates: "MDY" for en-US sources, else "DMY" (French,
    Spanish, British and Caribbean sites). A locale the spider or import states wins
    (`extra["locale"]`, e.g. "en-US" or "fr-FR"); else the source's zone and language decide."""
    locale = str(call.extra.get("locale") or "").replace("_", "-").lower()
    if locale:
        return "MDY" if locale in ("en-us", "us") or locale.endswith("-us") else "DMY"
    if str(call.extra.get("country") or "").upper() in ("US", "USA"):
        return "MDY" if (call.language or "en") == "en" else "DMY"
    if tz in _MONTH_FIRST_ZONES and (call.language or "en") == "en":
        return "MDY"
    return "DMY"


def _reference(call: Call, tz: str, now: datetime, order: str) -> tuple[datetime, str]:
    """Dates without a year are placed after the publication date, else after the crawl; and
    the words saying which, for the notes."""
    if call.published_text:
        try:
            published = parse_date(
                call.published_text, tz=tz, reference=now, end_of_day=False, order=order
            )
        except InvalidDate:
            published = None
        if published is not None and not published.inferred_year:
            day = to_local(published.value, published.zone or tz).date()
            return published.value, f"the publication date {day.isoformat()}"
    return now, f"the crawl date {to_local(now, tz).date().isoformat()}"


def _note_inferred(call: Call, what: str, parsed: ParsedDate, placed_after: str) -> None:
    if parsed.inferred_year:
        local = to_local(parsed.value, parsed.zone or "UTC").date()
        call.notes.append(
            f"{what} year inferred: “{parsed.text}” read as {local.day} "
            f"{calendar.month_name[local.month]} {local.year} (first after {placed_after})"
        )


def _add_note(call: Call, note: str) -> None:
    if note not in call.notes:
        call.notes.append(note)


def normalise_dates(call: Call, tz: str, now: datetime) -> DeadlineReading:
    """Fill opens_at, deadlines, deadline_kind and timezone from the call's texts. Never
    raises: what cannot be read is said in the notes, and the call goes on without it."""
    order = date_order(call, tz)
    ref, placed_after = _reference(call, tz, now, order)
    reading = read_deadline(
        deadline_texts=call.deadline_texts,
        period_text=call.period_text,
        opens_text=call.opens_text,
        status_text=call.status_text,
        description=(call.title, call.summary),
        tz=tz,
        reference=ref,
        order=order,
    )
    for note in reading.notes:
        _add_note(call, note)
    for d in reading.deadlines:
        _note_inferred(call, "deadline", d, placed_after)
        for note in d.notes:
            _add_note(call, note)
    if reading.opens is not None:
        _note_inferred(call, "opening date", reading.opens, placed_after)
        for note in reading.opens.notes:
            _add_note(call, note)
    preset = bool(call.deadlines)  # typed by the spider (an API) or carried from the store
    if not preset:
        call.deadlines = sorted({d.value for d in reading.deadlines})
    if call.opens_at is None and reading.opens is not None:
        call.opens_at = reading.opens.value
    call.deadline = next_deadline(call.deadlines, now)
    call.timezone = call.timezone or tz
    if call.deadline is None:
        # a rolling call carried from the store (unchanged listing) stays rolling: the words
        # that said so were in a deadline text, which is not carried
        carried_rolling = call.deadline_kind == "rolling" and call.extra.get("unchanged_listing")
        call.deadline_kind = "rolling" if reading.rolling or carried_rolling else "not_found"
        return reading
    chosen = [d for d in reading.deadlines if d.value == call.deadline]
    if chosen and not preset:
        # the zone the deadline was read in: the one named in its text, else the funder's
        zone = chosen[0].zone
        if chosen[0].tz_source == "text" and zone and zone[0] not in "+-":
            call.timezone = zone
        call.deadline_kind = "datetime" if any(d.has_time for d in chosen) else "date"
    elif call.deadline_kind not in ("datetime", "date"):
        # an instant typed elsewhere: 23:59:59 in the funder's zone is how a date is kept
        local = to_local(call.deadline, call.timezone)
        end_of_day = (local.hour, local.minute, local.second) == (23, 59, 59)
        call.deadline_kind = "date" if end_of_day else "datetime"
    return reading


def normalise_money(call: Call) -> None:
    if call.budget_min is not None or call.budget_max is not None:
        return  # the spider read structured numbers (EU API); text would only be worse
    money = parse_money(call.budget_text) if call.budget_text else None
    if money is None and call.summary:
        money = pick_budget(call.summary)
    if money is None:
        return
    call.budget_min, call.budget_max = money.min, money.max
    call.currency = call.currency or money.currency
    call.budget_scope = call.budget_scope or money.scope
    if money.rate is not None and call.cofinancing_rate is None:
        call.cofinancing_rate = money.rate


def normalise(call: Call, *, tz: str | None = None, now: datetime | None = None) -> Call:
    """Return the same call, normalised in place. Raises `Rejected` when it cannot be used."""
    now = now or datetime.now(UTC)
    tz = tz or call.extra.get("timezone") or "Europe/Paris"
    url = safe_url((call.url or "").strip())
    if not url:
        raise Rejected(f"no usable http(s) link ({(call.url or '')[:80]!r})")
    call.url = url
    call.extra["canonical_url"] = canonical_url(url)
    call.title = clean_title(call.title)
    if not call.title:
        raise Rejected("no title")
    call.summary = html_to_text(call.summary) if call.summary else None
    call.eligibility_text = html_to_text(call.eligibility_text) if call.eligibility_text else None
    for name in ("funder", "programme", "instrument"):
        value = getattr(call, name)
        setattr(call, name, clean_title(value) if value else None)
    call.language = detect_language(f"{call.title}. {call.summary or ''}", hint=call.language)
    normalise_dates(call, tz, now)
    normalise_money(call)
    call.status = derive_status(
        call.opens_at,
        call.deadlines,
        _status_from_text(call.status_text) or call.status,
        now,
        rolling=call.deadline_kind == "rolling",
    )
    call.content_hash = content_hash(call)
    return call
