"""Store a crawl's calls in batches: new calls are written together, with Core statements.

A crawl's items are mostly calls never seen (a first crawl, a new source) or pages seen again.
Writing each new call through the ORM and committing it cost more than dedupe, merge and score
together; `BatchStore` keeps the new ones in memory and writes them in one transaction of three
`executemany` statements (calls, their sightings, their blocking keys) every `size` items or
`seconds`, and when the crawl closes. What is not written yet is lost by a crash (SIGKILL, power
cut): no more than one batch, and the next crawl fetches those pages again, because nothing
marks them seen.

Every guarantee of `pipeline.store.upsert` is kept, by sending everything that is not plainly
new through it:

- **Dedupe sees the unwritten calls.** An item is looked up in the database (`find_match`)
  and then among the pending calls (same key or page, or a shared blocking key and the judge's
  yes). A pending call it matches is written first, then the item is stored by `upsert`, which
  finds it there: merge, sightings, change log and the rebuild by precedence are upsert's.
- **Twins.** An item matching a stored call by anything but its own page may join other calls
  (`bridge.join_twins`, which asks the same candidates and judge), so a pending call it could
  join is written before it: the pending-call check above is that test.
- **Races.** The batch runs in a SAVEPOINT. When another writer stored one of its pages or
  keys meanwhile (a unique constraint breaks), the SAVEPOINT is rolled back and each pending
  call goes through `upsert` on its own, which looks it up again and stores it as an update.
  The batch takes the write lock first (as `upsert` does) and, when another writer
  stored calls since our look-ups, looks every pending call up again before writing.
- **Counted when written.** Outcomes (new, updated, ...) are given to the caller when the row
  is in the database (`Written`), so a crawl's counts are never ahead of what was stored.
- **Never silent.** A call that cannot be stored comes back with its error, and strings cut to
  their columns with their cuts (`db_safety`), as the ORM path reports them.

One `BatchStore` serves every spider of a process writing to one database (`shared`), so two
sources crawled in one process see each other's pending calls.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from fundradar.pipeline import db_safety
from fundradar.pipeline.dedupe import (
    Match,
    _gate,
    _is_aggregator_item,
    aggregator_sources,
    blocking,
    call_key,
    effective_funder,
    find_match,
)
from fundradar.pipeline.dedupe.match import as_record, could_be_same, judge
from fundradar.pipeline.models import CallRow, DedupeKey, Sighting
from fundradar.pipeline.record import Call
from fundradar.pipeline.store import search_index
from fundradar.pipeline.store.merge import merge_page, page_data, rebuild
from fundradar.pipeline.store.upsert import (
    _SEARCH,
    SCORE_FIELDS,
    Stored,
    _apply,
    _score,
    _touch_sighting,
    _write_lock,
    page_hash,
    pages_of,
    store_one,
)

BATCH_SIZE = 100  # items
BATCH_SECONDS = 1.0  # the oldest pending item waits at most this long (checked by `due`)


@dataclass
class Written:
    """One item's outcome, given when it is in the database (or could not be stored)."""

    call: Call
    stored: Stored | None
    error: BaseException | None = None
    cuts: list[db_safety.Cut] = field(default_factory=list)
    tag: Any = None  # the caller's own (the pipeline stage that gave the item)


@dataclass
class _Pending:
    call: Call
    now: datetime
    run_id: int | None
    tag: Any
    row: CallRow  # transient: built, scored, not in any session
    sighting: Sighting
    values: dict[str, Any]  # the calls row, as written
    keys: frozenset[str]  # blocking keys, plus its own page's link key
    words: int  # how many of them are title words
    sighting_values: dict[str, Any]  # the sightings row, as written (without call_id)
    key_values: list[dict[str, Any]]  # its dedupe_keys rows (without call_id)
    canon: str
    key: str
    cuts: list[db_safety.Cut]


_CANDIDATE_FIELDS = ("source", "source_ref", "title", "funder", "language", "deadline")


def _canon(call: Call) -> str:
    return call.extra.get("canonical_url") or call.url


