"""init, crawl, run, score, demo."""

from __future__ import annotations

import sys

import click

from fundradar.cli.common import check_config, table
from fundradar.wording import plural


@click.command("init")
def init_cmd() -> None:
    """Create or migrate the database (idempotent)."""
    from fundradar.pipeline import db

    env = check_config()
    env.ensure_dirs()
    outcome = db.init(env.database_url)
    click.echo(f"database {outcome}: {_safe_url(env.database_url)}")
    click.echo(f"data folder: {env.home}")


def _safe_url(url: str) -> str:
    """The database URL without its password (never print secrets)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparseable URL)"


def print_summaries(summaries: list) -> None:  # type: ignore[type-arg]
    rows = [
        (s.source, f"#{s.run_id}" if s.run_id else "-", s.status, s.calls, s.new, s.updated,
         s.dropped, s.requests, f"{s.seconds:.1f}s", s.message[:70])
        for s in summaries
    ]  # fmt: skip
    headers = ("source", "run", "status", "calls", "new", "updated", "dropped", "requests", "time",
               "note")  # fmt: skip
    click.echo(table(headers, rows))


@click.command("crawl")
@click.argument("sources", nargs=-1)
@click.option(
    "--fixtures", is_flag=True,
    help="Crawl the bundled fixture pages through a local server instead of the live sites.",
)  # fmt: skip
def crawl_cmd(sources: tuple[str, ...], fixtures: bool) -> int:
    """Crawl now (all enabled sources, or those named), each in its own process."""
    from fundradar.crawling import crawl

    check_config()

    def progress(s) -> None:  # type: ignore[no-untyped-def]
        click.echo(
            f"  {s.source:<20} {s.status:<9} {plural(s.calls, 'call')} "
            f"({s.new} new, {s.updated} updated)"
        )

    click.echo(f"crawling {', '.join(sources) if sources else 'all enabled sources'} ...")
    if fixtures:
        from fundradar.fixture_server import FixtureServer

        with FixtureServer() as server:
            summaries = crawl(sources, fixture_server=server.url, sample=True, on_done=progress)
    else:
        summaries = crawl(sources, on_done=progress)
    click.echo()
    print_summaries(summaries)
    # any verdict but ok/degraded means calls may be missing: a script or cron sees it
    bad = [s for s in summaries if s.status not in ("ok", "degraded")]
    return 1 if bad else 0


@click.command("score")
@click.argument("file", type=click.File("r", encoding="utf-8"), default="-")
def score_cmd(file) -> None:  # type: ignore[no-untyped-def]
    """Score calls given as JSONL (FILE or - for stdin); print JSONL in the same order."""
    from fundradar.pipeline.score import load_profile
    from fundradar.pipeline.score.jsonl import score_lines

    env = check_config()
    profile = load_profile(env.config_dir / "priorities.yaml")
    out = sys.stdout
    for line in score_lines(file, profile):
        out.write(line + "\n")
    out.flush()


@click.command("run")
@click.option("--no-digest", is_flag=True, help="Crawl only.")
def run_cmd(no_digest: bool) -> int:
    """The weekly job once: crawl all enabled sources, then send this week's digest."""
    from fundradar.weekly import weekly_job

    check_config()
    report = weekly_job(send=not no_digest, echo=click.echo)
    return 0 if report.ok else 1


@click.command("demo")
@click.option("--port", default=0, help="Port for the sample-page server (default: any free).")
def demo_cmd(port: int) -> int:
    """The whole pipeline on the bundled sample pages, served on 127.0.0.1 (no internet)."""
    from fundradar.demo import run_demo

    check_config()
    return run_demo(port=port, echo=click.echo)


def register(group: click.Group) -> None:
    for cmd in (init_cmd, crawl_cmd, run_cmd, score_cmd, demo_cmd):
        group.add_command(cmd)
