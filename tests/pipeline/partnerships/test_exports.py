"""The partnerships workbook (opened with openpyxl: sheets, cell types, formats, frozen
headers) and the applications and partners CSVs, against hostile text."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from fundradar.pipeline.exports.partnerships import (
    APPLICATION_COLUMNS,
    CALL_COLUMNS,
    PARTNER_COLUMNS,
    applications_csv,
    partners_csv,
)
from fundradar.pipeline.exports.workbook import DATE_FORMAT, MONEY_FORMAT, SHEETS, write_workbook
from fundradar.pipeline.models import CallRow
from fundradar.pipeline.partnerships import applications as apps
from fundradar.pipeline.partnerships import organisations as orgs
from fundradar.pipeline.review import record_verdict
from tests.pipeline.exports.exports_factory import HOSTILE, NOW, add_call, add_hostile

openpyxl = pytest.importorskip("openpyxl", reason="openpyxl is a dependency (pyproject)")


@pytest.fixture
def stored(session):  # type: ignore[no-untyped-def]
    deadline = datetime(2027, 1, 15, 3, 0, tzinfo=UTC)  # 14 January in Saint Lucia
    call = add_call(
        session,
        1,
        deadline=deadline,
        deadline_kind="datetime",
        budget_max=250000.0,
        currency="EUR",
        first_seen=NOW - timedelta(days=2),
    )
    add_call(session, 2, band="low", first_seen=NOW - timedelta(days=1))  # not relevant
    judged = add_call(session, 4, band="low", first_seen=NOW - timedelta(days=1))
    record_verdict(session, judged, "relevant", author="jean")  # relevant by an officer's word
    dismissed = add_call(session, 5, band="high", first_seen=NOW - timedelta(days=1))
    record_verdict(session, dismissed, "not-relevant", reason="EU members only", author="jean")
    add_call(session, 3, first_seen=NOW - timedelta(days=20))  # not this week
    hostile = add_hostile(session, first_seen=NOW - timedelta(days=1))
    for row in (call, hostile):
        record_verdict(session, row, "shortlist", author="marie")
    app = apps.create_from_call(session, call.id, author="marie", owner="Marie", now=NOW)
    bad = apps.create_from_call(session, hostile.id, author="marie", now=NOW)
    apps.update(session, app.id, author="marie", amount_requested="50000", currency="EUR")
    apps.update(session, bad.id, author="marie", notes="=1+1\x00 and \x07 bell")
    lead = orgs.find_or_create(session, "Université des Antilles", kind="university_research")
    partner = orgs.find_or_create(session, "@SUM(1+1) Consulting", kind="private")
    partner.website = "javascript:alert(1)"
    apps.add_partner(session, app.id, lead.id, role="lead", author="marie")
    apps.add_partner(session, app.id, partner.id, author="marie")
    for stage in ("preparing", "submitted", "awarded"):
        apps.move(session, app.id, stage, author="marie")
    apps.update(session, app.id, author="marie", amount_awarded="42500.50")
    session.commit()
    return app, bad, call, hostile


def test_workbook_opens_with_sheets_types_and_formats(session, stored, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app, bad, call, hostile = stored
    path = tmp_path / "out" / "partnerships.xlsx"
    counts = write_workbook(session, path, now=NOW)
    assert counts == {"Applications": 2, "Partners": 4, "Relevant calls": 3}
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == list(SHEETS)
    from openpyxl.utils import get_column_letter

    for ws, columns in zip(
        wb.worksheets, (APPLICATION_COLUMNS, PARTNER_COLUMNS, CALL_COLUMNS), strict=True
    ):
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref == f"A1:{get_column_letter(len(columns))}{ws.max_row}"
        assert [c.value for c in ws[1]] == [c.name for c in columns]
        assert all(c.font.bold for c in ws[1])
        widths = [
            ws.column_dimensions[get_column_letter(i)].width for i in range(1, len(columns) + 1)
        ]
        assert widths == [c.width for c in columns]
    ws = wb["Applications"]
    header = [c.value for c in ws[1]]
    rows = {r[0].value: dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=2)}
    mine = rows[app.id]
    assert mine["stage"].value == "awarded" and mine["owner"].value == "Marie"
    assert mine["funder deadline"].is_date and mine["funder deadline"].value.date() == date(
        2027, 1, 14
    )
    assert mine["funder deadline"].number_format == DATE_FORMAT
    assert mine["internal deadline"].value.date() == date(2027, 1, 4)
    assert mine["amount requested"].data_type == "n"
    assert mine["amount requested"].value == 50000 and mine["amount awarded"].value == 42500.5
    assert mine["amount requested"].number_format == f'{MONEY_FORMAT} "EUR"'
    assert mine["currency"].value == "EUR"
    assert mine["lead"].value == "Université des Antilles"
    assert mine["partners"].value == "@SUM(1+1) Consulting"
    assert mine["partners"].data_type == "s" and mine["partners"].quotePrefix  # not a formula
    evil = rows[bad.id]
    assert evil["title"].data_type == "s" and evil["title"].quotePrefix
    assert evil["title"].value.startswith("=HYPERLINK(")
    assert evil["notes"].value == "=1+1 and  bell"  # NUL and BEL gone
    assert evil["funder"].value == HOSTILE["funder"] and evil["funder"].quotePrefix
    ws = wb["Partners"]
    header = [c.value for c in ws[1]]
    parts = {r[1].value: dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=2)}
    assert parts["@SUM(1+1) Consulting"]["website"].value is None  # not an http(s) link
    assert parts["@SUM(1+1) Consulting"]["applications"].value == 1
    assert parts["Université des Antilles"]["kind"].value == "university_research"
    assert parts["European Commission"]["calls"].value == 1  # seeded as the funder
    ws = wb["Relevant calls"]
    header = [c.value for c in ws[1]]
    calls = {r[0].value: dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=2)}
    judged = session.scalars(select(CallRow).where(CallRow.key == "eu_ft:TOPIC-0004")).one()
    assert set(calls) == {call.id, hostile.id, judged.id}
    assert calls[judged.id]["verdict"].value == "relevant"
    assert calls[judged.id]["band"].value == "low"
    assert calls[call.id]["deadline"].is_date and calls[call.id]["deadline"].value.date() == date(
        2027, 1, 14
    )
    assert (
        calls[call.id]["budget max"].number_format == f'{MONEY_FORMAT} "EUR"'
        and calls[call.id]["budget max"].value == 250000
        and calls[call.id]["verdict"].value == "shortlist"
    )
    assert calls[call.id]["url"].hyperlink.target == call.url
    assert calls[hostile.id]["url"].value is None  # javascript: dropped


def test_workbook_of_an_empty_database(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "empty.xlsx"
    assert write_workbook(session, path, now=NOW) == dict.fromkeys(SHEETS, 0)
    wb = openpyxl.load_workbook(path)
    assert [ws.max_row for ws in wb.worksheets] == [1, 1, 1]


def test_csvs_are_typed_text_and_safe(session, stored) -> None:  # type: ignore[no-untyped-def]
    app, bad, _call, _hostile = stored
    counter: list[int] = []
    text = "".join(applications_csv(session, now=NOW, counter=counter))
    assert text.startswith("\ufeffid,title,stage") and counter == [2]
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))}
    mine = rows[str(app.id)]
    assert mine["amount requested"] == "50000.00" and mine["amount awarded"] == "42500.50"
    assert mine["funder deadline"] == "2027-01-14" and mine["internal deadline"] == "2027-01-04"
    assert mine["partners"] == "'@SUM(1+1) Consulting"
    assert rows[str(bad.id)]["title"].startswith("'=HYPERLINK(")
    assert rows[str(bad.id)]["notes"] == "'=1+1 and  bell"
    assert "\x00" not in text and "\x07" not in text
    text = "".join(partners_csv(session))
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))}
    assert rows["'@SUM(1+1) Consulting"]["website"] == ""
    assert Decimal(rows["Université des Antilles"]["applications"]) == 1
