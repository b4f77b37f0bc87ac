"""Find the stored call a new item is the same as.

Order of evidence, strongest first, each an indexed lookup:

1. `page`: this source has shown this page before (sighting by source + canonical URL);
2. `ref`: the same key, i.e. this source's own identifier for the call;
3. `url`: another source saw the same canonical URL (feeds link straight to funders' pages);
4. `identifier`: the item names a funder identifier a stored call has as its `source_ref`
   (an aggregator writing "… (HORIZON-CL4-2025-03-DIGITAL-EMERGING-02)");
5. `link`: an aggregator's copy links out to a page a stored call was seen at (its
   `extra["links_to"]`, `pipeline.dedupe.links`), looked up by canonical URL on the calls' and
   sightings' indexes; `judge` still vetoes a link to another year's or round's page;
6. `title`: fuzzy — candidates narrowed in SQL to calls that share a blocking key with the item
   (a title word's first letters, an identifier, a numbered round, a linked page:
   `pipeline.dedupe.blocking`) and whose deadline is within a few days of one of the item's
   deadlines (or, for an item without a deadline, calls of the same funder), then a cheap
   rapidfuzz gate, then `pipeline.dedupe.match.judge` on the few left. Each query is an index
   range scan on `dedupe_keys`: the candidates follow the calls like the item, not the size of
   the table (a crawl would otherwise be quadratic). The other
   way round — a funder's page arriving after an aggregator's copy that links to it — is found
   here: the aggregators' candidates carry their stored links, and a link to the item's page
   skips the title gate. (Not found: a funder's page *without a deadline* after an aggregator's
   copy *without a deadline* — the copy's funder is the aggregator's name, so neither the
   deadline window nor the funder narrows to it; the next crawl of the aggregator links them
   only if its page is seen anew. An index on the links would need a schema change.)

`SeenInRun` drops a second copy inside one crawl before it costs a score.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import and_, bindparam, func, literal, or_, select, union, union_all
from sqlalchemy.orm import Session

from fundradar.pipeline.dedupe import blocking
from fundradar.pipeline.dedupe.blocking import item_keys
from fundradar.pipeline.dedupe.links import outbound_links
from fundradar.pipeline.dedupe.match import (
    DEADLINE_TOLERANCE,
    LINK_REASON,
    Record,
    as_record,
    could_be_same,
    identifiers,
    judge,
    page_identity,
    title_features,
)
from fundradar.pipeline.models import CallRow, DedupeKey, Sighting
from fundradar.pipeline.record import Call

# SQL window around each of the item's deadlines: the decision's own tolerance, so nothing it
# would accept is left out. (The stored `deadline` is the call's *next* deadline: a copy that
# gives only a stage already past is found through its identifier or its URL, not here.)
CANDIDATE_WINDOW = DEADLINE_TOLERANCE
MAX_CANDIDATES = 400  # a window this full means a generated or broken feed; keep it bounded
# Cheap gate before the full decision (rapidfuzz, 0-100). Well under the decision's own
# thresholds: it only spares `judge` the obviously different titles.
GATE_SAME_LANGUAGE = 55.0
GATE_CROSS_LANGUAGE = 30.0


_aggregators: tuple[float, dict[str, str]] | None = None
_AGGREGATORS_TTL = 30.0  # seconds: config is re-read at most this often, not once per item


def aggregator_sources() -> dict[str, str]:
    """{source id: the funder name its config gives} for aggregator sources.

    An aggregator is a source whose config says `options: {aggregator: true}` or whose funder
    is written "… (aggregator)". Its items carry the aggregator's name as funder until the
    spider reads the real one, and that name says nothing about who funds the call.
    """
    global _aggregators
    now = time.monotonic()
    if _aggregators is not None and now - _aggregators[0] < _AGGREGATORS_TTL:
        return _aggregators[1]
    try:
        from fundradar.config.loader import load_sources

        found = {
            s.id: s.funder for s in load_sources().sources if is_aggregator(s.options, s.funder)
        }  # fmt: skip
    except Exception:  # no readable config (a bare test database): no aggregators
        found = {}
    _aggregators = (now, found)
    return found


def is_aggregator(options: Mapping[str, Any] | None, funder: str | None) -> bool:
    """A source's config entry says it republishes other funders' calls."""
    return bool((options or {}).get("aggregator")) or "aggregator" in (funder or "").lower()


def record_links(call: Call, *, aggregator: bool) -> None:
    """Keep the pages an aggregator's item links out to (`extra["links_to"]`), read from its
    HTML summary; spiders call this before normalise turns the HTML into text."""
    if aggregator and call.summary and "links_to" not in call.extra:
        links = outbound_links(call.summary, call.url)
        if links:
            call.extra["links_to"] = links


def effective_funder(source: str | None, funder: str | None) -> str | None:
    """The funder as evidence: None when it is only the aggregator's own name."""
    if funder and source and aggregator_sources().get(source) == funder:
        return None
    return funder


