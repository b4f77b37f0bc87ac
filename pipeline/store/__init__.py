"""Store calls idempotently, keep their versions, and record what changed.

`upsert()` is the only writer of calls. Its rules:

- **Idempotent.** The same item stored twice gives the same row with a newer `last_seen` and no
  `CallChange`.
- **Versions.** A change of a tracked field (`pipeline.normalise.TRACKED_FIELDS`: title,
  deadlines, status, opening date, budget) becomes one `CallChange` per field with the old and
  new value and the time it was seen; `versions()` groups them back into versions. Values are
  JSON the digest can phrase: dates as ISO strings (`deadlines` as a list of them, UTC), budgets
  as numbers, title/status/currency as text. A call leaving or coming back to its listing is
  recorded the same way (field `listed`, False/True).
- **Who speaks for a call.** A call seen in several places is one row with a `Sighting` per
  place. Its data come from one of them, the *owner* (`extra["data_source"]`,
  `extra["data_page"]`): the funder's own site before `fundradar import` before an aggregator
  (`source_rank`). A better-ranked source takes a call over (its differences recorded as
  changes); a worse-ranked one only fills fields the row lacks, never overwrites — otherwise the
  row would flip-flop between the funder's and the aggregator's wording every crawl. Only the
  owner's own page updates the row: a page of the same site in the other language is a sighting.
- **Never deleted.** `mark_unlisted()` marks what a complete crawl no longer lists.
- **Quarantine.** Refused items are kept with source, URL and reason (`quarantine()`);
  `quarantine_counts()` feeds `fundradar sources list`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from pipeline.dedupe import Match, aggregator_sources, call_key, find_match
from pipeline.models import CallChange, CallRow, CrawlRun, Quarantine, Sighting
from pipeline.normalise import TRACKED_FIELDS
from pipeline.record import Call

# Fields copied from the call record onto the row (the row adds bookkeeping of its own).
ROW_FIELDS = (
    "source_ref", "url", "title", "summary", "funder", "programme", "instrument", "language",
    "opens_at", "deadline", "deadline_kind", "timezone", "status", "budget_min", "budget_max",
    "currency", "budget_scope",
    "cofinancing_rate", "eligibility_text", "eligible_countries", "eligible_applicants", "notes",
    "score", "band", "eligible", "themes", "reasons", "content_hash",
)  # fmt: skip
# What a sighting from a worse-ranked source may fill when the row lacks it.
GAP_FIELDS = (
    "summary", "programme", "instrument", "eligibility_text", "opens_at", "budget_min",
    "budget_max", "currency", "budget_scope", "cofinancing_rate",
)  # fmt: skip
# extra keys that describe one crawl's item, not the call
TRANSIENT_EXTRA = ("canonical_url", "unchanged_listing", "aggregator")

RANK_FUNDER, RANK_IMPORT, RANK_AGGREGATOR = 0, 1, 2
IMPORT_SOURCE = "import"


def source_rank(source: str, call: Call | None = None) -> int:
    """0 the funder's own site, 1 `fundradar import` (default source "import"), 2 an aggregator.

    An aggregator is a source whose config entry says `options: {aggregator: true}` or names
    its funder "… (aggregator)" (`pipeline.dedupe.aggregator_sources`), or whose spider marks
    its items `extra["aggregator"] = True`.
    """
    if call is not None and call.extra.get("aggregator"):
        return RANK_AGGREGATOR
    if source == IMPORT_SOURCE:
        return RANK_IMPORT
    return RANK_AGGREGATOR if source in aggregator_sources() else RANK_FUNDER


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _row_value(row: CallRow, name: str) -> Any:
    if name == "deadlines":
        return list(row.deadlines or [])
    return _jsonable(getattr(row, name))


def _call_value(call: Call, name: str) -> Any:
    return _jsonable(getattr(call, name))


@dataclass(frozen=True)
class Stored:
    row: CallRow
    outcome: str  # new | updated | unchanged | sighting
    changes: tuple[str, ...] = ()
    match: str = ""  # how dedupe linked it (page, ref, url, identifier, title), "" when new


def _canon(call: Call) -> str:
    return call.extra.get("canonical_url") or call.url


def _owner(row: CallRow) -> tuple[str, str]:
    extra = row.extra or {}
    return extra.get("data_source", row.source), extra.get("data_page", row.canonical_url)


def _apply(row: CallRow, call: Call) -> None:
    for name in ROW_FIELDS:
        setattr(row, name, getattr(call, name))
    row.deadlines = [d.isoformat() for d in call.deadlines]
    row.canonical_url = _canon(call)
    extra = {k: v for k, v in call.extra.items() if k not in TRANSIENT_EXTRA}
    extra["data_source"], extra["data_page"] = call.source, _canon(call)
    row.extra = extra


def _record_changes(
    session: Session, row: CallRow, call: Call, *, now: datetime, run_id: int | None
) -> list[str]:
    if row.content_hash and row.content_hash == call.content_hash:
        return []  # the hash covers exactly the tracked fields
    changed: list[str] = []
    for name in TRACKED_FIELDS:
        old, new = _row_value(row, name), _call_value(call, name)
        if old != new:
            changed.append(name)
            session.add(
                CallChange(call=row, run_id=run_id, field=name, old_value=old, new_value=new,
                           seen_at=now)
            )  # fmt: skip
    return changed


def _touch_sighting(row: CallRow, call: Call, how: str, now: datetime) -> None:
    canon = _canon(call)
    sighting = next(
        (s for s in row.sightings if s.source == call.source and s.canonical_url == canon), None
    )
    if sighting is None:
        sighting = Sighting(
            source=call.source, source_ref=call.source_ref, url=call.url, canonical_url=canon,
            title=call.title, language=call.language, first_seen=now, match=how,
        )  # fmt: skip
        row.sightings.append(sighting)
    sighting.last_seen = now
    sighting.listed = True
    sighting.title = call.title
    if call.extra.get("listing_hash"):
        sighting.listing_hash = call.extra["listing_hash"]


def _relist(session: Session, row: CallRow, now: datetime, run_id: int | None) -> None:
    if not row.listed:
        session.add(CallChange(call=row, run_id=run_id, field="listed", old_value=False,
                               new_value=True, seen_at=now))  # fmt: skip
    row.listed, row.unlisted_at = True, None


_SEARCH = Match.__new__(Match)  # sentinel: "look it up" (None means "looked: no match")


def upsert(
    session: Session, call: Call, *, now: datetime, run_id: int | None = None,
    match: Match | None = _SEARCH,
) -> Stored:  # fmt: skip
    """Insert or update one normalised, scored call. Flushes; the caller commits.

    `match`: what `pipeline.dedupe.find_match` found, when the caller already asked it.
    """
    if match is _SEARCH:
        match = find_match(session, call)
    if match is None:
        row = CallRow(key=call_key(call), source=call.source, first_seen=now, last_seen=now)
        _apply(row, call)
        session.add(row)
        _touch_sighting(row, call, "new", now)
        session.flush()
        call.first_seen, call.last_seen = now, now
        return Stored(row, "new")

    row = match.row
    row.last_seen = now
    _relist(session, row, now, run_id)
    _touch_sighting(row, call, match.how, now)
    call.first_seen, call.last_seen = row.first_seen, now
    owner_source, owner_page = _owner(row)
    thrifty = bool(call.extra.get("unchanged_listing"))  # the row's own data, carried back

    # the owner's page (or the owner's identifier at a new address), not another page of the
    # same site such as its other-language version
    own_page = call.source == owner_source and (
        _canon(call) == owner_page or call_key(call) == row.key
    )
    takeover = (
        not own_page and not thrifty and source_rank(call.source, call) < source_rank(owner_source)
    )
    if own_page or takeover:
        changed = _record_changes(session, row, call, now=now, run_id=run_id)
        _apply(row, call)
        if takeover:
            _take_key(session, row, call)
        if changed:
            row.updated_at = now
        session.flush()
        outcome = "updated" if changed else ("sighting" if takeover else "unchanged")
        return Stored(row, outcome, tuple(changed), match.how)

    # another place showing a call we know: link it, fill gaps, never overwrite
    if not thrifty:
        for name in GAP_FIELDS:
            if getattr(row, name) is None and getattr(call, name) is not None:
                setattr(row, name, getattr(call, name))
    session.flush()
    return Stored(row, "sighting", (), match.how)


def _take_key(session: Session, row: CallRow, call: Call) -> None:
    """The new owner's key names the row, so its next crawl finds it by key (unless taken)."""
    key = call_key(call)
    if key == row.key:
        return
    taken = session.scalars(select(CallRow.id).where(CallRow.key == key)).first()
    if taken is None:
        row.key = key


