"""Verdicts typed into the CSV feed's verdict column, read back (`fundradar review --from-csv`).

An officer opens calls.csv in Excel, types "relevant", "not relevant: <reason>" or "shortlist"
in the verdict column and saves. What Excel saves depends on the machine and the menu chosen:
UTF-8 with a byte-order mark ("CSV UTF-8"), UTF-8 without one (other tools), or the Windows
code page cp1252 ("CSV (Comma delimited)"); a comma between cells, or a semicolon where the
comma is the decimal mark (French Excel). All are read: the encoding from the byte-order mark,
else UTF-8 when the bytes are UTF-8, else cp1252; the delimiter from the header row (the one
that gives both an `id` and a `verdict` column, so no guessing from the data).

Each row is applied or refused on its own, with its reason, and the applied ones are kept
(never all-or-nothing: a typo in row 40 must not lose 39 verdicts). A row whose verdict is
what the call's latest verdict already says is "unchanged", not recorded twice: a re-imported
file, or one exported after some verdicts were given, is harmless.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from fundradar.exceptions import InputError, VerdictError
from fundradar.pipeline.exports.csv_feed import unneutralise
from fundradar.pipeline.models import CallRow
from fundradar.pipeline.review import (
    WORDS_HELP,
    latest_verdicts,
    parse_verdict_words,
    record_verdict,
    same_verdict,
)

DELIMITERS = (",", ";", "\t")  # Excel: comma; French (and other comma-decimal) Excel: semicolon
_WHOLE_NUMBER = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class RowOutcome:
    """What happened to one row: "applied", "unchanged" or "refused", and what or why."""

    row: int  # the spreadsheet's row number: the header is row 1
    call_id: int | None  # the call's id when the row names a call that exists
    status: str
    detail: str

    def line(self) -> str:
        where = f"row {self.row}" + (f" (id {self.call_id})" if self.call_id is not None else "")
        if self.status == "refused":
            return f"{where}: refused — {self.detail}"
        return f"{where}: {self.status} {self.detail}"


def decode(data: bytes, name: str = "the file") -> str:
    """The text of a CSV as Excel saves it (see the module note); InputError when it is none
    of those encodings."""
    if data.startswith(b"\xef\xbb\xbf"):
        encodings: tuple[str, ...] = ("utf-8-sig",)
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode Text" (tab-separated)
        encodings = ("utf-16",)
    else:
        encodings = ("utf-8", "cp1252")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(
        f"{name} is not UTF-8 or Windows-1252 text; save it from Excel as "
        '"CSV UTF-8 (Comma delimited)"'
    )


def read_rows(text: str, name: str = "the file") -> Iterator[tuple[int, str, str]]:
    """(row number, id cell, verdict cell) for each data row, the neutralising apostrophe the
    feed adds taken off again. InputError when the header has no id and verdict columns."""
    for delimiter in DELIMITERS:
        header = next(csv.reader(io.StringIO(text), delimiter=delimiter), None)
        names = [h.strip().lstrip("\ufeff").lower() for h in header or ()]
        if "id" in names and "verdict" in names:
            break
    else:
        raise InputError(
            f"{name} has no 'id' and 'verdict' columns in its first row; start from a CSV "
            "written by `fundradar export csv` (or /calls.csv) and keep its header row"
        )
    at_id, at_verdict = names.index("id"), names.index("verdict")
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    next(reader)
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue  # a blank line Excel left at the end

        def cell(at: int, cells: list[str] = cells) -> str:
            return unneutralise(cells[at]).strip() if at < len(cells) else ""

        yield number, cell(at_id), cell(at_verdict)


def apply_row(
    session: Session, number: int, id_cell: str, verdict_cell: str, *, author: str,
    now: datetime | None = None,
) -> RowOutcome | None:  # fmt: skip
    """Apply one row's verdict (flushes; the caller commits); None for an empty verdict cell."""
    if not verdict_cell:
        return None
    if not id_cell:
        return RowOutcome(number, None, "refused", "the id cell is empty")
    if not _WHOLE_NUMBER.fullmatch(id_cell):
        return RowOutcome(number, None, "refused", f"{id_cell!r} is not a call id")
    call = session.get(CallRow, int(id_cell))
    if call is None:
        return RowOutcome(number, None, "refused", f"no call with id {id_cell}")
    try:
        parsed = parse_verdict_words(verdict_cell)
    except VerdictError as exc:
        return RowOutcome(number, call.id, "refused", str(exc))
    assert parsed is not None  # the cell is not empty
    verdict, reason = parsed
    if same_verdict(latest_verdicts(session, [call.id]).get(call.id), verdict, reason):
        return RowOutcome(number, call.id, "unchanged", verdict)
    if verdict == "not-relevant" and not reason:
        why = f"say why it is not relevant: not relevant: <reason> (accepted: {WORDS_HELP})"
        return RowOutcome(number, call.id, "refused", why)
    record_verdict(session, call, verdict, reason=reason, author=author, now=now)
    return RowOutcome(number, call.id, "applied", verdict)


def apply_csv(
    session: Session, path: Path, *, author: str, now: datetime | None = None
) -> tuple[list[RowOutcome], int]:
    """Apply every verdict typed into the file at `path`: (outcome per row with a verdict,
    number of rows with an empty verdict cell). InputError when the file cannot be read."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    text = decode(data, str(path))
    outcomes: list[RowOutcome] = []
    empty = 0
    for number, id_cell, verdict_cell in read_rows(text, str(path)):
        outcome = apply_row(session, number, id_cell, verdict_cell, author=author, now=now)
        if outcome is None:
            empty += 1
        else:
            outcomes.append(outcome)
    return outcomes, empty
