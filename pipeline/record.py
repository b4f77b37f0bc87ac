"""The call record: one typed item that flows from a spider to the database.

Spiders fill the *raw* fields (text as the funder wrote it); the pipeline's normalise stage
turns them into the *typed* fields; dedupe adds bookkeeping; the scorer adds the score. One
dataclass for every stage keeps one source of truth for field names: the CSV, the digest, the
database model and `fundradar import` all read these names.

Scrapy accepts dataclass instances as items (via itemadapter), so spiders yield `Call(...)`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

STATUSES = ("forthcoming", "open", "closed")
BANDS = ("high", "medium", "low", "none")


@dataclass
class Call:
    # --- identity (spider) ---
    source: str
    url: str
    title: str | None = None
    source_ref: str | None = None  # the funder's own id: topic id, call number

    # --- text (spider raw, cleaned by normalise) ---
    summary: str | None = None  # may arrive as HTML; normalise makes it clean text
    funder: str | None = None
    programme: str | None = None
    instrument: str | None = None
    language: str | None = None  # ISO 639-1; detected when the spider does not know

    # --- raw values as written on the page; normalise parses them ---
    opens_text: str | None = None  # "Date d'ouverture : 12 décembre 2024"
    deadline_texts: list[str] = field(default_factory=list)  # one per stage
    period_text: str | None = None  # "du 12 décembre 2024 au 31 mars 2025"
    published_text: str | None = None  # publication date; anchors dates without a year
    status_text: str | None = None  # "Clôturé", "Open", a code the spider mapped
    budget_text: str | None = None  # "enveloppe de 2,5 M€", "up to USD 100,000"
    eligibility_text: str | None = None  # who and where may apply, as written

    # --- typed values (normalise) ---
    opens_at: datetime | None = None  # timezone-aware UTC
    deadlines: list[datetime] = field(default_factory=list)  # aware UTC, sorted
    deadline: datetime | None = None  # the next deadline still ahead, else the last one
    # how the deadline was given, so it is shown as written and never silently missing:
    #   "datetime"  a clock time was written ("18 heures", "17:00 CET")
    #   "date"      a date only: kept as the end of that day in the funder's zone, shown as a date
    #   "rolling"   no fixed date (rolling basis, open until filled, en continu, sin fecha límite)
    #   "not_found" no deadline could be read: "deadline not found — check the page"
    #   None        not decided yet (before normalise)
    deadline_kind: str | None = None
    timezone: str | None = None  # IANA zone the funder's dates were read in ("America/New_York")
    status: str | None = None  # forthcoming | open | closed
    budget_min: float | None = None
    budget_max: float | None = None
    currency: str | None = None  # ISO 4217
    budget_scope: str | None = None  # "per_project" | "total" | None when the text is silent
    cofinancing_rate: float | None = None  # "jusqu'à 70 %" -> 70.0 (a rate, never an amount)
    eligible_countries: list[str] = field(default_factory=list)
    eligible_applicants: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # "deadline year inferred", parse warnings

    # --- bookkeeping (dedupe / store) ---
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    content_hash: str | None = None

    # --- scorer ---
    score: int | None = None
    band: str | None = None
    eligible: bool | None = None
    themes: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    # --- anything source-specific a later stage may want (never shown to users) ---
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    def budget_display(self) -> str:
        """'EUR 2,500,000', 'USD 150,000 – 500,000', or '' when unknown."""
        lo, hi = self.budget_min, self.budget_max
        if lo is None and hi is None:
            return ""
        cur = self.currency or ""

        def fmt(v: float) -> str:
            return f"{v:,.0f}"

        if lo is not None and hi is not None and lo != hi:
            text = f"{cur} {fmt(lo)} – {fmt(hi)}"
        else:
            text = f"{cur} {fmt(hi if hi is not None else lo)}"  # type: ignore[arg-type]
        if self.budget_scope == "total":
            text += " (total)"
        elif self.budget_scope == "per_project":
            text += " per project"
        return text.strip()
