"""export csv | ics | atom | json | verdicts | applications | partners | xlsx."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from fundradar.cli.common import check_config, echo_err
from fundradar.pipeline.exports.query import STATUS_CHOICES, CallFilter
from fundradar.pipeline.record import BANDS
from fundradar.settings import DISPLAY_TZ
from fundradar.wording import plural

_SPAN = re.compile(r"^\s*(\d+)\s*([hdw])\s*$", re.IGNORECASE)
_SPAN_UNIT = {"h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str | None, now: datetime) -> datetime | None:
    """`--since`: a span back from now (36h, 7d, 2w), a date (Saint Lucia midnight) or an ISO
    date and time (Saint Lucia time when it has no offset)."""
    if value is None or not value.strip():
        return None
    m = _SPAN.match(value)
    if m:
        return now - timedelta(**{_SPAN_UNIT[m.group(2).lower()]: int(m.group(1))})
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: give a date (2026-11-01), a date and time, or a span (36h, 7d, 2w)",
            param_hint="--since",
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(DISPLAY_TZ))
    return dt.astimezone(UTC)


def filter_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The selection options every export shares (same meaning as the review page's filters)."""
    options = [
        click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                     help="Write to FILE (atomically) instead of standard output."),
        click.option("--all", "all_", is_flag=True,
                     help="Every status, closed calls included."),
        click.option("--min-band", "--band", "min_band", type=click.Choice(BANDS),
                     help="Only calls in this band or better."),
        click.option("--status", "statuses", multiple=True, type=click.Choice(STATUS_CHOICES),
                     help="Only calls with this status (repeatable)."),
        click.option("--since", help="Only calls first seen since: 7d, 2w, 2026-11-01, …"),
        click.option("--theme", "themes", multiple=True, help="Only calls on this theme "
                     "(repeatable: any of them)."),
        click.option("--source", "sources", multiple=True,
                     help="Only calls seen on this source (repeatable)."),
        click.option("--include-dismissed", is_flag=True,
                     help="Keep calls whose latest verdict is not-relevant."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def build_filter(base: CallFilter, opts: dict[str, Any], now: datetime) -> CallFilter:
    from fundradar.cli.choices import check_filters

    check_filters(opts["themes"], opts["sources"])  # an unknown id: exit 2, valid ones listed
    changes: dict[str, Any] = {}
    if opts["statuses"]:
        changes["statuses"] = tuple(opts["statuses"])
    elif opts["all_"]:
        changes["statuses"] = ()
    if opts["min_band"]:
        changes["min_band"] = opts["min_band"]
    since = parse_since(opts["since"], now)
    if since is not None:
        changes["since"] = since
    if opts["themes"]:
        changes["themes"] = tuple(opts["themes"])
    if opts["sources"]:
        changes["sources"] = tuple(opts["sources"])
    if opts["include_dismissed"]:
        changes["include_dismissed"] = True
    return base.but(**changes)


def _to_stdout(chunks: Iterator[str]) -> None:
    # bytes, so the output is UTF-8 whatever the terminal's locale says
    stdout = getattr(sys.stdout, "buffer", None)
    try:
        for chunk in chunks:
            if stdout is None:
                sys.stdout.write(chunk)
            else:
                stdout.write(chunk.encode("utf-8"))
        sys.stdout.flush()
    except BrokenPipeError:
        # `fundradar export csv | head`: the reader has what it wanted; stop quietly with
        # success, as `cat` does (click would turn the broken pipe into exit code 1), and point
        # stdout at /dev/null so the interpreter's final flush does not fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def emit(output: Path | None, produce: Callable[[Any, list[int]], Iterator[str]], what: str,
         *, newline: str | None = None) -> None:  # fmt: skip
    """Stream text chunks to stdout, or atomically to a file with a summary line on stderr."""
    from fundradar.pipeline import db
    from fundradar.pipeline.exports.files import atomic_text

    counter: list[int] = []
    with db.session_scope() as session:
        if output is None:
            _to_stdout(produce(session, counter))
            return
        with atomic_text(output, encoding="utf-8", newline=newline or "") as fh:
            for chunk in produce(session, counter):
                fh.write(chunk)
    n = counter[0] if counter else 0
    echo_err(f"wrote {plural(n, what)} to {output}")


@click.group("export")
def export_group() -> None:
    """Write calls as CSV (Excel), a deadlines calendar (ICS), Atom, JSON Lines, or verdicts."""


