"""The Atom feed of new relevant calls: parsed back with feedparser."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import feedparser

from fundradar.pipeline.exports.atom import atom_document, entry_id
from fundradar.pipeline.models import Verdict
from tests.pipeline.exports.exports_factory import NOW, add_call, add_hostile


def parse(session, **kw):  # type: ignore[no-untyped-def]
    data = atom_document(session, now=NOW, **kw)
    feed = feedparser.parse(data)
    assert not feed.bozo, feed.get("bozo_exception")
    return data, feed


def test_new_relevant_calls_newest_first(session) -> None:  # type: ignore[no-untyped-def]
    add_call(session, 1, title="older high", first_seen=NOW - timedelta(days=5))
    add_call(session, 2, title="newer medium", band="medium", first_seen=NOW - timedelta(days=1))
    add_call(session, 3, title="low band", band="low")
    add_call(session, 4, title="seen 40 days ago", first_seen=NOW - timedelta(days=40))
    add_call(session, 5, title="closed", status="closed")
    dismissed = add_call(session, 6, title="dismissed")
    session.add(Verdict(call_id=dismissed.id, verdict="not-relevant", reason="no", author="t"))
    session.flush()
    _, feed = parse(session, self_url="http://127.0.0.1:8000/calls.atom")
    assert feed.version == "atom10"
    assert feed.feed.title == "fundradar: new relevant funding calls"
    assert [e.title for e in feed.entries] == ["newer medium", "older high"]
    first = feed.entries[0]
    assert first.link == "https://ec.europa.eu/info/funding-tenders/topic/2"
    assert first.id == entry_id("eu_ft:TOPIC-0002")
    assert "Deadline: " in first.content[0].value
    assert [t.term for t in first.tags] == ["climate_resilience"]
    assert feed.feed.links[0].href == "http://127.0.0.1:8000/calls.atom"


def test_ids_stable_and_updated_follows_changes(session) -> None:  # type: ignore[no-untyped-def]
    row = add_call(session, 1)
    _, a = parse(session)
    _, b = parse(session)
    assert [e.id for e in a.entries] == [e.id for e in b.entries]
    assert a.entries[0].updated_parsed == b.entries[0].updated_parsed
    row.updated_at = NOW
    session.flush()
    _, c = parse(session)
    assert c.entries[0].id == a.entries[0].id
    assert c.entries[0].updated_parsed > a.entries[0].updated_parsed
    assert c.feed.updated_parsed == c.entries[0].updated_parsed


def test_hostile_call_is_neutralised(session) -> None:  # type: ignore[no-untyped-def]
    add_hostile(session)
    data, feed = parse(session)
    ET.fromstring(data)  # well-formed: the NUL and BEL were removed
    assert b"<script>" not in data  # escaped by the serialiser
    assert b"&lt;script&gt;" in data
    assert b"javascript:" not in data
    (entry,) = feed.entries
    assert entry.title.startswith("=HYPERLINK(")
    assert "links" not in entry or all(link.href.startswith("http") for link in entry.links)
    assert entry.content[0].type == "text/plain"


def test_empty_feed_is_valid(session) -> None:  # type: ignore[no-untyped-def]
    _, feed = parse(session)
    assert feed.entries == []
    assert feed.feed.updated_parsed[:3] == (2026, 11, 27)
