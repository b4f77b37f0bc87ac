"""`upsert()`: store one normalised call as a sighting, rebuild its call, score it, log changes."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from fundradar.pipeline.dedupe import Match, aggregator_sources, blocking, call_key, find_match
from fundradar.pipeline.models import CallChange, CallRow, DedupeKey, Sighting
from fundradar.pipeline.normalise import TRACKED_FIELDS
from fundradar.pipeline.record import Call
from fundradar.pipeline.store.bridge import join_twins
from fundradar.pipeline.store.merge import PAGE_FIELDS, Merged, Page, merge_page, page_data, rebuild
from fundradar.pipeline.store.merge import scoring_call as _scoring_call
from fundradar.pipeline.store.runs import _jsonable

# extra keys that describe one crawl's item, not the call
TRANSIENT_EXTRA = ("canonical_url", "unchanged_listing", "aggregator", "imported")
SCORE_FIELDS = ("score", "band", "eligible", "themes", "reasons")

RANK_FUNDER, RANK_IMPORT, RANK_AGGREGATOR = 0, 1, 2
IMPORT_SOURCE = "import"


def source_rank(source: str, call: Call | None = None) -> int:
    """0 the funder's own site, 1 `fundradar import` (default source "import"), 2 an aggregator.

    An aggregator is a source whose config entry says `options: {aggregator: true}` or names
    its funder "… (aggregator)" (`pipeline.dedupe.aggregator_sources`), or whose spider marks
    its items `extra["aggregator"] = True`. `fundradar import` marks its items
    `extra["imported"]`, so an import under another `--source` name is still an import.
    """
    if call is not None and call.extra.get("aggregator"):
        return RANK_AGGREGATOR
    if source == IMPORT_SOURCE or (call is not None and call.extra.get("imported")):
        return RANK_IMPORT
    return RANK_AGGREGATOR if source in aggregator_sources() else RANK_FUNDER


def page_hash(canonical_url: str) -> str:
    """`CallRow.origin_page`: the canonical URL hashed (an index on a 2,000-char URL would
    exceed PostgreSQL's b-tree row limit)."""
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()


def _row_value(row: CallRow, name: str) -> Any:
    if name == "deadlines":
        return list(row.deadlines or [])
    return _jsonable(getattr(row, name))


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


def pages_of(row: CallRow) -> list[Page]:
    return [
        Page(s.source, s.canonical_url, s.rank if s.rank is not None else source_rank(s.source),
             s.data or {}, s.data_since or {})
        for s in row.sightings
    ]  # fmt: skip


_SEARCH = Match.__new__(Match)  # sentinel: "look it up" (None means "looked: no match")


def upsert(
    session: Session, call: Call, *, now: datetime, run_id: int | None = None,
    match: Match | None = _SEARCH, profile: Any = None,
) -> Stored:  # fmt: skip
    """Store one normalised call and rebuild (and score) the call it belongs to. Flushes; the
    caller commits.

    `match`: what `pipeline.dedupe.find_match` found, when the caller already asked it.
    `profile`: the scoring profile (`pipeline.score.load_profile()` when None).

    The write runs in a SAVEPOINT. When it breaks a unique constraint — another writer stored
    the same page or key between our look-up and our insert — it is rolled back, the look-up
    runs again (it now finds the other writer's call) and the item is stored as an update.
    """
    _write_lock(session)
    for attempt in (1, 2):
        if match is _SEARCH:
            match = find_match(session, call)
        try:
            with session.begin_nested():
                return _write(session, call, match, now=now, run_id=run_id, profile=profile)
        except IntegrityError:
            if attempt == 2:
                raise
            match = _SEARCH  # lost a race: look again
    raise AssertionError("unreachable")


STORE_LOCK_KEY = 0x66727374  # "frst": PostgreSQL advisory lock of the store's writers


def _write_lock(session: Session) -> None:
    """Take the store's write lock before the look-up, so two writers (two crawl processes, two
    servers) take turns and the second sees the first's calls: two look-ups before two inserts
    make twins.

    - SQLite: BEGIN IMMEDIATE when no transaction is open. A transaction that reads and then
      writes while another writer holds the lock gets "database is locked" at once (SQLite's
      deadlock guard ignores the busy timeout). (pysqlite opens no transaction for reads, so
      after a commit none is open.)
    - PostgreSQL: a transaction-scoped advisory lock (released at commit or rollback). Without
      it both writers insert at once, and READ COMMITTED lets neither see the other's call
      (seen in CI: two crawl processes storing the same three calls as six)."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": STORE_LOCK_KEY})
        return
    if conn.dialect.name != "sqlite":
        return
    dbapi = conn.connection.dbapi_connection
    if dbapi is not None and not dbapi.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _write(
    session: Session, call: Call, match: Match | None, *, now: datetime, run_id: int | None,
    profile: Any,
) -> Stored:  # fmt: skip
    thrifty = bool(call.extra.get("unchanged_listing"))  # the row's own data, carried back
    if match is None:
        row = CallRow(
            key=call_key(call), source=call.source, origin_page=page_hash(_canon(call)),
            first_seen=now, last_seen=now, listed=True, extra={}, content_hash="",
        )  # fmt: skip
        session.add(row)
        before: dict[str, Any] | None = None
        old_owner: tuple[str, str] | None = None
        old_keys: tuple[Any, ...] | None = None
        how = "new"
    else:
        row, how = match.row, match.how
        if how != "page":  # a page new to this call: does it show other calls to be this one?
            row = join_twins(session, call, row)
        before = {name: _row_value(row, name) for name in TRACKED_FIELDS}
        old_owner = _owner(row)
        old_keys = blocking.signature(_key_values(row))
        row.last_seen = now
        _relist(session, row, call.source, now, run_id)
    sighting = _touch_sighting(row, call, how, now)
    if not thrifty or not sighting.data:
        data, since, changed = merge_page(sighting.data or {}, sighting.data_since or {},
                                          page_data(call), now)  # fmt: skip
        if changed:
            sighting.data, sighting.data_since, sighting.data_changed_at = data, since, now

    pages = pages_of(row)
    merged = rebuild(pages, now, weak=aggregator_sources())
    _apply(row, merged, call)
    _score(row, merged, pages, profile, session)
    call.first_seen, call.last_seen = row.first_seen, now
    for name in SCORE_FIELDS:
        value = getattr(row, name)
        setattr(call, name, list(value) if isinstance(value, list) else value)

    if before is None:
        session.flush()
        _sync_keys(session, row, None)
        return Stored(row, "new")
    changed_fields = _record_changes(session, row, before, call.source, now, run_id)
    if changed_fields:
        row.updated_at = now
    owner = (merged.owner.source, merged.owner.canonical_url)
    if old_owner is not None and owner != old_owner:
        old_rank = next((p.rank for p in pages if (p.source, p.canonical_url) == old_owner), 9)
        if merged.owner.rank < old_rank:
            _take_key(session, row, merged)
    session.flush()
    _sync_keys(session, row, old_keys)
    if changed_fields:
        outcome = "updated"
    elif owner == (call.source, _canon(call)):
        outcome = "unchanged"
    else:
        outcome = "sighting"
    return Stored(row, outcome, tuple(changed_fields), how)


def _key_values(row: CallRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in
            ("title", "url", "source", "source_ref", "extra", "deadline", "funder")}  # fmt: skip


def _sync_keys(session: Session, row: CallRow, old: tuple[Any, ...] | None) -> None:
    """Keep the call's blocking keys (`dedupe.blocking`) in step with the row: written anew when
    what they depend on changed (title, deadline, funder, links...)."""
    values = _key_values(row)
    if old is not None and blocking.signature(values) == old:
        return
    conn = session.connection()
    if old is not None:
        conn.execute(delete(DedupeKey).where(DedupeKey.call_id == row.id))
    rows = blocking.key_rows(row.id, values)
    if rows:
        conn.execute(insert(DedupeKey), rows)


def _apply(row: CallRow, merged: Merged, call: Call) -> None:
    values = merged.values
    for name in (*PAGE_FIELDS, "deadline", "content_hash"):
        if name == "deadlines":
            row.deadlines = [d.isoformat() for d in values["deadlines"]]
        else:
            setattr(row, name, values.get(name))
    row.canonical_url = merged.owner.canonical_url
    extra = dict(row.extra or {})
    if (merged.owner.source, merged.owner.canonical_url) == (call.source, _canon(call)):
        extra.update({k: v for k, v in call.extra.items() if k not in TRANSIENT_EXTRA})
    extra["data_source"], extra["data_page"] = merged.owner.source, merged.owner.canonical_url
    row.extra = extra


def _score(row: CallRow, merged: Merged, pages: list[Page], profile: Any, session: Session) -> None:
    """Score the merged call (every language version's text), so the score never depends on
    which page was seen first or last; then the team's verdicts adjust it (bounded, with its
    reason; nothing before enough verdicts). The call's own verdict is left out: a shortlisted
    call must not lift itself."""
    from fundradar.pipeline.score import load_profile, score_call
    from fundradar.pipeline.store.feedback import model_for

    profile = profile or load_profile()
    scoring = _scoring_call(merged, pages)
    result = score_call(scoring, profile)
    model = model_for(session, profile)
    if model.active:
        ref = None if row.id is None else str(row.id)
        result, _adjustment = model.adjust(result, scoring, profile, ref=ref)
    row.score, row.band, row.eligible = result.score, result.band, result.eligible
    row.themes, row.reasons = list(result.themes), list(result.reasons)
    if result.countries and not row.eligible_countries:
        row.eligible_countries = list(result.countries)


def _same_minute(old: Any, new: Any) -> bool:
    """Two dates (or lists of them) less than a minute apart are one deadline.

    Date-only deadlines were stored as 23:59:00 before they became the end of the day
    (23:59:59); without this rule the first crawl after that change would report every such
    call as "deadline moved" with nothing moved. No funder moves a deadline by seconds.
    """
    olds = old if isinstance(old, list) else [old]
    news = new if isinstance(new, list) else [new]
    if len(olds) != len(news) or not olds:
        return False
    try:
        pairs = [
            (datetime.fromisoformat(a), datetime.fromisoformat(b))
            for a, b in zip(olds, news, strict=True)
        ]
    except (TypeError, ValueError):
        return False
    return all(abs((a - b).total_seconds()) < 60 for a, b in pairs)


def _record_changes(
    session: Session, row: CallRow, before: dict[str, Any], source: str, now: datetime,
    run_id: int | None,
) -> list[str]:  # fmt: skip
    changed: list[str] = []
    for name in TRACKED_FIELDS:
        old, new = before[name], _row_value(row, name)
        if old != new and not _same_minute(old, new):
            changed.append(name)
            session.add(CallChange(call=row, run_id=run_id, field=name, old_value=old,
                                   new_value=new, seen_at=now, source=source))  # fmt: skip
    return changed


def _touch_sighting(row: CallRow, call: Call, how: str, now: datetime) -> Sighting:
    canon = _canon(call)
    sighting = next(
        (s for s in row.sightings if s.source == call.source and s.canonical_url == canon), None
    )
    if sighting is None:
        sighting = Sighting(
            source=call.source, source_ref=call.source_ref, url=call.url, canonical_url=canon,
            title=call.title, language=call.language, first_seen=now, match=how, data={},
            data_since={},
        )  # fmt: skip
        row.sightings.append(sighting)
    sighting.last_seen = now
    sighting.listed = True
    sighting.rank = source_rank(call.source, call)
    if not call.extra.get("unchanged_listing"):
        sighting.title, sighting.url = call.title, call.url
        sighting.language = call.language or sighting.language
        sighting.source_ref = call.source_ref or sighting.source_ref
    if call.extra.get("listing_hash"):
        sighting.listing_hash = call.extra["listing_hash"]
    return sighting


def _relist(session: Session, row: CallRow, source: str, now: datetime, run_id: int | None) -> None:
    if not row.listed:
        session.add(CallChange(call=row, run_id=run_id, field="listed", old_value=False,
                               new_value=True, seen_at=now, source=source))  # fmt: skip
    row.listed, row.unlisted_at = True, None


def _take_key(session: Session, row: CallRow, merged: Merged) -> None:
    """A better-ranked owner's key names the row, so its next crawl finds it by key (unless
    another call has it)."""
    owner = merged.owner
    ref = owner.data.get("source_ref")
    key = f"{owner.source}:{ref}" if ref else f"url:{owner.canonical_url}"
    if key == row.key:
        return
    taken = session.scalars(select(CallRow.id).where(CallRow.key == key)).first()
    if taken is None:
        row.key = key


LOCK_RETRIES = 5


def store_one(
    session: Session, call: Call, *, now: datetime, run_id: int | None = None,
    profile: Any = None, match: Match | None = _SEARCH,
) -> Stored:  # fmt: skip
    """`upsert` one call in its own transaction and commit it.

    Under two concurrent writers on SQLite, a transaction that read before another writer
    committed cannot write any more ("database is locked" at once, whatever the busy
    timeout): it is rolled back and the call stored again from a fresh look-up. `match`: what
    `find_match` found, used by the first attempt only.
    """
    for attempt in range(1, LOCK_RETRIES + 1):
        try:
            found, match = match, _SEARCH
            stored = upsert(session, call, now=now, run_id=run_id, profile=profile, match=found)
            session.commit()
            return stored
        except OperationalError as exc:
            session.rollback()
            if attempt == LOCK_RETRIES or "locked" not in str(exc.orig).lower():
                raise
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")
