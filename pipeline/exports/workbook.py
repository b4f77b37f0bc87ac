"""The Excel workbook for a partnership meeting (`fundradar export xlsx`).

Three sheets, Applications, Partners and "Relevant calls" (this week's), from the same rows as
the CSVs (`pipeline.exports.partnerships`). Written with openpyxl so that what people open is a
spreadsheet, not text to convert: dates are date cells with a date format (sortable,
filterable by month), amounts are numbers with a thousands format showing their currency
('50,000.00 EUR', still summable) and the currency in a column beside them, headers are
frozen and filtered, columns have widths, long text wraps.

Text is hostile here as in the CSV: controls and NUL bytes (illegal in XML, openpyxl refuses
them) are removed with the exports' `clean_text`, and a text that a spreadsheet would read as a
formula (`=HYPERLINK(...)`, `+cmd|...`: `csv_feed.neutralise` decides) is stored as a string
cell with Excel's quote prefix, never as a formula; links only when they are http(s). The file
is written atomically (a temporary file renamed), like every export.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from fundradar.exceptions import ExportError
from fundradar.pipeline.exports import clean_text
from fundradar.pipeline.exports.csv_feed import neutralise
from fundradar.pipeline.exports.files import atomic_bytes
from fundradar.pipeline.exports.partnerships import (
    APPLICATION_COLUMNS,
    CALL_COLUMNS,
    PARTNER_COLUMNS,
    Column,
    application_rows,
    partner_rows,
    relevant_call_rows,
)
from fundradar.pipeline.models import utcnow

SHEETS = ("Applications", "Partners", "Relevant calls")
DATE_FORMAT = "yyyy-mm-dd"
MONEY_FORMAT = "#,##0.00"
MAX_CELL = 32767  # Excel's limit on the characters of a cell


def money_format(currency: str | None) -> str:
    """'#,##0.00 "EUR"': the amount with its currency shown in the cell, still a number.
    Only a three-letter code goes into the format (the calls' currency is scraped text)."""
    code = (currency or "").strip().upper()
    if len(code) == 3 and code.isascii() and code.isalpha():
        return f'{MONEY_FORMAT} "{code}"'
    return MONEY_FORMAT


def safe_text(value: str) -> tuple[str, bool]:
    """(text fit for a cell, whether it would read as a formula): controls removed, cut to
    Excel's limit."""
    text = clean_text(value)
    if len(text) > MAX_CELL:
        text = text[: MAX_CELL - 1] + "…"
    return text, neutralise(text) != text


def _write_sheet(ws: Any, columns: Sequence[Column], rows: Iterator[list[Any]]) -> int:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDE6F0")
    wrap = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")
    ws.append([c.name for c in columns])
    for cell in ws[1]:
        cell.font, cell.fill = bold, fill
    names = [c.name for c in columns]
    at_currency = names.index("currency") if "currency" in names else None
    n = 0
    for n, row in enumerate(rows, start=1):
        r = n + 1
        code = row[at_currency] if at_currency is not None else None
        for i, (col, value) in enumerate(zip(columns, row, strict=True), start=1):
            cell = ws.cell(row=r, column=i)
            _set(cell, col, value)
            if col.kind == "money" and isinstance(value, Decimal):
                cell.number_format = money_format(code)
            cell.alignment = wrap if col.kind == "long" else top
    for i, col in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = col.width
    ws.freeze_panes = "A2"  # the header row stays in view
    last = get_column_letter(len(columns))
    ws.auto_filter.ref = f"A1:{last}{max(n + 1, 1)}"
    return n


def _set(cell: Any, col: Column, value: Any) -> None:
    if value is None or value == "":
        return
    if isinstance(value, datetime):  # never reached: the rows hold dates; kept as dates
        value = value.date()
    if isinstance(value, date):
        cell.value = value
        cell.number_format = DATE_FORMAT
    elif isinstance(value, Decimal):
        cell.value = value
        cell.number_format = MONEY_FORMAT
    elif isinstance(value, bool):
        cell.value = "yes" if value else "no"
    elif isinstance(value, int | float):
        cell.value = value
        cell.number_format = "0"
    else:
        text, formula_like = safe_text(str(value))
        cell.value = text
        if formula_like:
            cell.data_type = "s"  # openpyxl would store "=..." as a formula
            cell.quotePrefix = True  # Excel keeps it text even when the cell is edited
        elif col.kind == "url" and text.startswith(("http://", "https://")):
            cell.hyperlink = text
            cell.style = "Hyperlink"


def build_workbook(session: Session, *, now: datetime | None = None) -> Any:
    """The workbook (openpyxl.Workbook) and, in `wb.fundradar_counts`, rows per sheet."""
    try:
        from openpyxl import Workbook
    except ImportError:  # an install older than the dependency: say so, not a traceback
        raise ExportError(
            "the workbook needs openpyxl, a fundradar dependency: pip install 'openpyxl>=3.1'"
        ) from None

    now = now or utcnow()
    wb = Workbook()
    counts = {}
    sheets = (
        ("Applications", APPLICATION_COLUMNS, application_rows(session, now=now)),
        ("Partners", PARTNER_COLUMNS, partner_rows(session)),
        ("Relevant calls", CALL_COLUMNS, relevant_call_rows(session, now=now)),
    )
    first = True
    for title, columns, rows in sheets:
        ws = wb.active if first else wb.create_sheet()
        first = False
        ws.title = title
        counts[title] = _write_sheet(ws, columns, rows)
    wb.properties.creator = "fundradar"
    wb.properties.created = now.replace(tzinfo=None)
    wb.fundradar_counts = counts
    return wb


def workbook_bytes(
    session: Session, *, now: datetime | None = None
) -> tuple[bytes, dict[str, int]]:
    """The .xlsx file's bytes and the rows per sheet (for a web download)."""
    wb = build_workbook(session, now=now)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), wb.fundradar_counts


def write_workbook(session: Session, path: Path, *, now: datetime | None = None) -> dict[str, int]:
    """Write the workbook to `path` atomically; returns the rows per sheet. ExportError when
    the file cannot be written (the previous one stays)."""
    data, counts = workbook_bytes(session, now=now)
    atomic_bytes(path, data)
    return counts