def _table_values(obj: Any) -> dict[str, Any]:
    """An ORM object's column values for a Core insert, defaults applied (no id)."""
    table = obj.__table__
    out: dict[str, Any] = {}
    for column in table.columns:
        if column.primary_key and column.name == "id":
            continue
        value = getattr(obj, column.key, None)
        if value is None and column.default is not None:
            default = column.default
            value = default.arg(None) if callable(default.arg) else default.arg  # type: ignore[attr-defined]
        out[column.key] = value
    return out


class BatchStore:
    """Gathers new calls and writes them in batches; everything else goes through `upsert`."""

    def __init__(
        self, session: Session, *, profile: Any = None, size: int = BATCH_SIZE,
        seconds: float = BATCH_SECONDS, clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self.session = session
        self.profile = profile
        self.size = size
        self.seconds = seconds
        self.clock = clock
        self.pending: list[_Pending] = []
        self._since: float | None = None
        self._by_key: dict[str, _Pending] = {}
        self._by_canon: dict[str, _Pending] = {}
        self._by_block: dict[str, list[_Pending]] = {}  # blocking key -> pending calls
        self._top: int | None = None  # highest call id when our look-ups last saw the table
        self.timings: Counter[str] = Counter()  # seconds per stage (the benchmark reads them)
        self.rows_written = 0  # calls written by batches

    # --- the caller's side -------------------------------------------------------------------
    def add(
        self, call: Call, *, now: datetime, run_id: int | None = None, tag: Any = None
    ) -> list[Written]:
        """Store `call` now or later. Returns what got written by this call (its own outcome
        when it went through `upsert`, a whole batch when one was due)."""
        out: list[Written] = []
        clock = time.perf_counter
        t0 = clock()
        if self._top is None:
            self._top = self._highest()
        match = find_match(self.session, call)
        hit = self._pending_hit(call)
        self.timings["dedupe"] += clock() - t0
        if hit:
            out += self.flush()
            match = find_match(self.session, call)  # now finds the pending call it matched
        if match is None:
            t1 = clock()
            pending = self._build(call, now, run_id, tag)
            self.timings["merge + score (new calls)"] += clock() - t1
            if pending is not None:
                self._hold(pending)
                if len(self.pending) >= self.size or self.due():
                    out += self.flush()
                return out
            out.append(Written(call, None, self._last_error, tag=tag))
            return out
        t2 = clock()
        out.append(self._store_one(call, now, run_id, tag, match))
        self.timings["upsert (calls seen before)"] += clock() - t2
        return out

    def due(self) -> bool:
        """The oldest pending call has waited `seconds`."""
        return self._since is not None and self.clock() - self._since >= self.seconds

    def flush(self) -> list[Written]:
        """Write every pending call (one transaction); returns their outcomes."""
        if not self.pending:
            return []
        batch, self.pending = self.pending, []
        self._by_key.clear()
        self._by_canon.clear()
        self._by_block.clear()
        self._since = None
        t0 = time.perf_counter()
        try:
            written = self._write_batch(batch)
        except IntegrityError:
            self.session.rollback()
            written = None  # lost a race: each call on its own, looked up again
        except OperationalError:
            self.session.rollback()
            written = None  # locked or busy: each call with upsert's own retries
        written_in_batch = written is not None
        if written is None:
            written = [self._store_one(p.call, p.now, p.run_id, p.tag, _SEARCH) for p in batch]
            self._top = self._highest()
        self.timings["batch write" if written_in_batch else "batch fallback"] += (
            time.perf_counter() - t0
        )
        return written

    # --- looking up the pending calls ---------------------------------------------------------
    def _pending_hit(self, call: Call) -> bool:
        """Could `call` be one of the pending calls? (Same key or page, or a blocking key in
        common and the judge's yes.) A yes costs an early write, never a wrong merge."""
        if not self.pending:
            return False
        if call_key(call) in self._by_key or _canon(call) in self._by_canon:
            return True
        keys = set(
            blocking.item_keys(title=call.title, url=call.url, source=call.source,
                               source_ref=call.source_ref, aggregator=_is_aggregator_item(call))
        )  # fmt: skip
        aggregator = _is_aggregator_item(call)
        for link in call.extra.get("links_to") or ():
            if isinstance(link, str) and aggregator:
                keys.add(blocking.link_key(link))
        # the database's rule (`dedupe.candidates`): a strong key, or two title words (all of
        # a shorter title's)
        shared: Counter[int] = Counter()
        by_id: dict[int, _Pending] = {}
        for key in keys:
            for p in self._by_block.get(key, ()):
                if key.startswith("id:"):
                    return True  # an identifier in common: `identifier_rows` would find it
                if not blocking.is_word(key):
                    shared[id(p)] += 1000
                shared[id(p)] += 1
                by_id[id(p)] = p
        need = min(2, sum(1 for k in keys if blocking.is_word(k))) or 1
        sharing = [by_id[i] for i, n in shared.items()
                   if n >= 1000 or n >= need or n >= by_id[i].words]  # fmt: skip
        if not sharing:
            return False
        item = as_record(call)
        item = replace(item, funder=effective_funder(item.source, item.funder),
                       links=item.links if aggregator else ())  # fmt: skip
        for p in sharing:
            cand = {name: p.values.get(name) for name in _CANDIDATE_FIELDS}
            cand.update(id=0, canonical_url=p.values["canonical_url"],
                        deadlines=p.values.get("deadlines") or [])  # fmt: skip
            links = (p.values.get("extra") or {}).get("links_to")
            if links and p.values["source"] in aggregator_sources():
                cand["links"] = tuple(u for u in links if isinstance(u, str))
            if not cand.get("links") and not _gate(item, cand):
                continue
            cand["funder"] = effective_funder(cand["source"], cand["funder"])
            record = as_record(cand)
            if could_be_same(item, record) and judge(item, record)[0]:
                return True
        return False

    def _hold(self, pending: _Pending) -> None:
        if not self.pending:
            self._since = self.clock()
        self.pending.append(pending)
        self._by_key[pending.key] = pending
        self._by_canon[pending.canon] = pending
        for key in pending.keys:
            self._by_block.setdefault(key, []).append(pending)

    # --- building a new call in memory (upsert._write's new-call branch, without a session) ---
    _last_error: BaseException | None = None

    def _build(self, call: Call, now: datetime, run_id: int | None, tag: Any) -> _Pending | None:
        try:
            canon = _canon(call)
            row = CallRow(
                key=call_key(call), source=call.source, origin_page=page_hash(canon),
                first_seen=now, last_seen=now, listed=True, extra={}, content_hash="",
            )  # fmt: skip
            sighting = _touch_sighting(row, call, "new", now)
            data, since, _changed = merge_page({}, {}, page_data(call), now)
            sighting.data, sighting.data_since, sighting.data_changed_at = data, since, now
            pages = pages_of(row)
            merged = rebuild(pages, now, weak=aggregator_sources())
            _apply(row, merged, call)
            _score(row, merged, pages, self.profile, self.session)
            cuts = db_safety.clean_object(row) + db_safety.clean_object(sighting)
            search_index.refresh(row)  # a Core insert: no ORM flush to make it
            values = _table_values(row)
            keys = blocking.row_keys(values) | {blocking.link_key(values["url"] or canon)}
            if values.get("source_ref"):  # found by its identifier (`identifier_rows`)
                keys.add("id:" + values["source_ref"].strip().upper())
        except Exception as exc:  # a bug in merge or score costs this item, said with its cause
            self._last_error = exc
            return None
        call.first_seen, call.last_seen = row.first_seen, now
        for name in SCORE_FIELDS:
            value = getattr(row, name)
            setattr(call, name, list(value) if isinstance(value, list) else value)
        words = sum(1 for k in keys if blocking.is_word(k))
        return _Pending(call, now, run_id, tag, row, sighting, values, frozenset(keys), words,
                        _table_values(sighting), blocking.key_rows(0, values), canon, row.key,
                        cuts)  # fmt: skip

    # --- writing -----------------------------------------------------------------------------
    def _write_batch(self, batch: list[_Pending]) -> list[Written] | None:
        session = self.session
        _write_lock(session)
        late: list[tuple[_Pending, Match]] = []
        order = {id(p.call): n for n, p in enumerate(batch)}  # outcomes in the items' order
        if self._highest() != self._top:
            # another writer (another crawl process) stored calls since our look-ups: look
            # every pending call up again, under the write lock now, so none becomes the twin
            # of a call stored meanwhile. Those that found one are stored by `upsert` once the
            # batch is written; the others stay in the batch (storing each of them on its own
            # cost a crawl in several processes more than the crawl itself).
            again = [(p, find_match(session, p.call)) for p in batch]
            late = [(p, m) for p, m in again if m is not None]
            batch = [p for p, m in again if m is None]
            self._top = self._highest()
        if not batch:
            session.commit()
            return self._store_late(late, order, [])
        conn = session.connection()
        table = CallRow.__table__
        with session.begin_nested():
            if conn.dialect.name == "sqlite" and self._top is not None and self._top >= 0:
                # under the write lock, the highest id checked just above: the next ids are
                # ours, and one executemany without RETURNING is the fastest write SQLite has
                # (RETURNING in parameter order would be one statement per row there)
                ids = list(range(self._top + 1, self._top + 1 + len(batch)))
                rows = [{**p.values, "id": i} for p, i in zip(batch, ids, strict=True)]
                conn.execute(insert(table), rows)
            else:
                ids = conn.execute(
                    insert(table).returning(table.c.id, sort_by_parameter_order=True),
                    [p.values for p in batch],
                ).scalars().all()  # fmt: skip
            sightings, keys = [], []
            for p, call_id in zip(batch, ids, strict=True):
                sightings.append({**p.sighting_values, "call_id": call_id})
                keys += [{**k, "call_id": call_id} for k in p.key_values]
            conn.execute(insert(Sighting.__table__), sightings)
            if keys:
                conn.execute(insert(DedupeKey.__table__), keys)
        session.commit()
        self.rows_written += len(ids)
        self._top = max(ids)  # under the write lock: no other writer's call in between
        written = []
        for p, call_id in zip(batch, ids, strict=True):
            p.row.id = call_id
            written.append(Written(p.call, Stored(p.row, "new"), cuts=p.cuts, tag=p.tag))
        return self._store_late(late, order, written)

    def _store_late(
        self, late: list[tuple[_Pending, Match]], order: dict[int, int], written: list[Written]
    ) -> list[Written]:
        """Pending calls that match a call another writer stored meanwhile: merged into it."""
        if not late:
            return written
        written += [self._store_one(p.call, p.now, p.run_id, p.tag, m) for p, m in late]
        return sorted(written, key=lambda w: order[id(w.call)])

    def _store_one(
        self, call: Call, now: datetime, run_id: int | None, tag: Any, match: Match | None
    ) -> Written:
        session = self.session
        try:
            stored = store_one(session, call, now=now, run_id=run_id,
                                       profile=self.profile, match=match)  # fmt: skip
        except Exception as exc:
            session.rollback()
            return Written(call, None, exc, tag=tag)
        cuts = db_safety.take_cuts(session)
        if stored.outcome == "new" and self._top is not None and stored.row.id == self._top + 1:
            self._top = stored.row.id  # our own insert, right after the calls we saw
        return Written(call, stored, cuts=cuts, tag=tag)

    def _highest(self) -> int:
        try:
            return int(self.session.scalar(select(func.max(CallRow.id))) or 0)
        except SQLAlchemyError:
            self.session.rollback()
            return -1


# --- one BatchStore per database for the process ------------------------------------------------
_shared: dict[str, tuple[BatchStore, int]] = {}


def shared(*, profile: Any = None) -> BatchStore:
    """The process's `BatchStore` for the configured database (made on first use), so spiders
    crawled in one process see each other's pending calls. Give it back with `release`."""
    from fundradar import settings
    from fundradar.pipeline import db

    url = settings.load().database_url
    found = _shared.get(url)
    if found is None:
        found = (BatchStore(db.session_factory(url)(), profile=profile), 0)
    store, users = found
    _shared[url] = (store, users + 1)
    return store


def release(store: BatchStore) -> None:
    """One user fewer; the last one flushes (its caller did) and closes the session."""
    for url, (known, users) in list(_shared.items()):
        if known is store:
            if users <= 1:
                del _shared[url]
                store.session.close()
            else:
                _shared[url] = (known, users - 1)
