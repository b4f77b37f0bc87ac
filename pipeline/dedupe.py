"""Find the stored call a new item is the same as.

Order of evidence, strongest first: the same page seen before by this source; the funder's own
identifier; the same canonical URL from any source. (Fuzzy title matching across sources and
languages is added by `pipeline.dedupe_fuzzy` when present.)
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.models import CallRow, Sighting
from pipeline.record import Call


def call_key(call: Call) -> str:
    """Stable identity of a call inside the database."""
    if call.source_ref:
        return f"{call.source}:{call.source_ref}"
    return f"url:{call.extra.get('canonical_url') or call.url}"


@dataclass(frozen=True)
class Match:
    row: CallRow
    how: str  # "page" | "ref" | "url"


def find_match(session: Session, call: Call) -> Match | None:
    canon = call.extra.get("canonical_url") or call.url
    sighting = session.scalars(
        select(Sighting).where(Sighting.source == call.source, Sighting.canonical_url == canon)
    ).first()
    if sighting is not None:
        return Match(sighting.call, "page")
    row = session.scalars(select(CallRow).where(CallRow.key == call_key(call))).first()
    if row is not None:
        return Match(row, "ref")
    sighting = session.scalars(select(Sighting).where(Sighting.canonical_url == canon)).first()
    if sighting is not None:
        return Match(sighting.call, "url")
    return None


class SeenInRun:
    """Drops the second copy of a call within one crawl (the EU legacy index repeats rows)."""

    def __init__(self) -> None:
        self._keys: set[str] = set()

    def first_time(self, call: Call) -> bool:
        keys = {call_key(call), "url:" + (call.extra.get("canonical_url") or call.url)}
        if keys & self._keys:
            return False
        self._keys |= keys
        return True
