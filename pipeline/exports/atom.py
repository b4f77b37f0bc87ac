"""New relevant calls as an Atom feed (RFC 4287), for a feed reader or a Teams/Slack connector.

"New relevant": band medium or better, first seen in the last 30 days, not closed and not
dismissed by an officer, newest first, at most 200 entries. Entry ids come from the call's key,
so a reader never shows the same call twice; `updated` moves when a tracked field changed.

Built with xml.etree: every title and text goes out as `type="text"` and is escaped by the
serialiser, so `<script>` in a scraped title is shown as text by any reader, never run; links
are http(s) only.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from fundradar import settings
from fundradar.pipeline.exports import clean_text, one_line
from fundradar.pipeline.exports.query import CallFilter, iter_calls
from fundradar.pipeline.models import utcnow
from fundradar.pipeline.normalise.dates import format_deadline
from fundradar.pipeline.normalise.urls import safe_url

ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_TITLE = "fundradar: new relevant funding calls"
FEED_ID = "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, "fundradar:feed:new-relevant-calls"))
WINDOW = timedelta(days=30)
MAX_ENTRIES = 200
COLUMNS = (
    "id", "key", "title", "summary", "funder", "programme", "deadline", "deadline_kind",
    "timezone", "status", "score", "band", "themes", "reasons", "url", "first_seen", "updated_at",
)  # fmt: skip


def entry_id(key: str) -> str:
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"fundradar:call:{key}"))


def default_filter(now: datetime) -> CallFilter:
    return CallFilter(min_band="medium", since=now - WINDOW)


def _iso(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
    if text is not None:
        el.text = clean_text(text)
    return el


def _entry(feed: ET.Element, row: Any, tz: str) -> datetime:
    entry = _sub(feed, "entry")
    _sub(entry, "id", entry_id(row.key))
    _sub(entry, "title", one_line(row.title) or "(untitled call)", type="text")
    updated = row.updated_at or row.first_seen
    _sub(entry, "updated", _iso(updated))
    _sub(entry, "published", _iso(row.first_seen))
    link = clean_text(safe_url(row.url))  # an href is text too: no bidi override in it
    if link:
        _sub(entry, "link", rel="alternate", type="text/html", href=link)
    for theme in row.themes or ():
        if theme:
            _sub(entry, "category", term=one_line(str(theme)))
    lines = []
    who = " / ".join(one_line(x) for x in (row.funder, row.programme) if x)
    if who:
        lines.append(who)
    kind = getattr(row, "deadline_kind", None)
    deadline = format_deadline(row.deadline, kind, getattr(row, "timezone", None), display_tz=tz)
    deadline = deadline or "not stated"
    lines.append(f"Deadline: {deadline} · status: {row.status or 'unknown'}")
    lines.append(f"Score {row.score if row.score is not None else '?'} ({row.band or 'unscored'})")
    lines += [f"- {one_line(r)}" for r in (row.reasons or ())[:3] if r]
    if row.summary:
        lines += ["", one_line(row.summary)[:600]]
    # content (not summary): RFC 4287 wants content or an alternate link; a call whose link
    # was refused as unsafe still makes a valid entry
    _sub(entry, "content", "\n".join(lines), type="text")
    return updated


def atom_document(
    session: Session, flt: CallFilter | None = None, *, now: datetime | None = None,
    self_url: str | None = None, tz: str = settings.DISPLAY_TZ, limit: int = MAX_ENTRIES,
) -> bytes:  # fmt: skip
    """The feed as UTF-8 bytes. Bounded by `limit`, so building it whole is fine."""
    now = now or utcnow()
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    _sub(feed, "id", FEED_ID)
    _sub(feed, "title", FEED_TITLE, type="text")
    updated_el = _sub(feed, "updated")
    author = _sub(feed, "author")
    _sub(author, "name", "fundradar")
    _sub(feed, "generator", "fundradar")
    link = safe_url(self_url) if self_url else None
    if link:
        _sub(feed, "link", rel="self", type="application/atom+xml", href=link)
    latest: datetime | None = None
    rows = iter_calls(session, flt or default_filter(now), COLUMNS, order="newest", limit=limit)
    for row in rows:
        updated = _entry(feed, row, tz)
        latest = updated if latest is None or updated > latest else latest
    # the feed changes when an entry does; an empty feed is as new as now
    updated_el.text = _iso(latest or now)
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
