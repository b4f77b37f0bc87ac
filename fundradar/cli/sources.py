"""sources list | check [--live] | record SOURCE."""

from __future__ import annotations

from pathlib import Path

import click

from fundradar.cli.common import check_config, table, when
from fundradar.wording import plural


@click.group("sources")
def sources_group() -> None:
    """The funders crawled: their health, an offline or live check, fixture recording."""


@sources_group.command("list")
def list_cmd() -> None:
    """Every configured source: id, kind, funder, enabled, last run, items, quarantined, health.

    Health is the last crawl's verdict and its cause (ok, unreachable, http-error, blocked,
    empty, degraded, failed), and "possibly broken" when no new or updated call came for
    several runs in a row (sources.yaml `health.quiet_runs`).
    """
    from fundradar.config.loader import load_sources
    from fundradar.pipeline import db
    from fundradar.pipeline.health import latest_health
    from fundradar.pipeline.store import quarantine_counts

    check_config()
    kinds = {s.id: s.kind for s in load_sources().sources}
    with db.session_scope() as session:
        quarantined = quarantine_counts(session)
        health = latest_health(session)
    rows = [
        (h.source, kinds.get(h.source, "?"), h.funder[:48], "yes" if h.enabled else "no",
         when(h.finished_at), "" if h.calls is None else h.calls, quarantined.get(h.source, 0),
         (h.summary + (" [sample]" if h.sample else ""))[:90])
        for h in health
    ]  # fmt: skip
    headers = ("id", "kind", "funder", "enabled", "last run", "items", "quarantined", "health")
    click.echo(table(headers, rows))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{round(value * 100):d}%"


@sources_group.command("check")
@click.argument("sources", nargs=-1)
@click.option("--live", is_flag=True, help="Crawl the real sites instead of the bundled fixtures.")
def check_cmd(sources: tuple[str, ...], live: bool) -> int:
    """Crawl every enabled source (or those named) and report items and field coverage.

    Offline by default: the bundled fixture pages through a local server. Runs in a temporary
    data folder, so your database is not touched. Exit code 1 if a source yields no usable call.
    """
    from fundradar.sources_check import COVERAGE_COLUMNS, check_sources

    check_config()
    where = "the live sites" if live else "the bundled fixtures (offline)"
    click.echo(f"checking {', '.join(sources) if sources else 'all enabled sources'} "
               f"against {where} ...")  # fmt: skip
    report = check_sources(
        sources, live=live, on_done=lambda s: click.echo(f"  {s.source:<20} {s.status}")
    )
    headers = ("source", "status", "items", "usable", "requests",
               *(h for _, h in COVERAGE_COLUMNS), "note")  # fmt: skip
    rows = [
        (r.source, r.status, r.items, r.usable, r.requests,
         *(_pct(r.coverage.get(f)) for f, _ in COVERAGE_COLUMNS), r.message[:50])
        for r in report.results
    ]  # fmt: skip
    click.echo()
    click.echo(table(headers, rows))
    bad = [r.source for r in report.results if not r.ok]
    if bad:
        click.echo(f"\nno usable call from: {', '.join(bad)}")
        if report.home:
            click.echo(f"crawl logs kept in {report.home / 'logs'}")
        return 1
    n = len(report.results)
    every = f"the {plural(n, 'source')} yields" if n == 1 else f"all {plural(n, 'source')} yield"
    click.echo(f"\n{every} calls (usable = title, URL and a deadline or a status)")
    return 0


@sources_group.command("record")
@click.argument("source")
@click.option(
    "-o", "--output", type=click.Path(file_okay=False, path_type=Path),
    help="Folder to save into (default: crawlers/samples/SOURCE/ in a checkout, else "
    "$FUNDRADAR_HOME/samples/SOURCE/).",
)  # fmt: skip
@click.option("--fixture-server", hidden=True, help="Record from this server (tests only).")
def record_cmd(source: str, output: Path | None, fixture_server: str | None) -> int:
    """Crawl SOURCE live and save every response (URL, type, date) as its sample pages.

    In a checkout they go to crawlers/samples/SOURCE/ (the tests and the package read them);
    from an installed package to $FUNDRADAR_HOME/samples/SOURCE/, which `crawl --fixtures`,
    `sources check` and `demo` then serve instead of the bundled pages. The capture is made in
    a new folder next to the samples and replaces them only if it holds at least one usable call
    (a title and an http(s) link); otherwise they are left as they were, the reason is printed
    and the exit code is 1.
    """
    from fundradar.config.loader import load_sources
    from fundradar.crawlers.recorder import (
        discard,
        promote,
        read_result,
        staging_folder,
        why_unusable,
    )
    from fundradar.exceptions import UnknownSourceError
    from fundradar.fixture_server import bundled_samples, record_folder
    from fundradar.sources_check import record_source

    check_config()
    if load_sources().get(source) is None:  # before any folder is made
        known = ", ".join(s.id for s in load_sources().sources)
        raise UnknownSourceError(f"unknown source {source} (known: {known})")
    target = (output or record_folder(source)).resolve()
    bundled = bundled_samples() / source
    outside = output is None and target != bundled.resolve()
    # a first capture into the home starts from the bundled pages, as one in a checkout does
    staging = staging_folder(target, seed=bundled if outside else None)
    click.echo(f"recording {source} ...")
    if outside:
        click.echo(f"the installed package's samples are not for writing: saving in {target}, "
                   "served from there by crawl --fixtures, sources check and demo")  # fmt: skip
    try:
        report = record_source(source, output=staging, fixture_server=fixture_server)
        result = read_result(staging)
        if not result.usable:
            discard(staging)
            click.echo(
                f"{why_unusable(result)}\n{target} left as it was (crawl: {report.status})",
                err=True,
            )
            return 1
        promote(staging, target)
    except BaseException:
        discard(staging)
        raise
    click.echo(f"{report.responses} responses and {result.usable_calls} usable calls saved in "
               f"{target} (crawl: {report.status})")  # fmt: skip
    click.echo("index.json now says origin: capture; update the spider's tests to the capture.")
    return 0


def register(group: click.Group) -> None:
    group.add_command(sources_group)
