"""What a source's earlier crawls already stored: listing hashes and the calls behind them.

Thrift rule (SOURCES.md, design rule 6): a detail page already read is not downloaded again
unless its listing entry changed. A spider loads this once per crawl (one query), compares the
hash of each listing entry with the stored `Sighting.listing_hash`, and for an unchanged entry
yields the *stored* call instead of requesting the page. That item is marked
`extra["unchanged_listing"] = True` and carries the stored typed fields (deadlines, status,
budget...), so every pipeline stage treats it as usual: normalise recomputes the status from the
dates (a call whose deadline passed becomes closed without a download), validate counts its field
coverage (the run is neither "empty" nor "degraded" for being thrifty), and store touches
`last_seen`, so the call is not marked unlisted.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fundradar.pipeline.record import Call

log = logging.getLogger(__name__)

# Typed fields copied from the stored row onto the thrifty item (the raw *_text fields stay
# empty: there is nothing new to parse).
CARRIED = (
    "title", "source_ref", "summary", "funder", "programme", "instrument", "language",
    "opens_at", "status", "budget_min", "budget_max", "currency", "budget_scope",
    "cofinancing_rate", "eligibility_text", "eligible_countries", "eligible_applicants", "notes",
    "deadline_kind", "timezone",
)  # fmt: skip


def listing_hash(text: str) -> str:
    """Hash of a listing entry's visible text (whitespace folded, so re-indented HTML is equal)."""
    return hashlib.sha256(re.sub(r"\s+", " ", text).strip().encode("utf-8")).hexdigest()


def canonical(url: str) -> str:
    """The URL as the store keys sightings (`pipeline.normalise.urls.canonical_url`)."""
    try:
        from fundradar.pipeline.normalise.urls import canonical_url
    except ImportError:  # checkout without the URL stage: the store then keys on the raw URL
        return url
    return canonical_url(url)


@dataclass
class KnownCall:
    listing_hash: str | None
    fields: dict[str, Any] = field(default_factory=dict)
    deadlines: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_call(self, source: str, url: str, new_hash: str) -> Call:
        call = Call(source=source, url=url)
        for name, value in self.fields.items():
            setattr(call, name, list(value) if isinstance(value, list) else value)
        call.deadlines = sorted(datetime.fromisoformat(d) for d in self.deadlines)
        call.extra = {**self.extra, "listing_hash": new_hash, "unchanged_listing": True}
        return call


def load_known(source: str) -> dict[str, KnownCall]:
    """canonical URL -> what is stored for this source's sightings. Empty on any DB trouble."""
    from sqlalchemy import select

    from fundradar.pipeline import db
    from fundradar.pipeline.models import CallRow, Sighting

    try:
        with db.session_scope() as session:
            rows = session.execute(
                select(Sighting, CallRow)
                .join(CallRow, Sighting.call_id == CallRow.id)
                .where(Sighting.source == source)
            ).all()
            known: dict[str, KnownCall] = {}
            for sighting, row in rows:
                known[sighting.canonical_url] = KnownCall(
                    listing_hash=sighting.listing_hash,
                    fields={name: getattr(row, name) for name in CARRIED},
                    deadlines=list(row.deadlines or []),
                    extra={k: v for k, v in (row.extra or {}).items() if k != "unchanged_listing"},
                )
            return known
    except Exception as exc:  # the crawl must go on without thrift rather than not at all
        log.warning("%s: cannot read known calls (%s); every detail page will be fetched",
                    source, exc)  # fmt: skip
        return {}
