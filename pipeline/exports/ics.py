"""Deadlines as a calendar (iCalendar, RFC 5545) that officers subscribe to.

One event per open or forthcoming call with a deadline, at the call's next deadline, in Saint
Lucia time (with the VTIMEZONE, so every client shows the same hour), with the funder's link and
a reminder a week before. The UID comes from the call's key (`eu_ft:TOPIC-ID`), not from a
database id, so a subscribed calendar updates an event when a deadline moves instead of adding
a second one, even after the database is rebuilt.

Text goes through the icalendar package, which escapes commas, semicolons and line breaks: a
hostile title cannot start a new property or a new event.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, Timezone
from sqlalchemy.orm import Session

from fundradar import settings
from fundradar.pipeline.exports import clean_text, one_line
from fundradar.pipeline.exports.query import CallFilter, iter_calls
from fundradar.pipeline.models import utcnow
from fundradar.pipeline.normalise.dates import deadline_day, format_deadline
from fundradar.pipeline.normalise.urls import safe_url

REMINDER = timedelta(days=7)
PRODID = "-//OECS Commission DCRM//fundradar deadlines//EN"
CALENDAR_NAME = "fundradar: funding call deadlines"
COLUMNS = (
    "id", "key", "title", "funder", "programme", "deadline", "deadline_kind", "timezone",
    "status", "score", "band", "reasons", "url", "first_seen", "updated_at",
)  # fmt: skip


def uid_for(key: str) -> str:
    """Stable across exports and database rebuilds: a hash of the call's key."""
    return f"call-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:24]}@fundradar"


def default_filter() -> CallFilter:
    return CallFilter(statuses=("open", "forthcoming"), with_deadline=True)


def event_for(row: Any, tz: ZoneInfo, *, now: datetime) -> Event:
    title = one_line(row.title) or "(untitled call)"
    link = clean_text(safe_url(row.url))  # URL: is shown as text by calendar clients
    lines = [title]
    who = " / ".join(one_line(x) for x in (row.funder, row.programme) if x)
    if who:
        lines.append(who)
    kind, zone = getattr(row, "deadline_kind", None), getattr(row, "timezone", None)
    lines.append(f"Deadline: {format_deadline(row.deadline, kind, zone, display_tz=tz.key)}")
    if row.band:
        lines.append(f"Score: {row.score if row.score is not None else '?'} ({row.band})")
    lines += [f"- {one_line(r)}" for r in (row.reasons or ())[:3] if r]
    if link:
        lines.append(link)

    ev = Event()
    ev.add("uid", uid_for(row.key))
    # DTSTAMP must not change between two exports of an unchanged call, or some clients see
    # an update every time: use when the call last changed, not the time of export.
    ev.add("dtstamp", row.updated_at or row.first_seen or now)
    ev.add("summary", f"Deadline: {title}")
    if kind == "date":
        # a date-only deadline is a whole day (RFC 5545 3.6.1: a DATE start with no DTEND is
        # one day): its own date in the funder's zone, not a converted 00:59 the next day
        ev.add("dtstart", deadline_day(row.deadline, kind, zone, display_tz=tz.key))
    else:
        # no DTEND: a deadline is an instant (RFC 5545 3.6.1: the event ends when it starts)
        ev.add("dtstart", row.deadline.astimezone(tz))
    ev.add("description", clean_text("\n".join(lines)))
    if link:
        ev.add("url", link)
    ev.add("status", "CONFIRMED")
    ev.add("transp", "TRANSPARENT")  # a deadline does not make anyone busy
    if row.band:
        ev.add("categories", [f"band {row.band}"])
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", clean_text(f"In 7 days: {title}"))
    alarm.add("trigger", -REMINDER)
    ev.add_component(alarm)
    return ev


def _calendar_head(tz: ZoneInfo, name: str) -> tuple[str, str]:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", tz.key)
    cal.add("refresh-interval", timedelta(hours=12), parameters={"VALUE": "DURATION"})
    cal.add_component(Timezone.from_tzid(tz.key))
    text = cal.to_ical().decode("utf-8")
    end = "END:VCALENDAR\r\n"
    assert text.endswith(end)
    return text[: -len(end)], end


def ics_chunks(
    session: Session, flt: CallFilter | None = None, *, now: datetime | None = None,
    tz: str = settings.DISPLAY_TZ, counter: list[int] | None = None,
) -> Iterator[str]:  # fmt: skip
    """The calendar as text chunks, one event at a time (streamed)."""
    now = now or utcnow()
    zone = ZoneInfo(tz)
    head, tail = _calendar_head(zone, CALENDAR_NAME)
    yield head
    flt = (flt or default_filter()).but(with_deadline=True)
    n = 0
    for row in iter_calls(session, flt, COLUMNS):
        yield event_for(row, zone, now=now).to_ical().decode("utf-8")
        n += 1
    yield tail
    if counter is not None:
        counter.append(n)
