"""Helpers shared by the command modules: config check at start, tables, time display."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import click

from fundradar import settings
from fundradar.config.loader import load_recipients, load_sources


def check_config() -> settings.Settings:
    """Validate the environment and every config file before doing any work.

    A bad file raises ConfigError (file, key, expected), which `main` prints as one line and
    exit code 2.
    """
    from fundradar.pipeline.score import load_profile

    env = settings.load()
    load_sources(env.config_dir)
    load_recipients(env.config_dir)
    load_profile(env.config_dir / "priorities.yaml")
    return env


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain aligned text table (no colour codes: it ends up in logs and mails)."""
    cells = [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, c in enumerate(row):
            widths[i] = max(widths[i], len(c))
    line = "  ".join(h.ljust(widths[i]) for i, h in enumerate(headers))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(widths[i]) for i, c in enumerate(row)) for row in cells]
    return "\n".join(out)


def when(dt: datetime | None) -> str:
    """A timestamp in Saint Lucia time for operator output."""
    if dt is None:
        return "never"
    from zoneinfo import ZoneInfo

    return dt.astimezone(ZoneInfo(settings.DISPLAY_TZ)).strftime("%Y-%m-%d %H:%M AST")


def echo_err(message: str) -> None:
    click.echo(message, err=True)
