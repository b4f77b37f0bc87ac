"""A `dbm`-style key/value file on SQLite, for Scrapy's `DbmCacheStorage` (the HTTP cache).

Scrapy's filesystem cache creates a folder and four files per page, and file creation was the
dearest single part of a crawl's CPU (bench/crawl.py, issue 16). Its DBM storage keeps a source's
pages in one file instead, but this Python has only `dbm.dumb`, which opens its files again on
every write. So this module gives DBM's interface (`open(path, flag)` returning a mapping of
bytes to bytes, `error`) on the standard library's sqlite3, in the table layout of Python 3.13's
`dbm.sqlite3` (one file either can read).

Unlike `dbm.sqlite3` it does not wait for the disk at every write (WAL with synchronous=NORMAL):
a power cut may lose the last pages stored, which only means downloading them again, and never
leaves a broken file. A file that is not a database (damaged, or some other file) is set aside
as `<name>.broken` and a new one started: losing a cache costs downloads, never a crawl.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)

error = (sqlite3.Error, KeyError)  # what `dbm` modules raise, as a tuple like `dbm.error`

_SCHEMA = "CREATE TABLE IF NOT EXISTS Dict (key BLOB UNIQUE NOT NULL, value BLOB NOT NULL)"
_UPSERT = (
    "INSERT INTO Dict (key, value) VALUES (?, ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)


def _bytes(value: bytes | str) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


class Database(MutableMapping[bytes, bytes]):
    def __init__(self, path: str | os.PathLike[str], flag: str = "c") -> None:
        self.path = Path(path)
        self._cx = self._connect(flag)

    def _connect(self, flag: str) -> sqlite3.Connection:
        if flag == "n" and self.path.exists():
            self.path.unlink()
        if flag == "r":
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            return sqlite3.connect(uri, uri=True, isolation_level=None)
        try:
            return self._prepare(sqlite3.connect(self.path, isolation_level=None))
        except sqlite3.DatabaseError as exc:  # not a database: keep it aside, start afresh
            broken = self.path.with_name(self.path.name + ".broken")
            logger.warning("HTTP cache %s is unreadable (%s); moved to %s", self.path, exc, broken)
            self.path.replace(broken)
            return self._prepare(sqlite3.connect(self.path, isolation_level=None))

    @staticmethod
    def _prepare(cx: sqlite3.Connection) -> sqlite3.Connection:
        cx.execute("PRAGMA journal_mode = wal")
        cx.execute("PRAGMA synchronous = NORMAL")  # a cache: no fsync per page (see above)
        cx.execute(_SCHEMA)
        return cx

    def __getitem__(self, key: bytes | str) -> bytes:
        row = self._cx.execute("SELECT value FROM Dict WHERE key = ?", (_bytes(key),)).fetchone()
        if row is None:
            raise KeyError(key)
        return bytes(row[0])

    def __setitem__(self, key: bytes | str, value: bytes | str) -> None:
        self._cx.execute(_UPSERT, (_bytes(key), _bytes(value)))

    def set_many(self, items: Iterable[tuple[bytes | str, bytes | str]]) -> None:
        """Several keys in one statement and one transaction (a crawl's pages, written together)."""
        rows = [(_bytes(k), _bytes(v)) for k, v in items]
        with self.transaction():
            self._cx.executemany(_UPSERT, rows)

    def __delitem__(self, key: bytes | str) -> None:
        if self._cx.execute("DELETE FROM Dict WHERE key = ?", (_bytes(key),)).rowcount == 0:
            raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, bytes | str):
            return False
        found = self._cx.execute("SELECT 1 FROM Dict WHERE key = ?", (_bytes(key),))
        return found.fetchone() is not None

    def __iter__(self) -> Iterator[bytes]:
        return (bytes(k) for (k,) in self._cx.execute("SELECT key FROM Dict").fetchall())

    def __len__(self) -> int:
        return int(self._cx.execute("SELECT COUNT(*) FROM Dict").fetchone()[0])

    def keys(self) -> list[bytes]:  # type: ignore[override]  # dbm modules return a list
        return list(self)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Several writes as one (a page's data and its time): all or none of them land."""
        self._cx.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._cx.execute("ROLLBACK")
            raise
        self._cx.execute("COMMIT")

    def close(self) -> None:
        self._cx.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open(path: str | os.PathLike[str], flag: str = "r", mode: int = 0o666) -> Database:
    """Like `dbm.open`: flag "r" read only, "w" read-write, "c" create if missing, "n" new."""
    if flag not in ("r", "w", "c", "n"):
        raise ValueError(f"flag must be one of 'r', 'w', 'c' or 'n', not {flag!r}")
    if flag in ("r", "w") and not Path(path).exists():
        raise sqlite3.OperationalError(f"no such cache file: {path}")
    return Database(path, flag)
