"""import FILE.jsonl: calls received by email or typed by hand, through the crawl's pipeline."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from fundradar.cli.common import check_config

SOURCE_ID = re.compile(r"^[a-z][a-z0-9_]{1,40}$")


def _source(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not SOURCE_ID.match(value):
        raise click.BadParameter(f"a lower-case id of letters, digits and _ (like import), "
                                 f"got {value!r}")  # fmt: skip
    return value


def _zone(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"an IANA time zone such as Europe/Paris, got {value!r}") from None
    return value


@click.command("import")
@click.argument("file", metavar="FILE.jsonl")
@click.option(
    "--source",
    default="import",
    show_default=True,
    callback=_source,
    help="Where these calls came from (a lower-case id); every line gets it.",
)
@click.option(
    "--timezone",
    default=None,
    callback=_zone,
    help="Time zone of dates written without one (default Europe/Paris, as crawls).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print rejected lines and the summary only.")
def import_cmd(file: str, source: str, timezone: str | None, quiet: bool) -> int:  # fmt: skip
    """Store calls from a JSONL file (one JSON object a line; - for standard input).

    Fields as in the call record (title and url required; summary or text or description;
    deadline as free text, or a list; budget as free text; eligibility; opens; funder;
    programme; language; id). Each line is stored, or rejected with its line number and
    reason; the other lines go on. Exit code 0 when every line was stored, 1 when some were
    rejected (the others are stored), 2 when the file cannot be read or is not UTF-8.
    """
    from fundradar.cli.progress import Progress, on_terminal
    from fundradar.pipeline.importer import LineResult, import_lines, read_lines

    check_config()
    lines = read_lines(file)
    # each line's result is printed as soon as it is stored (click.echo flushes), with a bar
    # below them on a terminal; piped, only the results
    with Progress(len(lines), "import", "lines", enabled=on_terminal()) as bar:

        def show(result: LineResult | None) -> None:
            bar.advance()
            if result is not None and (result.status == "rejected" or not quiet):
                with bar.printing():
                    click.echo(result.describe(), err=result.status == "rejected")

        report = import_lines(lines, source=source, timezone=timezone, on_line=show)
    click.echo(f"{report.summary()} (source {source}, run #{report.run_id})")
    return 1 if report.rejected else 0


def register(group: click.Group) -> None:
    group.add_command(import_cmd)
