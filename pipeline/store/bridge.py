"""Join calls that a new page shows to be one: the result must not depend on crawl order.

Dedupe links an item to *one* stored call. When the French page of a call was stored first and
an aggregator's English copy second, neither names the other (a French title, a date-only
deadline and the aggregator's name as funder) and they stay two calls; the English page then
matches both. Seen in another order, the English page would have joined them. So a page that
joins a call by its title or an identifier is checked against the other stored calls too, with
the same judge (`pipeline.dedupe`), and every call it is also the same as is absorbed: its
sightings, changes and verdicts (and digest bookkeeping) move to the oldest of them, and the
absorbed row's key is kept in `extra["merged_keys"]`. Nothing is lost; only the twin row goes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from fundradar.pipeline.dedupe import _gate, candidates, effective_funder, identifier_rows
from fundradar.pipeline.dedupe.match import as_record, judge
from fundradar.pipeline.models import CallRow, DigestItem
from fundradar.pipeline.partnerships.applications import move_call_links
from fundradar.pipeline.record import Call


def also_matches(session: Session, call: Call, row: CallRow) -> list[CallRow]:
    """Other stored calls `call` is the same as, by identifier or by the dedupe judge."""
    found: set[int] = set()
    found.update(row_id for row_id, _ref in identifier_rows(session, call))
    item = as_record(call)
    item = replace(item, funder=effective_funder(item.source, item.funder))
    for cand in candidates(session, call):
        if cand["id"] == row.id or cand["id"] in found or not _gate(item, cand):
            continue
        cand: dict[str, Any] = dict(cand)
        cand["funder"] = effective_funder(cand["source"], cand["funder"])
        if judge(item, cand)[0]:
            found.add(cand["id"])
    found.discard(row.id)
    rows = [session.get(CallRow, i) for i in sorted(found)]
    return [r for r in rows if r is not None]


def absorb(session: Session, keep: CallRow, gone: CallRow) -> None:
    """Move everything of `gone` onto `keep`, then delete the empty `gone` row."""
    for sighting in list(gone.sightings):
        sighting.call = keep
    for change in list(gone.changes):
        change.call = keep
    for verdict in list(gone.verdicts):
        verdict.call = keep
    session.flush()
    session.execute(update(DigestItem).where(DigestItem.call_id == gone.id).values(call_id=keep.id))
    extra = dict(keep.extra or {})
    merged = [*extra.get("merged_keys", []), gone.key, *(gone.extra or {}).get("merged_keys", [])]
    extra["merged_keys"] = sorted(set(merged))
    keep.extra = extra
    keep.first_seen = min(keep.first_seen, gone.first_seen)
    if not gone.listed or not keep.listed:
        keep.listed = any(s.listed for s in keep.sightings)
    # applications answering the twin, and its organisation links, follow it to the call kept
    move_call_links(session, keep.id, gone.id)
    session.expunge(gone)
    session.execute(delete(CallRow).where(CallRow.id == gone.id))


def join_twins(session: Session, call: Call, row: CallRow) -> CallRow:
    """The row to store `call` on, after absorbing the other calls it shows to be the same."""
    others = also_matches(session, call, row)
    if not others:
        return row
    rows = sorted([row, *others], key=lambda r: (r.first_seen, r.id))
    keep = rows[0]
    for gone in rows[1:]:
        absorb(session, keep, gone)
    session.expire(keep, ["sightings", "changes", "verdicts"])
    return keep