def call_key(call: Call) -> str:
    """Stable identity of a call inside the database."""
    if call.source_ref:
        return f"{call.source}:{call.source_ref}"
    return f"url:{call.extra.get('canonical_url') or call.url}"


@dataclass(frozen=True)
class Match:
    row: CallRow
    how: str  # "page" | "ref" | "url" | "identifier" | "link" | "title"
    reason: str = ""


def _canon(call: Call) -> str:
    return call.extra.get("canonical_url") or call.url


# Statements built once (with bind parameters) so each lookup costs a cached compile, not a
# statement construction: dedupe runs for every item of every crawl.
# page, key, URL (as a call's address, then as any sighting's): one round trip for the
# common case of a call never seen, each branch on an index
_KNOWN = (
    union_all(
        select(literal(1).label("how"), Sighting.call_id.label("id")).where(
            Sighting.source == bindparam("source"), Sighting.canonical_url == bindparam("canon")
        ),
        select(literal(2), CallRow.id).where(CallRow.key == bindparam("key")),
        select(literal(3), CallRow.id).where(CallRow.canonical_url == bindparam("canon")),
        select(literal(4), Sighting.call_id).where(Sighting.canonical_url == bindparam("canon")),
    )
    .order_by("how")
    .limit(1)
)
_HOW = {1: ("page", "this page, seen before"), 2: ("ref", "same key"),
        3: ("url", "same page seen by another source"),
        4: ("url", "same page seen by another source")}  # fmt: skip
# pages an aggregator's item links out to: calls at those addresses, or seen there
_BY_LINK = union_all(
    select(CallRow.id.label("id")).where(
        CallRow.canonical_url.in_(bindparam("links", expanding=True))
    ),
    select(Sighting.call_id).where(
        Sighting.canonical_url.in_(bindparam("links_too", expanding=True))
    ),
)
_IDENT = (
    select(CallRow.id, CallRow.source, CallRow.source_ref)
    .where(CallRow.source_ref.in_(bindparam("refs", expanding=True)))
    .order_by(CallRow.id)
)
_COLUMNS = (
    CallRow.id, CallRow.source, CallRow.source_ref, CallRow.canonical_url, CallRow.title,
    CallRow.funder, CallRow.language, CallRow.deadlines, CallRow.deadline,
)  # fmt: skip
_BY_IDS = select(*_COLUMNS).where(CallRow.id.in_(bindparam("ids", expanding=True)))
_EXTRA_BY_IDS = select(CallRow.id, CallRow.extra).where(
    CallRow.id.in_(bindparam("ids", expanding=True))
)
# Fuzzy candidates: the calls sharing blocking keys with the item (`blocking`), inside the
# deadline window or, for calls without a deadline, of the same funder. A strong key (an
# identifier, a numbered round, a linked page) is enough alone; title words must be shared two
# at a time (or all of the shorter title's), as any title the judge could accept shares them.
# Each branch is an index range scan on dedupe_keys (key, deadline) or (key, funder); the few
# ids it gives are then read by primary key, newest first.
_K = DedupeKey
_STRONG = bindparam("strong", expanding=True)
_WORDS = bindparam("words", expanding=True)
_IN_WINDOW = _K.deadline.between(bindparam("lo"), bindparam("hi"))
# the undated calls of the funder: found on (key, deadline IS NULL), the funder compared on the
# rows found. Compared as a plain column, SQLite chose the (key, funder) index and read every
# call of the funder sharing the word, dated or not: the part of dedupe that grew with the
# database (a common word of a big funder is thousands of rows at 50,000 calls)
_UNDATED_OF_FUNDER = and_(
    _K.deadline.is_(None), func.coalesce(_K.funder, "") == bindparam("funder")
)
_OF_FUNDER = _K.funder == bindparam("funder")
_ENOUGH_WORDS = or_(func.count() >= bindparam("need"), func.count() >= func.min(_K.words))


