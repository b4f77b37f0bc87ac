"""Store calls idempotently and record what changed.

`upsert()` is the only writer of calls: the same item stored twice gives the same row with a
newer `last_seen`; a change of a tracked field (title, deadline, status, budget, opening date)
is recorded as a `CallChange` with old and new value; another source's copy of a known call
becomes a `Sighting` of it, not a second call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pipeline.dedupe import Match, call_key, find_match
from pipeline.models import CallChange, CallRow, CrawlRun, Quarantine, Sighting
from pipeline.normalise import TRACKED_FIELDS
from pipeline.record import Call

# Fields copied from the call record onto the row (the row adds bookkeeping of its own).
ROW_FIELDS = (
    "source_ref", "url", "title", "summary", "funder", "programme", "instrument", "language",
    "opens_at", "deadline", "status", "budget_min", "budget_max", "currency", "budget_scope",
    "cofinancing_rate", "eligibility_text", "eligible_countries", "eligible_applicants", "notes",
    "score", "band", "eligible", "themes", "reasons", "content_hash",
)  # fmt: skip


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


def _apply(row: CallRow, call: Call) -> None:
    for name in ROW_FIELDS:
        setattr(row, name, getattr(call, name))
    row.deadlines = [d.isoformat() for d in call.deadlines]
    row.canonical_url = call.extra.get("canonical_url") or call.url
    row.extra = {k: v for k, v in call.extra.items() if k != "canonical_url"}


def _touch_sighting(session: Session, row: CallRow, call: Call, how: str, now: datetime) -> None:
    canon = call.extra.get("canonical_url") or call.url
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


def upsert(
    session: Session, call: Call, *, now: datetime, run_id: int | None = None,
    match: Match | None = None,
) -> Stored:  # fmt: skip
    """Insert or update one normalised, scored call. Flushes; the caller commits."""
    if match is None:
        match = find_match(session, call)
    if match is None:
        row = CallRow(key=call_key(call), source=call.source, first_seen=now, last_seen=now)
        _apply(row, call)
        session.add(row)
        _touch_sighting(session, row, call, "new", now)
        session.flush()
        call.first_seen, call.last_seen = now, now
        return Stored(row, "new")

    row = match.row
    row.last_seen = now
    row.listed, row.unlisted_at = True, None
    _touch_sighting(session, row, call, match.how, now)
    call.first_seen, call.last_seen = row.first_seen, now
    if call.source != row.source:
        # another site's copy of a call we know: link it, fill gaps, do not overwrite the
        # funder's own data with an aggregator's (that would flip-flop between crawls)
        for name in ("summary", "programme", "instrument", "eligibility_text", "opens_at"):
            if getattr(row, name) is None and getattr(call, name) is not None:
                setattr(row, name, getattr(call, name))
        session.flush()
        return Stored(row, "sighting")

    changed: list[str] = []
    for name in TRACKED_FIELDS:
        old, new = _row_value(row, name), _call_value(call, name)
        if old != new:
            changed.append(name)
            session.add(
                CallChange(call=row, run_id=run_id, field=name, old_value=old, new_value=new,
                           seen_at=now)
            )  # fmt: skip
    _apply(row, call)
    if changed:
        row.updated_at = now
    session.flush()
    return Stored(row, "updated" if changed else "unchanged", tuple(changed))


def mark_unlisted(session: Session, source: str, run_started: datetime, now: datetime) -> int:
    """After a complete crawl: sightings of `source` not seen in it are no longer listed.

    Calls are never deleted; a call is unlisted when none of its sightings is listed any more.
    """
    stale = session.scalars(
        select(Sighting).where(
            Sighting.source == source, Sighting.listed.is_(True), Sighting.last_seen < run_started
        )
    ).all()
    for s in stale:
        s.listed = False
        call = s.call
        if call.listed and not any(o.listed for o in call.sightings if o is not s):
            call.listed = False
            call.unlisted_at = now
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
