"""The deadlines calendar: parsed back with the icalendar package."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar

from fundradar.pipeline.exports.ics import default_filter, ics_chunks, uid_for
from fundradar.pipeline.models import Verdict
from tests.pipeline.exports.exports_factory import NOW, add_call, add_hostile

AST = ZoneInfo("America/St_Lucia")


def export(session, flt=None) -> bytes:  # type: ignore[no-untyped-def]
    return "".join(ics_chunks(session, flt, now=NOW)).encode("utf-8")


def events(data: bytes) -> list:  # type: ignore[type-arg]
    return list(Calendar.from_ical(data).walk("VEVENT"))


def test_one_event_per_open_call_with_a_deadline(session) -> None:  # type: ignore[no-untyped-def]
    add_call(session, 1, title="open one")
    add_call(session, 2, title="forthcoming one", status="forthcoming")
    add_call(session, 3, title="no deadline", deadline=None)
    add_call(session, 4, title="closed", status="closed", deadline=NOW - timedelta(days=1))
    add_call(session, 5, title="unknown status", status=None)
    cal = Calendar.from_ical(export(session))
    assert cal["VERSION"] == "2.0"
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["America/St_Lucia"]
    assert sorted(str(e["SUMMARY"]) for e in cal.walk("VEVENT")) == [
        "Deadline: forthcoming one",
        "Deadline: open one",
    ]


def test_event_in_saint_lucia_time_with_link_and_reminder(session) -> None:  # type: ignore[no-untyped-def]
    deadline = NOW.replace(month=12, day=15, hour=16)  # 12:00 in Castries
    add_call(session, 1, deadline=deadline, funder="AFD", programme="FISONG")
    (ev,) = events(export(session))
    start = ev.decoded("DTSTART")
    assert start == deadline
    assert start.utcoffset() == timedelta(hours=-4)
    assert (start.hour, start.minute) == (12, 0)
    assert ev["DTSTART"].params["TZID"] == "America/St_Lucia"
    assert str(ev["URL"]) == "https://ec.europa.eu/info/funding-tenders/topic/1"
    assert "AFD / FISONG" in str(ev["DESCRIPTION"])
    assert "Tue 15 Dec 2026, 12:00" in str(ev["DESCRIPTION"])
    (alarm,) = ev.walk("VALARM")
    assert alarm["ACTION"] == "DISPLAY"
    assert alarm.decoded("TRIGGER") == -timedelta(days=7)


def test_uids_are_stable_across_exports_and_follow_a_moved_deadline(session) -> None:  # type: ignore[no-untyped-def]
    row = add_call(session, 1)
    add_call(session, 2)
    first = {str(e["UID"]): e.decoded("DTSTART") for e in events(export(session))}
    second = {str(e["UID"]): e.decoded("DTSTART") for e in events(export(session))}
    assert first == second and len(first) == 2
    assert uid_for("eu_ft:TOPIC-0001") in first
    assert export(session) == export(session)  # byte-identical: nothing varies per export

    row.deadline = row.deadline + timedelta(days=14)  # the funder extends the deadline
    session.flush()
    third = {str(e["UID"]): e.decoded("DTSTART") for e in events(export(session))}
    assert set(third) == set(first)  # same event, updated, not duplicated
    assert third[uid_for(row.key)] == first[uid_for(row.key)] + timedelta(days=14)


def test_dismissed_calls_leave_the_calendar(session) -> None:  # type: ignore[no-untyped-def]
    a = add_call(session, 1)
    add_call(session, 2)
    session.add(Verdict(call_id=a.id, verdict="not-relevant", reason="x", author="t"))
    session.flush()
    assert [str(e["UID"]) for e in events(export(session))] == [uid_for("eu_ft:TOPIC-0002")]


def test_hostile_call_is_neutralised(session) -> None:  # type: ignore[no-untyped-def]
    add_hostile(session)
    add_call(session, 1)
    data = export(session)
    cal = Calendar.from_ical(data)
    evs = list(cal.walk("VEVENT"))
    # the CRLF + "BEGIN:VEVENT" in the summary did not start a second event
    assert len(evs) == 2
    assert data.count(b"\r\nBEGIN:VEVENT\r\n") == 2
    assert "injected" not in {str(e["UID"]) for e in evs}
    hostile = next(e for e in evs if "HYPERLINK" in str(e["SUMMARY"]))
    assert "URL" not in hostile  # javascript: link dropped
    assert b"javascript:" not in data
    assert "<script>" in str(hostile["SUMMARY"])  # kept as inert text, escaped by iCalendar
    assert "\x00" not in str(hostile["DESCRIPTION"]) and "\x07" not in str(hostile["DESCRIPTION"])
    for line in data.split(b"\r\n"):
        assert len(line) <= 75  # folded per RFC 5545


def test_default_filter_is_open_and_forthcoming() -> None:
    flt = default_filter()
    assert set(flt.statuses) == {"open", "forthcoming"} and flt.with_deadline