def _sharing(*wheres: Any) -> Any:
    """Ids of the calls matching one of `wheres` that share a strong key or enough title
    words (one SELECT per condition: an OR would keep the index from narrowing the range).

    Not capped by rank: ranked by the share of title words in common, a crowded window's
    translations of the item (few word keys in common, "same call in two languages") came
    after a dozen same-language calls sharing two common words, and were lost."""
    return union(*(
        q for where in wheres for q in (
            select(_K.call_id).where(_K.key.in_(_STRONG), where),
            select(_K.call_id).where(_K.key.in_(_WORDS), where)
            .group_by(_K.call_id).having(_ENOUGH_WORDS),
        )
    ))  # fmt: skip


def _rows_of(ids: Any) -> Any:
    return (
        select(*_COLUMNS)
        .where(CallRow.id.in_(ids))
        .order_by(CallRow.id.desc())
        .limit(MAX_CANDIDATES)
    )


_BY_WINDOW = _rows_of(_sharing(_IN_WINDOW))
# the first deadline's window, or a stored call without a deadline from the same funder
_BY_WINDOW_OR_FUNDER = _rows_of(_sharing(_IN_WINDOW, _UNDATED_OF_FUNDER))
_BY_FUNDER = _rows_of(_sharing(_OF_FUNDER))


def identifier_rows(session: Session, call: Call) -> list[tuple[int, str]]:
    """(call id, identifier) of stored calls sharing a funder identifier with `call` (its
    source_ref, or one written in its title or URL), in the database's order."""
    refs = set(identifiers(call.title, call.url, upper=False))
    if call.source_ref:
        refs.add(call.source_ref)
    if not refs:
        return []
    return [
        (row_id, ref)
        for row_id, source, ref in session.connection().execute(_IDENT, {"refs": sorted(refs)})
        # another call of the same source: its own identifier differs
        if not (source == call.source and ref != call.source_ref)
    ]


def find_match(session: Session, call: Call) -> Match | None:
    # Core on the session's connection: same transaction (earlier upserts are flushed), none
    # of the ORM's per-statement bookkeeping
    conn = session.connection()
    canon = _canon(call)
    known = conn.execute(_KNOWN, {"source": call.source, "canon": canon, "key": call_key(call)})
    hit = known.first()
    if hit is not None:
        how, why = _HOW[hit.how]
        return Match(session.get_one(CallRow, hit.id), how, why)
    for row_id, ref in identifier_rows(session, call):
        return Match(session.get_one(CallRow, row_id), "identifier", f"funder identifier {ref}")
    linked = _link_match(session, call)
    if linked is not None:
        return linked
    return _fuzzy_match(session, call)


def _is_aggregator_item(call: Call) -> bool:
    return bool(call.extra.get("aggregator")) or call.source in aggregator_sources()


def _link_match(session: Session, call: Call) -> Match | None:
    """An aggregator's item that links out to a stored call's page (or a page it was seen at).
    The judge still has the last word: a link to last year's page is not this year's call."""
    links = [u for u in call.extra.get("links_to") or () if isinstance(u, str)]
    if not links or not _is_aggregator_item(call):
        return None
    conn = session.connection()
    ids = sorted({r.id for r in conn.execute(_BY_LINK, {"links": links, "links_too": links})})
    if not ids:
        return None
    item = as_record(call)
    item = replace(item, funder=effective_funder(item.source, item.funder))
    found: list[tuple[float, int, str]] = []
    for cand in conn.execute(_BY_IDS, {"ids": ids}):
        cand_d = cand._asdict()
        cand_d["funder"] = effective_funder(cand_d["source"], cand_d["funder"])
        same, reason, _ = judge(item, cand_d)
        if same:
            # a post that links to several stored calls ("see also …"): the one whose title
            # is closest is the call it copies
            closeness = judge(replace(item, links=()), cand_d)[2] if ids[1:] else 0.0
            found.append((closeness, -cand_d["id"], reason))
    if not found:
        return None
    _, neg_id, reason = max(found)
    return Match(session.get_one(CallRow, -neg_id), "link", reason)


# --- fuzzy stage ------------------------------------------------------------------------------


