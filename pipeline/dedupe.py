"""Find the stored call a new item is the same as.

Order of evidence, strongest first, each an indexed lookup:

1. `page`: this source has shown this page before (sighting by source + canonical URL);
2. `ref`: the same key, i.e. this source's own identifier for the call;
3. `url`: another source saw the same canonical URL (feeds link straight to funders' pages);
4. `identifier`: the item names a funder identifier a stored call has as its `source_ref`
   (an aggregator writing "… (HORIZON-CL4-2025-03-DIGITAL-EMERGING-02)");
5. `title`: fuzzy — candidates narrowed in SQL to calls whose deadline is within a few days of
   one of the item's deadlines (or, for an item without a deadline, calls of the same funder),
   then a cheap rapidfuzz gate, then `pipeline.dedupe_match.judge` on the few left. Never a
   scan of the whole table: a crawl of 10,000 calls would otherwise be quadratic.

`SeenInRun` drops a second copy inside one crawl before it costs a score.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from pipeline.dedupe_match import (
    DEADLINE_TOLERANCE,
    Record,
    as_record,
    identifiers,
    judge,
    title_features,
)
from pipeline.models import CallRow, Sighting
from pipeline.record import Call

# SQL window around each deadline: the decision's own tolerance, plus a margin for the stored
# `deadline` being the *next* deadline of a multi-stage call rather than the one the item has.
CANDIDATE_WINDOW = DEADLINE_TOLERANCE + timedelta(hours=12)
MAX_CANDIDATES = 400  # a window this full means a generated or broken feed; keep it bounded
# Cheap gate before the full decision (rapidfuzz, 0-100). Well under the decision's own
# thresholds: it only spares `judge` the obviously different titles.
GATE_SAME_LANGUAGE = 55.0
GATE_CROSS_LANGUAGE = 30.0


_aggregators: tuple[object, dict[str, str]] | None = None


def aggregator_sources() -> dict[str, str]:
    """{source id: the funder name its config gives} for aggregator sources.

    An aggregator is a source whose config says `options: {aggregator: true}` or whose funder
    is written "… (aggregator)". Its items carry the aggregator's name as funder until the
    spider reads the real one, and that name says nothing about who funds the call.
    """
    global _aggregators
    try:
        from config.loader import load_sources

        sources = load_sources()
    except Exception:  # no readable config (a bare test database): no aggregators
        return {}
    if _aggregators is None or _aggregators[0] is not sources:
        found = {
            s.id: s.funder for s in sources.sources
            if s.options.get("aggregator") or "aggregator" in s.funder.lower()
        }  # fmt: skip
        _aggregators = (sources, found)
    return _aggregators[1]


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
    how: str  # "page" | "ref" | "url" | "identifier" | "title"
    reason: str = ""


def _canon(call: Call) -> str:
    return call.extra.get("canonical_url") or call.url


def find_match(session: Session, call: Call) -> Match | None:
    canon = _canon(call)
    sighting = session.scalars(
        select(Sighting).where(Sighting.source == call.source, Sighting.canonical_url == canon)
    ).first()
    if sighting is not None:
        return Match(sighting.call, "page", "this page, seen before")
    row = session.scalars(select(CallRow).where(CallRow.key == call_key(call))).first()
    if row is not None:
        return Match(row, "ref", f"same key {row.key}")
    row = session.scalars(select(CallRow).where(CallRow.canonical_url == canon)).first()
    if row is None:
        sighting = session.scalars(select(Sighting).where(Sighting.canonical_url == canon)).first()
        row = sighting.call if sighting is not None else None
    if row is not None:
        return Match(row, "url", "same page seen by another source")
    idents = set(identifiers(call.title, call.url, upper=False))
    if call.source_ref:
        idents.add(call.source_ref)
    if idents:
        row = session.scalars(
            select(CallRow).where(CallRow.source_ref.in_(sorted(idents))).order_by(CallRow.id)
        ).first()
        if row is not None and not (
            row.source == call.source and row.source_ref != call.source_ref
        ):
            return Match(row, "identifier", f"funder identifier {row.source_ref}")
    return _fuzzy_match(session, call)


# --- fuzzy stage ------------------------------------------------------------------------------

_COLUMNS = (
    CallRow.id, CallRow.source, CallRow.source_ref, CallRow.canonical_url, CallRow.title,
    CallRow.funder, CallRow.language, CallRow.deadlines, CallRow.deadline,
)  # fmt: skip


def candidates(session: Session, call: Call) -> list[dict[str, Any]]:
    """Stored calls that could be `call` by deadline or funder, as plain dicts (not ORM rows:
    loading a few hundred full rows per item would cost more than judging them)."""
    deadlines = list(call.deadlines) or ([call.deadline] if call.deadline else [])
    conds = [
        CallRow.deadline.between(d - CANDIDATE_WINDOW, d + CANDIDATE_WINDOW) for d in deadlines
    ]
    funder = effective_funder(call.source, call.funder)
    if funder:
        if deadlines:
            # a stored call without a deadline can only be matched through its funder
            conds.append(and_(CallRow.deadline.is_(None), CallRow.funder == funder))
        else:
            conds.append(CallRow.funder == funder)
    if not conds:
        return []
    rows = session.execute(
        select(*_COLUMNS).where(or_(*conds)).order_by(CallRow.id.desc()).limit(MAX_CANDIDATES)
    ).all()
    return [row._asdict() for row in rows]


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


def _fuzzy_match(session: Session, call: Call) -> Match | None:
    pool = candidates(session, call)
    if not pool:
        return None
    item = as_record(call)
    item = replace(item, funder=effective_funder(item.source, item.funder))
    best: tuple[float, int, str] | None = None
    for cand in pool:
        if not _gate(item, cand):
            continue
        cand["funder"] = effective_funder(cand["source"], cand["funder"])
        same, reason, strength = judge(item, cand)
        if same and (best is None or strength > best[0]):
            best = (strength, cand["id"], reason)
    if best is None:
        return None
    row = session.get(CallRow, best[1])
    return Match(row, "title", best[2]) if row is not None else None


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
