"""Normalise a raw call: clean text, typed dates and money, status, language, canonical URL.

Pure functions over `Call`; `crawlers.pipelines.NormalisePipeline` wraps them for Scrapy and
`fundradar import` calls them directly. A value that cannot be read is left empty with a note
saying why (never guessed); a call that cannot be used at all raises `Rejected`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from pipeline.normalise.dates import InvalidDate, ParsedDate, parse_date, parse_dates, parse_period
from pipeline.normalise.money import parse_money, pick_budget
from pipeline.normalise.text import clean_title, detect_language, html_to_text
from pipeline.normalise.urls import canonical_url, safe_url
from pipeline.record import Call

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
    opens_at: datetime | None, deadlines: list[datetime], stated: str | None, now: datetime
) -> str | None:
    """Dates decide; a page that explicitly says "closed" wins (calls close early).

    The EU portal's status code is stale (topics "forthcoming" years after their deadline), so a
    stated forthcoming/open never overrides the dates.
    """
    if stated == "closed":
        return "closed"
    if deadlines and all(d < now for d in deadlines):
        return "closed"
    if opens_at and opens_at > now:
        return "forthcoming"
    if deadlines:
        return "open"
    if opens_at:
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


def _reference(call: Call, tz: str, now: datetime) -> datetime:
    """Dates without a year are placed after the publication date, else after the crawl."""
    if call.published_text:
        try:
            published = parse_date(call.published_text, tz=tz, reference=now, end_of_day=False)
        except InvalidDate:
            published = None
        if published is not None:
            return published.value
    return now


def _note_inferred(call: Call, what: str, parsed: ParsedDate) -> None:
    if parsed.inferred_year:
        call.notes.append(f"{what} year inferred from “{parsed.text}”")


def normalise_dates(call: Call, tz: str, now: datetime) -> None:
    ref = _reference(call, tz, now)
    deadlines: list[ParsedDate] = []
    for text in call.deadline_texts:
        try:
            found = parse_dates(text, tz=tz, reference=ref)
        except InvalidDate as exc:
            call.notes.append(f"deadline rejected: {exc} (“{text[:80]}”)")
            continue
        if not found:
            # one explicit check so an impossible date gets its reason in the notes
            try:
                parse_date(text, tz=tz, reference=ref)
            except InvalidDate as exc:
                call.notes.append(f"deadline rejected: {exc} (“{text[:80]}”)")
                continue
            call.notes.append(f"deadline not understood: “{text[:80]}”")
        deadlines.extend(found)
    opens: ParsedDate | None = None
    if call.period_text:
        try:
            start, end = parse_period(call.period_text, tz=tz, reference=ref)
        except InvalidDate as exc:
            call.notes.append(f"period rejected: {exc}")
            start, end = None, None
        opens = start
        if end is not None and not deadlines:
            deadlines.append(end)
    if call.opens_text:
        try:
            opens = parse_date(call.opens_text, tz=tz, reference=ref, end_of_day=False) or opens
        except InvalidDate as exc:
            call.notes.append(f"opening date rejected: {exc}")
    for d in deadlines:
        _note_inferred(call, "deadline", d)
    if opens is not None:
        _note_inferred(call, "opening date", opens)
    if not call.deadlines:
        call.deadlines = sorted({d.value for d in deadlines})
    if call.opens_at is None and opens is not None:
        call.opens_at = opens.value


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
    call.deadline = next_deadline(call.deadlines, now)
    call.status = derive_status(
        call.opens_at, call.deadlines, _status_from_text(call.status_text) or call.status, now
    )
    call.content_hash = content_hash(call)
    return call
