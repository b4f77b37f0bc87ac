"""Partners imported in bulk from a CSV (`fundradar partner import FILE`).

Columns (header row, any order, case-insensitive; only `name` is required): name, acronym,
kind, country, languages, contact, website, notes. The file is read as Excel saves it (UTF-8
with or without a byte-order mark, or Windows-1252; comma or semicolon between cells: see
`pipeline.verdict_csv.decode`).

Each row is stored or refused on its own, never all-or-nothing: a refused row is reported
with its line number in the file and the reason (an empty name, an unknown kind, a website
that is not an http(s) link). A row naming an organisation already in the directory (same
folded name, acronym or alias: `organisations.find_or_create`) fills what that entry lacks and
never overwrites what it has; its spelling is kept as an alias.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from fundradar.exceptions import InputError, PartnerError
from fundradar.pipeline.exports import one_line
from fundradar.pipeline.exports.csv_feed import unneutralise
from fundradar.pipeline.normalise.urls import safe_url
from fundradar.pipeline.partnerships.organisations import Directory, check_kind, find_or_create
from fundradar.pipeline.verdict_csv import DELIMITERS, decode

COLUMNS = ("name", "acronym", "kind", "country", "languages", "contact", "website", "notes")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_LANGUAGE_NAMES = {
    "french": "fr", "francais": "fr", "français": "fr", "english": "en", "anglais": "en",
    "spanish": "es", "espagnol": "es", "español": "es", "dutch": "nl", "portuguese": "pt",
    "creole": "ht", "kweyol": "acf", "créole": "ht",
}  # fmt: skip


@dataclass(frozen=True)
class RowProblem:
    line: int  # the line of the file the row starts on (the header is line 1)
    name: str  # the row's name cell, to find it in the sheet
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}" + (f" ({self.name})" if self.name else "") + f": {self.reason}"


@dataclass
class ImportReport:
    created: list[int] = field(default_factory=list)  # organisation ids
    merged: list[int] = field(default_factory=list)  # existing entries a row was folded into
    refused: list[RowProblem] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{len(self.created)} new, {len(self.merged)} merged into existing entries, "
                f"{len(self.refused)} refused")  # fmt: skip


def _languages(cell: str) -> list[str]:
    out = []
    for part in re.split(r"[;,/|]+|\s+", cell.strip().lower()):
        if not part:
            continue
        code = _LANGUAGE_NAMES.get(part, part)
        if not _LANGUAGE.match(code):
            raise PartnerError(f"language {part!r} is not a language code (fr, en, es...)")
        out.append(code)
    return list(dict.fromkeys(out))


def import_text(
    session: Session, text: str, *, author: str | None = None, name: str = "the file"
) -> ImportReport:
    """Import the partners of a CSV's text (flushes; the caller commits)."""
    text = text.lstrip("\ufeff")
    for delimiter in DELIMITERS:
        header = next(csv.reader(io.StringIO(text), delimiter=delimiter), None)
        names = [h.strip().lower() for h in header or ()]
        if "name" in names:
            break
    else:
        raise InputError(
            f"{name} has no 'name' column in its first row (columns: {', '.join(COLUMNS)})"
        )
    unknown = [n for n in names if n and n not in COLUMNS]
    if unknown:
        raise InputError(
            f"{name}: unknown column {', '.join(map(repr, unknown))} "
            f"(columns: {', '.join(COLUMNS)})"
        )
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    next(reader)
    report = ImportReport()
    directory_ = Directory(session)
    line = reader.line_num + 1
    for cells in reader:
        start, line = line, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        row = {
            col: one_line(unneutralise(cells[i])) if i < len(cells) else ""
            for i, col in enumerate(names)
            if col
        }
        try:
            _import_row(session, row, author, directory_, report)
        except PartnerError as exc:
            report.refused.append(RowProblem(start, row.get("name", "")[:80], str(exc)))
    session.flush()
    return report


def _import_row(
    session: Session, row: dict[str, str], author: str | None, directory_: Directory,
    report: ImportReport,
) -> None:  # fmt: skip
    name = row.get("name", "")
    if not name:
        raise PartnerError("the name is empty")
    kind = check_kind(row["kind"]) if row.get("kind") else None
    website = row.get("website") or None
    if website is not None:
        url = website if "://" in website else f"https://{website}"
        checked = safe_url(url)
        if checked is None or not checked.startswith(("http://", "https://")):
            raise PartnerError(f"website {website!r} is not an http(s) link")
        website = checked
    languages = _languages(row.get("languages", ""))
    known = directory_.find(name, row.get("acronym") or None)
    org = find_or_create(session, name, kind=kind, country=row.get("country") or None,
                         origin="import", author=author, acronym=row.get("acronym") or None,
                         directory_=directory_)  # fmt: skip
    if known is None:
        report.created.append(org.id)
    else:
        report.merged.append(org.id)
    org.languages = list(dict.fromkeys([*(org.languages or []), *languages]))
    for attr in ("contact", "notes"):
        value = row.get(attr) or None
        if value and not getattr(org, attr):
            setattr(org, attr, value)
    if website and not org.website:
        org.website = website


def import_csv(session: Session, path: Path, *, author: str | None = None) -> ImportReport:
    """Import the partners of the CSV file at `path`; InputError when it cannot be read."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return import_text(session, decode(data, str(path)), author=author, name=str(path))