def versions(row: CallRow) -> list[dict[str, Any]]:
    """The call's history, oldest first: one entry per time it was seen changed.

    [{"seen_at": datetime, "run_id": int | None, "changes": {field: (old, new)}}, ...]
    """
    grouped: dict[tuple[datetime, int | None], dict[str, tuple[Any, Any]]] = defaultdict(dict)
    for ch in row.changes:
        grouped[(ch.seen_at, ch.run_id)][ch.field] = (ch.old_value, ch.new_value)
    return [
        {"seen_at": seen, "run_id": run, "changes": changes}
        for (seen, run), changes in sorted(grouped.items(), key=lambda kv: kv[0][0])
    ]


def touch_seen(session: Session, source: str, url: str | None, now: datetime) -> bool:
    """A page this source still lists but whose item was refused this time stays listed:
    a broken detail page is not a call withdrawn."""
    if not url:
        return False
    try:
        from pipeline.normalise.urls import canonical_url

        canon = canonical_url(url)
    except Exception:
        canon = url
    sighting = session.scalars(
        select(Sighting).where(Sighting.source == source, Sighting.canonical_url == canon)
    ).first()
    if sighting is None:
        return False
    sighting.last_seen = now
    return True


def mark_unlisted(
    session: Session, source: str, run_started: datetime, now: datetime,
    run_id: int | None = None,
) -> int:  # fmt: skip
    """After a complete crawl: sightings of `source` not seen in it are no longer listed.

    Calls are never deleted; a call is unlisted when none of its sightings is listed any more,
    and that is recorded as a change (field `listed`, True -> False). When the page that owned
    the call's data is the one gone (a site moved its page), the best-ranked place still
    listing it becomes the owner, so the next crawl of that place keeps the call up to date.
    """
    stale = session.scalars(
        select(Sighting).where(
            Sighting.source == source, Sighting.listed.is_(True), Sighting.last_seen < run_started
        )
    ).all()
    for s in stale:
        s.listed = False
        call = s.call
        others = [o for o in call.sightings if o is not s and o.listed]
        if call.listed and not others:
            call.listed = False
            call.unlisted_at = now
            session.add(CallChange(call=call, run_id=run_id, field="listed", old_value=True,
                                   new_value=False, seen_at=now))  # fmt: skip
        elif others and _owner(call) == (s.source, s.canonical_url):
            heir = min(others, key=lambda o: (source_rank(o.source), -o.last_seen.timestamp()))
            call.extra = {**(call.extra or {}), "data_source": heir.source,
                          "data_page": heir.canonical_url}  # fmt: skip
    session.flush()
    return len(stale)


