"""A deadline is shown as it was given, in the digest, on the review page and in the CSV:
a date only as that date in the funder's zone (never a converted clock time), a clock time in
Saint Lucia time, a rolling call and a call without a readable deadline in words.

Calls are stored straight into a real SQLite database (values made up for the test —
reconstructed, not captures) and read back through the real composer, renderer, Flask app and
CSV writer.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from fundradar.alerts.compose import compose
from fundradar.alerts.render import render_html, render_text
from fundradar.pipeline import db
from fundradar.pipeline.exports.csv_feed import COLUMNS, write_csv
from fundradar.web import create_app
from tests.digest_support import add_call, recipients_config

UTC = dt.UTC
MON = dt.datetime(2026, 11, 23, 11, 0, tzinfo=UTC)  # Monday 07:00 in Saint Lucia
# 15 January 2027 given as a date by a New York funder: 23:59:59 EST = 04:59:59 UTC on the
# 16th, which is 00:59 on the 16th in Saint Lucia: shown converted, it would be a day late.
NY_DAY = dt.datetime(2027, 1, 16, 4, 59, 59, tzinfo=UTC)
TIMED = dt.datetime(2026, 12, 15, 16, 0, tzinfo=UTC)  # 12:00 in Saint Lucia


def _calls() -> dict[str, int]:
    return {
        "date": add_call(title="Coastal grants (date only)", deadline=NY_DAY,
                         deadline_kind="date", timezone="America/New_York"),
        "timed": add_call(title="Energy facility (with a time)", deadline=TIMED,
                          deadline_kind="datetime", timezone="Europe/Paris"),
        "rolling": add_call(title="Small grants (rolling)", deadline=None,
                            deadline_kind="rolling", timezone="Europe/Paris"),
        "missing": add_call(title="Ocean call (no readable deadline)", deadline=None,
                            deadline_kind="not_found", timezone="Europe/Paris"),
    }  # fmt: skip


def _digest(lang: str) -> tuple[str, str]:
    config = recipients_config([{"email": "officer@oecs.example", "language": lang}])
    with db.session_scope() as s:
        model = compose(s, config.recipients[0], config, now=MON, sources=[("eu_ft", "EC")])
    return render_text(model), render_html(model)


def _line_after(text: str, title: str) -> str:
    """The deadline line of a call's block in the text part: the one after its title
    ("   funder · deadline (days left)")."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if title in line)
    return lines[at + 1]


def test_digest_shows_each_kind_as_given() -> None:
    _calls()
    text, html = _digest("en")
    date_line = _line_after(text, "Coastal grants")
    assert "Fri 15 Jan 2027 (end of day, New York time)" in date_line
    assert "AST" not in date_line and "16 Jan" not in date_line
    assert "Tue 15 Dec 2026, 12:00 AST" in _line_after(text, "Energy facility")
    rolling = _line_after(text, "Small grants")
    assert rolling.strip().endswith("Rolling (no fixed deadline)")  # no empty "()"
    assert _line_after(text, "Ocean call").strip().endswith("Deadline not found — check the page")
    for shown in ("Fri 15 Jan 2027 (end of day, New York time)", "Rolling (no fixed deadline)",
                  "Deadline not found — check the page"):  # fmt: skip
        assert shown in html
    assert "()" not in text and "()</span>" not in html


def test_french_digest_says_it_in_french() -> None:
    _calls()
    text, _html = _digest("fr")
    assert "ven. 15 janv. 2027 (fin de journée, heure de New York)" in text
    assert "En continu (pas de date limite fixe)" in text
    assert "Date limite introuvable — voir la page de l'appel" in text


def test_review_page_shows_the_date_as_given() -> None:
    _calls()
    client = create_app(clock=lambda: MON).test_client()
    html = client.get("/").get_data(as_text=True)
    assert "Fri 15 Jan 2027 (end of day, New York time)" in html
    assert "(53 days left)" in html and "54 days" not in html  # its own date, as the digest
    assert "Tue 15 Dec 2026, 12:00 AST" in html
    assert "Rolling (no fixed deadline)" in html
    assert "Deadline not found — check the page" in html


def test_csv_cells_by_kind_and_columns_unchanged() -> None:
    ids = _calls()
    buf = io.StringIO(newline="")
    with db.session_scope() as s:
        write_csv(buf, s, now=MON)
    text = buf.getvalue()[1:]
    assert next(csv.reader(io.StringIO(text))) == list(COLUMNS)
    rows = {r["title"]: r for r in csv.DictReader(io.StringIO(text))}
    assert len(rows) == len(ids)
    dated = rows["Coastal grants (date only)"]
    assert (dated["deadline"], dated["days_left"]) == ("2027-01-15", "53")
    timed = rows["Energy facility (with a time)"]
    assert (timed["deadline"], timed["days_left"]) == ("2026-12-15T12:00-04:00", "22")
    rolling = rows["Small grants (rolling)"]
    assert (rolling["deadline"], rolling["days_left"]) == ("rolling", "")
    missing = rows["Ocean call (no readable deadline)"]
    assert (missing["deadline"], missing["days_left"]) == ("not found — check the page", "")


def test_days_left_count_to_the_funders_own_date() -> None:
    """15 Jan in New York is 53 days from Monday 23 Nov in Saint Lucia, not 54 (its converted
    instant falls on the 16th in Saint Lucia)."""
    _calls()
    text, _html = _digest("en")
    at = text.index("Coastal grants")
    assert "53 days left" in text[at : at + 400] and "54 days" not in text[at : at + 400]


def test_calendar_has_a_whole_day_for_a_date_only_deadline() -> None:
    from icalendar import Calendar

    from fundradar.pipeline.exports.ics import ics_chunks

    _calls()
    with db.session_scope() as s:
        cal = Calendar.from_ical("".join(ics_chunks(s, now=MON)))
    events = {str(e["summary"]): e for e in cal.walk("VEVENT")}
    dated = events["Deadline: Coastal grants (date only)"]
    assert dated["dtstart"].dt == dt.date(2027, 1, 15)  # a DATE value: an all-day event
    assert "end of day, New York time" in str(dated["description"])
    timed = events["Deadline: Energy facility (with a time)"]
    assert timed["dtstart"].dt == TIMED  # an instant, as before


def test_atom_entries_show_the_deadline_as_given() -> None:
    from fundradar.pipeline.exports.atom import atom_document
    from fundradar.pipeline.exports.query import CallFilter

    _calls()
    with db.session_scope() as s:
        xml = atom_document(s, CallFilter(), now=MON).decode("utf-8")
    assert "Fri 15 Jan 2027 (end of day, New York time)" in xml
    assert "Rolling (no fixed deadline)" in xml
