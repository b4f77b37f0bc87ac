"""Every string fits its column and holds no NUL byte before it is written, whatever wrote it.

Scraped and imported text is hostile. SQLite stores anything in any column, PostgreSQL does
not: a value longer than its `String(n)` fails the whole statement (`StringDataRightTruncation`)
and a NUL byte fails any text or JSON value ("PostgreSQL text fields cannot contain NUL"),
which ended a whole import once because the quarantine row carrying the bad line failed too.

So one ORM hook, `before_flush` on every session, walks each new or changed object of every
model: a NUL byte is removed from each String/Text column and from each string inside a JSON
column (keys included), and a string longer than its column is cut to it. Nothing passes
silently: each cut is logged as a warning and kept on the session (`take_cuts`), so the crawl
and the import report it with the call it touched. The same rule is there for the few
statements written without the ORM (`clean_text`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, String, event, inspect
from sqlalchemy.orm import Mapper, Session

log = logging.getLogger("fundradar.db")
CUTS_KEY = "fundradar_cuts"  # session.info[CUTS_KEY]: the cuts since `take_cuts` last ran


@dataclass(frozen=True)
class Cut:
    """One string cut to its column."""

    table: str
    column: str
    length: int  # characters it had (after NUL bytes were removed)
    limit: int

    def __str__(self) -> str:
        return f"{self.table}.{self.column} of {self.length} characters cut to {self.limit}"


def clean_text(value: str, limit: int | None = None) -> str:
    """No NUL byte, at most `limit` characters."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    return value if limit is None or len(value) <= limit else value[:limit]


def clean_json(value: Any) -> Any:
    """The same value with NUL bytes removed from every string in it (PostgreSQL's JSON cannot
    hold \\u0000 either). The very same object when it holds none, so an unchanged JSON value
    is never marked changed."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, list):
        items = [clean_json(v) for v in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    if isinstance(value, dict):
        pairs = [(clean_json(k), clean_json(v)) for k, v in value.items()]
        changed = any(k2 is not k or v2 is not v for (k2, v2), (k, v) in
                      zip(pairs, value.items(), strict=True))  # fmt: skip
        return dict(pairs) if changed else value
    return value


@lru_cache(maxsize=64)
def _columns(mapper: Mapper[Any]) -> tuple[tuple[str, str, str, int | None], ...]:
    """(attribute, column, "text"|"json", length) for each string and JSON column of a model."""
    found = []
    for attr in mapper.column_attrs:
        for column in attr.columns:
            kind = None
            if isinstance(column.type, String):
                kind = "text"
            elif isinstance(column.type, JSON):
                kind = "json"
            if kind is not None and column.table is not None:
                length = getattr(column.type, "length", None) if kind == "text" else None
                found.append((attr.key, column.name, kind, length))
                break
    return tuple(found)


def clean_object(obj: Any) -> list[Cut]:
    """Make every string of one ORM object writable, in place. Returns the cuts made."""
    mapper = inspect(obj).mapper
    table = mapper.local_table.name if mapper.local_table is not None else mapper.class_.__name__
    cuts: list[Cut] = []
    for key, column, kind, limit in _columns(mapper):
        value = obj.__dict__.get(key)  # never load an unloaded attribute for this
        if value is None:
            continue
        if kind == "json":
            cleaned = clean_json(value)
        elif isinstance(value, str):
            cleaned = clean_text(value)
            if limit is not None and len(cleaned) > limit:
                cuts.append(Cut(table, column, len(cleaned), limit))
                cleaned = cleaned[:limit]
        else:
            continue
        if cleaned is not value:
            setattr(obj, key, cleaned)
    return cuts


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    cuts: list[Cut] = []
    for obj in (*session.new, *session.dirty):
        cuts += clean_object(obj)
    for cut in cuts:
        log.warning("%s (the column holds no more)", cut)
    if cuts:
        session.info.setdefault(CUTS_KEY, []).extend(cuts)


def take_cuts(session: Session) -> list[Cut]:
    """The cuts made since the last call, for a report that names them."""
    return session.info.pop(CUTS_KEY, [])


def install() -> None:
    """Listen on every session of the process (idempotent)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