@export_group.command("csv")
@filter_options
def export_csv(output: Path | None, **opts: Any) -> None:
    """The CSV feed: best calls first; default open, forthcoming and undated calls.

    UTF-8 with a byte-order mark (Excel shows accents), formulas neutralised.
    """
    from fundradar.cli.progress import Progress, on_terminal
    from fundradar.pipeline.exports.csv_feed import csv_chunks
    from fundradar.pipeline.exports.query import count_calls
    from fundradar.pipeline.models import utcnow

    check_config()
    now = utcnow()
    flt = build_filter(CallFilter(), opts, now)
    # a bar on a terminal, never over CSV text going to that same terminal
    show = on_terminal() and (output is not None or not on_terminal(sys.stdout))

    def produce(session: Any, counter: list[int]) -> Iterator[str]:
        total = count_calls(session, flt) if show else None
        with Progress(total, "export csv", "calls", enabled=show) as bar:
            yield from csv_chunks(session, flt, now=now, counter=counter, progress=bar.advance)

    emit(output, produce, "call")


@export_group.command("ics")
@filter_options
def export_ics(output: Path | None, **opts: Any) -> None:
    """Deadlines of open and forthcoming calls as a calendar (Saint Lucia time, stable UIDs)."""
    from fundradar.pipeline.exports.ics import default_filter, ics_chunks
    from fundradar.pipeline.models import utcnow

    check_config()
    now = utcnow()
    flt = build_filter(default_filter(), opts, now)
    emit(output, lambda s, c: ics_chunks(s, flt, now=now, counter=c), "deadline")


@export_group.command("atom")
@filter_options
def export_atom(output: Path | None, **opts: Any) -> None:
    """New relevant calls as an Atom feed (default: band medium or better, last 30 days)."""
    from fundradar.pipeline.exports.atom import atom_document, default_filter
    from fundradar.pipeline.models import utcnow

    check_config()
    now = utcnow()
    flt = build_filter(default_filter(now), opts, now)

    def produce(session: Any, counter: list[int]) -> Iterator[str]:
        body = atom_document(session, flt, now=now).decode("utf-8")
        counter.append(body.count("<entry>"))
        yield body

    emit(output, produce, "entry", newline="\n")


@export_group.command("json")
@filter_options
def export_json(output: Path | None, **opts: Any) -> None:
    """Calls as JSON Lines: one object a line, ISO 8601 dates, the latest verdict."""
    from fundradar.pipeline.exports.jsonl import json_lines
    from fundradar.pipeline.models import utcnow

    check_config()
    flt = build_filter(CallFilter(), opts, utcnow())
    emit(output, lambda s, c: json_lines(s, flt, counter=c), "call", newline="\n")


@export_group.command("verdicts")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to FILE (atomically) instead of standard output.")  # fmt: skip
def export_verdicts(output: Path | None) -> None:
    """Officers' latest verdicts as JSONL in the `fundradar score` input shape, for re-tuning."""
    from fundradar.pipeline.exports.jsonl import verdict_lines

    check_config()
    emit(output, lambda s, c: verdict_lines(s, counter=c), "verdict", newline="\n")


_OUTPUT = click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                       help="Write to FILE (atomically) instead of standard output.")  # fmt: skip


@export_group.command("applications")
@_OUTPUT
def export_applications(output: Path | None) -> None:
    """Applications as CSV (Excel): stages, deadlines, amounts, lead and partners."""
    from fundradar.pipeline.exports.partnerships import applications_csv

    check_config()
    emit(output, lambda s, c: applications_csv(s, counter=c), "application")


@export_group.command("partners")
@_OUTPUT
def export_partners(output: Path | None) -> None:
    """The partner directory as CSV (Excel), merged entries left out."""
    from fundradar.pipeline.exports.partnerships import partners_csv

    check_config()
    emit(output, lambda s, c: partners_csv(s, counter=c), "partner")


@export_group.command("xlsx")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="The .xlsx file to write (default: partnerships.xlsx in the exports "
                   "folder).")  # fmt: skip
def export_xlsx(output: Path | None) -> None:
    """An Excel workbook for partnership meetings: sheets Applications, Partners and this
    week's Relevant calls, with real dates, number formats and frozen headers."""
    from fundradar.pipeline import db
    from fundradar.pipeline.exports.workbook import write_workbook

    env = check_config()
    path = output or env.exports / "partnerships.xlsx"
    with db.session_scope() as session:
        counts = write_workbook(session, path)
    words = ", ".join([plural(counts["Applications"], "application"),
                       plural(counts["Partners"], "partner"),
                       plural(counts["Relevant calls"], "relevant call")])  # fmt: skip
    echo_err(f"wrote {words} to {path}")


def register(group: click.Group) -> None:
    group.add_command(export_group)
