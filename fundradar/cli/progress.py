"""Progress bars for long commands: drawn on a terminal, silent when the output is piped.

tqdm draws them (one small pure-Python package with no dependencies of its own; it redraws at
most a few times a second, so a bar costs nothing measurable on a 100,000-call export, and
`external_write_mode` lets result lines be printed above a live bar). A bar is shown only when
standard error is a terminal: in cron, in a pipe, in the scheduler's logs there is nothing but
the command's own output, unchanged.
"""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager, nullcontext
from typing import IO, Any

from tqdm import tqdm


def on_terminal(stream: IO[Any] | None = None) -> bool:
    """Whether `stream` (default: standard error) is a terminal a person is watching."""
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class Progress:
    """A bar on standard error when `enabled`, else nothing at all (every method a no-op)."""

    def __init__(self, total: int | None, what: str, unit: str, *, enabled: bool) -> None:
        self.bar: tqdm[Any] | None = None
        if enabled:
            self.bar = tqdm(total=total, desc=what, unit=f" {unit}", file=sys.stderr,
                            leave=False, dynamic_ncols=True, mininterval=0.2)  # fmt: skip

    def advance(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def printing(self) -> AbstractContextManager[Any]:
        """Around a print while the bar is drawn: the bar steps aside, then comes back."""
        return self.bar.external_write_mode() if self.bar is not None else nullcontext()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