def candidates(session: Session, call: Call) -> list[dict[str, Any]]:
    """Stored calls that could be `call` by deadline or funder and that share a blocking key
    with it, as plain dicts (not ORM rows: loading full rows per item would cost more than
    judging them)."""
    conn = session.connection()
    deadlines = sorted(call.deadlines) or ([call.deadline] if call.deadline else [])
    funder = effective_funder(call.source, call.funder)
    keys = item_keys(title=call.title, url=call.url, source=call.source,
                     source_ref=call.source_ref, aggregator=_is_aggregator_item(call))  # fmt: skip
    found: dict[int, dict[str, Any]] = {}
    if not keys:
        return []
    words = [k for k in keys if blocking.is_word(k)]
    base = {"strong": [k for k in keys if not blocking.is_word(k)], "words": words,
            "need": min(2, len(words)) or 1}  # fmt: skip
    for i, d in enumerate(deadlines):
        lo, hi = deadline_window(d)
        if i == 0 and funder:
            params = {**base, "lo": lo, "hi": hi, "funder": funder}
            rows = conn.execute(_BY_WINDOW_OR_FUNDER, params)
        else:
            rows = conn.execute(_BY_WINDOW, {**base, "lo": lo, "hi": hi})
        for row in rows:
            found.setdefault(row.id, row._asdict())
    if not deadlines and funder:
        # without a deadline, the funder is the only narrowing left
        for row in conn.execute(_BY_FUNDER, {**base, "funder": funder}):
            found.setdefault(row.id, row._asdict())
    return list(found.values())


def _gate(item: Record, cand: dict[str, Any]) -> bool:
    """Is `cand` worth the full decision? Cheap checks only."""
    ref = (item.source_ref or "").upper()
    if ref and ref in (cand["title"] or "").upper():
        return True
    if cand["source"] == item.source and cand["source_ref"] and item.source_ref:
        return False  # two identifiers of one source: different calls (ref equality was step 2)
    title = cand["title"] or ""
    if item.language and cand["language"] and item.language != cand["language"]:
        ta, tb = title_features(item.title)[4], title_features(title)[4]
        return fuzz.token_set_ratio(" ".join(ta), " ".join(tb)) >= GATE_CROSS_LANGUAGE
    if cand["source"] == item.source:
        return True  # same-source rule (same round, same deadline) does not need the titles
    fa, fb = title_features(item.title)[0], title_features(title)[0]
    return fuzz.token_set_ratio(fa, fb) >= GATE_SAME_LANGUAGE


def _with_links(session: Session, call: Call, pool: list[dict[str, Any]]) -> None:
    """Give the aggregators' candidates the pages they link to, so a funder's page arriving
    after an aggregator's copy of it is recognised (one primary-key query, only when the
    window holds an aggregator's call)."""
    if _is_aggregator_item(call):
        return  # two aggregators' links say nothing about each other
    aggregators = aggregator_sources()
    ids = [c["id"] for c in pool if c["source"] in aggregators]
    if not ids:
        return
    by_id = {c["id"]: c for c in pool}
    for row_id, extra in session.connection().execute(_EXTRA_BY_IDS, {"ids": ids}):
        links = (extra or {}).get("links_to") if isinstance(extra, dict) else None
        if links:
            by_id[row_id]["links"] = tuple(u for u in links if isinstance(u, str))


def _fuzzy_match(session: Session, call: Call) -> Match | None:
    pool = candidates(session, call)
    if not pool:
        return None
    _with_links(session, call, pool)
    item = as_record(call)
    # only an aggregator's links are evidence: a funder's page links to its other calls
    links = item.links if _is_aggregator_item(call) else ()
    item = replace(item, funder=effective_funder(item.source, item.funder), links=links)
    page = _page(item.url)
    best: tuple[float, int, str] | None = None
    for cand in pool:
        cand["funder"] = effective_funder(cand["source"], cand["funder"])
        record = as_record(cand)
        # the cheap facts first: in a busy window most candidates are other funders' calls,
        # and the title gate (the candidate's title features, rarely cached) is dearer
        if not could_be_same(item, record):
            continue  # another funder's call, or another deadline: judge would say so
        linked = page is not None and any(_page(u) == page for u in cand.get("links", ()))
        if not linked and not _gate(item, cand):
            continue
        same, reason, strength = judge(item, record)
        if same and (best is None or strength > best[0]):
            best = (strength, cand["id"], reason)
    if best is None:
        return None
    row = session.get(CallRow, best[1])
    how = "link" if best[2] == LINK_REASON else "title"
    return Match(row, how, best[2]) if row is not None else None


def _page(url: str | None) -> str | None:
    return page_identity(url) if url else None


class SeenInRun:
    """Drops the second copy of a call within one crawl (the EU legacy index repeats rows)."""

    def __init__(self) -> None:
        self._keys: set[str] = set()

    def first_time(self, call: Call) -> bool:
        keys = {call_key(call), "url:" + _canon(call)}
        if keys & self._keys:
            return False
        self._keys |= keys
        return True


def deadline_window(when: datetime) -> tuple[datetime, datetime]:
    """The candidate window around one deadline (for tests and the benchmark's report)."""
    return when - CANDIDATE_WINDOW, when + CANDIDATE_WINDOW