def quarantine(
    session: Session, *, source: str, url: str | None, reason: str,
    payload: dict[str, Any] | None = None, run_id: int | None = None,
) -> None:  # fmt: skip
    """Keep a refused item with where and why. Large payloads are cut: evidence, not a copy."""
    slim: dict[str, Any] | None = None
    if payload is not None:
        slim = {
            k: (v[:2000] + "…" if isinstance(v, str) and len(v) > 2000 else _jsonable(v))
            for k, v in payload.items()
            if v not in (None, [], {}, "")
        }
    session.add(
        Quarantine(source=source, url=(url or "")[:2000] or None, reason=reason[:1000],
                   payload=slim, run_id=run_id)
    )  # fmt: skip


def quarantine_counts(session: Session, *, since: datetime | None = None) -> dict[str, int]:
    """Quarantined items per source (all time, or since a date), for `fundradar sources list`."""
    query = select(Quarantine.source, func.count(Quarantine.id)).group_by(Quarantine.source)
    if since is not None:
        query = query.where(Quarantine.created_at >= since)
    return {source: int(n) for source, n in session.execute(query).all()}


def start_run(session: Session, source: str, *, now: datetime, sample: bool = False) -> CrawlRun:
    run = CrawlRun(source=source, started_at=now, status="running", sample=sample)
    session.add(run)
    session.flush()
    return run


def finish_stale_runs(session: Session, source: str, now: datetime) -> None:
    """A crawl process killed mid-way leaves a 'running' row; close it as failed."""
    session.execute(
        update(CrawlRun)
        .where(CrawlRun.source == source, CrawlRun.status == "running")
        .values(status="failed", finished_at=now, message="interrupted (process ended)")
    )
