"""The weekly job once (`fundradar run`): crawl every enabled source, then send the digest.

The scheduler runs the same two steps as separate jobs at their own times; `fundradar run` is
for cron users and for running the week by hand. The digest is sent even when some sources
failed: its *Source health* section is where officers and the maintainer see the failure.
A database of sample calls is not mailed over SMTP (`digest send --allow-sample` is the only
way to do that): the run reports it as a problem and exits 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fundradar.wording import plural

Echo = Callable[[str], None]


@dataclass
class WeeklyReport:
    crawls: list[Any] = field(default_factory=list)  # fundradar.crawling.CrawlSummary
    digest: Any = None  # alerts.send.SendReport, None when not sent
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and (self.digest is None or self.digest.ok)


def weekly_job(
    send: bool = True,
    echo: Echo = print,
    *,
    fixture_server: str | None = None,
    now: datetime | None = None,
    isolate: bool | None = None,
    on_progress: Callable[[dict[str, dict[str, Any]]], None] | None = None,
) -> WeeklyReport:
    """Crawl all enabled sources (in one crawl process, or one each with `isolate`), then send
    this week's digest."""
    from fundradar.alerts.send import send_digest
    from fundradar.crawling import crawl
    from fundradar.exceptions import SampleDataError

    report = WeeklyReport()
    echo("crawling all enabled sources ...")

    def progress(s: Any) -> None:
        echo(
            f"  {s.source:<20} {s.status:<9} {plural(s.calls, 'call')} "
            f"({s.new} new, {s.updated} updated)"
        )

    try:
        report.crawls = crawl([], fixture_server=fixture_server, on_done=progress,
                              isolate=isolate, on_progress=on_progress)  # fmt: skip
    except Exception as exc:  # the digest still goes out, with the failure in source health
        report.problems.append(f"crawl failed: {type(exc).__name__}: {exc}")
        echo(f"crawl failed: {exc}")
    bad = [s.source for s in report.crawls if s.status != "ok"]  # the run's one verdict
    if bad:
        report.problems.append(f"sources with problems: {', '.join(bad)}")
    if not send:
        return report
    from fundradar.alerts.instant import after_crawl

    instant = after_crawl(echo=echo)  # new high-band calls to instant subscribers first
    if instant is not None:
        report.problems.extend(f"instant alert: {p}" for p in instant.problems)
    echo("sending this week's digest ...")
    try:
        report.digest = send_digest(now=now, echo=echo)
    except SampleDataError as exc:  # sample calls are never mailed to real people by `run`
        report.problems.append(f"digest not sent: {exc}")
        echo(f"digest not sent: {exc}")
        return report
    for problem in report.digest.problems:
        echo(f"digest: {problem}")
    d = report.digest
    echo(f"{d.week}: {d.count('sent')} sent, {d.count('skipped')} already sent, "
         f"{d.count('failed')} failed")  # fmt: skip
    return report
