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
         s.dropped, s.requests, s.revalidated, s.skipped, f"{s.seconds:.1f}s", s.message[:70])
        for s in summaries
    ]  # fmt: skip
    # "304": pages the site said were unchanged (no body sent); "skipped": detail pages not
    # asked for at all, their listing entry being unchanged since the last crawl
    headers = ("source", "run", "status", "calls", "new", "updated", "dropped", "requests", "304",
               "skipped", "time", "note")  # fmt: skip
    click.echo(table(headers, rows))


class CrawlProgress:
    """A live line on a terminal while sources crawl (pages read, calls, sources done); nothing
    when stderr is piped or a file, so cron mail and logs get only the summary.

    tqdm (a small, pure-Python, well-kept library) draws the line: it decides TTY or not
    (`disable=None`), redraws in place and lets the per-source lines print above it
    (`tqdm.write`), which a hand-written carriage-return line gets wrong on narrow terminals.
    """

    def __init__(self, total: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="source", desc="crawl", disable=None, leave=False,
                        dynamic_ncols=True)  # fmt: skip

    def update(self, sources: dict[str, dict[str, int]]) -> None:
        pages = sum(int(v.get("pages", 0)) for v in sources.values())
        calls = sum(int(v.get("calls", 0)) for v in sources.values())
        running = sorted(
            ((sid, v) for sid, v in sources.items() if not v.get("done")),
            key=lambda kv: -int(kv[1].get("pages", 0)),
        )
        now = ", ".join(f"{k} {v.get('pages', 0)}p/{v.get('calls', 0)}c" for k, v in running[:3])
        more = f" +{len(running) - 3}" if len(running) > 3 else ""
        self.bar.n = len(sources) - len(running)
        self.bar.set_postfix_str(f"{pages} pages, {calls} calls; {now}{more}", refresh=True)

    def echo(self, line: str = "") -> None:
        if self.bar.disable:
            click.echo(line)
        else:
            self.bar.write(line)

    def close(self) -> None:
        self.bar.close()


def _summary_line(s) -> str:  # type: ignore[no-untyped-def]
    thrift = []
    if s.revalidated:
        thrift.append(f"{s.revalidated} unchanged (304)")
    if s.skipped:
        thrift.append(f"{s.skipped} skipped")
    extra = f"; {', '.join(thrift)}" if thrift else ""
    counts = f"{plural(s.calls, 'call')} ({s.new} new, {s.updated} updated)"
    return f"  {s.source:<20} {s.status:<9} {counts}{extra}"


@click.command("crawl")
@click.argument("sources", nargs=-1)
@click.option(
    "--fixtures", is_flag=True,
    help="Crawl the bundled fixture pages through a local server instead of the live sites.",
)  # fmt: skip
@click.option(
    "--isolate/--together", default=None,
    help="Each source in its own process (slower; for a source that misbehaves), or all in "
    "one. Default: config `defaults.isolate` (false).",
)  # fmt: skip
@click.option(
    "--processes", type=click.IntRange(1, 64), default=None,
    help="Crawl processes the sources are dealt over (each crawls many sources at once). "
    "Default: config `defaults.crawl_processes` (1).",
)  # fmt: skip
def crawl_cmd(
    sources: tuple[str, ...], fixtures: bool, isolate: bool | None, processes: int | None
) -> int:
    """Crawl now (all enabled sources, or those named), all in one crawl process by default."""
    from fundradar.crawling import crawl, resolve_sources

    check_config()
    click.echo(f"crawling {', '.join(sources) if sources else 'all enabled sources'} ...")
    bar = CrawlProgress(len(resolve_sources(sources)))

    def done(s) -> None:  # type: ignore[no-untyped-def]
        bar.echo(_summary_line(s))

    try:
        if fixtures:
            from fundradar.fixture_server import FixtureServer

            with FixtureServer() as server:
                summaries = crawl(sources, fixture_server=server.url, sample=True, on_done=done,
                                  isolate=isolate, on_progress=bar.update,
                                  processes=processes)  # fmt: skip
        else:
            summaries = crawl(sources, on_done=done, isolate=isolate, on_progress=bar.update,
                              processes=processes)  # fmt: skip
    finally:
        bar.close()
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
@click.option(
    "--isolate/--together", default=None,
    help="Each source in its own crawl process, or all in one (default: config).",
)  # fmt: skip
def run_cmd(no_digest: bool, isolate: bool | None) -> int:
    """The weekly job once: crawl all enabled sources, then send this week's digest."""
    from fundradar.crawling import resolve_sources
    from fundradar.weekly import weekly_job

    check_config()
    bar = CrawlProgress(len(resolve_sources([])))
    try:
        report = weekly_job(send=not no_digest, echo=bar.echo, isolate=isolate,
                            on_progress=bar.update)  # fmt: skip
    finally:
        bar.close()
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
