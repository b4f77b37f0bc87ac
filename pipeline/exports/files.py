"""Write an export file atomically: a reader sees the old file or the new one, never half.

Officers keep `calls.csv` open in Excel or synced to a shared drive while a crawl rewrites it;
a calendar client may fetch the ICS mid-write. So every export goes to a temporary file in the
same folder (same file system, so the rename is atomic) and replaces the target with
`os.replace` only once it is complete and flushed to disk. A failure leaves the old file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from fundradar.exceptions import ExportError

FILE_MODE = 0o644  # readable by the web server or a sync client running as another user


@contextlib.contextmanager
def atomic_text(
    path: Path, *, encoding: str = "utf-8", newline: str | None = None
) -> Iterator[IO[str]]:
    """Open a temporary text file next to `path`; on success it becomes `path`."""
    with _atomic(path, "w", encoding=encoding, newline=newline) as fh:
        yield fh


@contextlib.contextmanager
def _atomic(path: Path, mode: str, **text: str | None) -> Iterator[IO[Any]]:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, mode, **text) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise


def atomic_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` the same way (the workbook: a binary file built in memory)."""
    with _atomic(path, "wb") as fh:
        fh.write(data)
