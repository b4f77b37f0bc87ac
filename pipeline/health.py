"""Each source's health as the last crawl judged it: the one place the digest's banner, the
maintainer's alerts and `fundradar sources list` read it from.

The verdict itself (status, cause, message) is decided once per run by
`crawlers.runlog.verdict` and stored on `CrawlRun`; this module adds what a single run cannot
know: whether the source has been *quiet* — no new or updated call — for `health.quiet_runs`
runs in a row (config, default 3), which flags it "possibly broken" even when each run looked ok.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fundradar.config.loader import SourcesFile, load_sources
from fundradar.pipeline.models import CrawlRun

NEVER_RUN = "never-run"  # SourceHealth.status of a configured source with no crawl yet


@dataclass(frozen=True)
class SourceHealth:
    source: str  # the id in sources.yaml
    funder: str  # the funder's name from sources.yaml (the id when it is not configured)
    status: str  # a CrawlRun status (ok, unreachable, ...), or "never-run"
    cause: str | None  # officer's words ("site unreachable"); None when ok
    message: str | None  # technical detail ("DNS lookup failed for www.afd.fr")
    finished_at: datetime | None
    possibly_broken: bool  # no new or updated call for `quiet_runs` runs in a row
    quiet_runs: int = 0  # finished runs in a row without a new or updated call
    calls: int | None = None  # calls the last run found
    enabled: bool = True
    sample: bool = False  # the last run crawled bundled sample pages
    run_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok" and not self.possibly_broken

    @property
    def summary(self) -> str:
        """One line: "ok (6 calls)", "unreachable: site unreachable (DNS lookup failed ...)"."""
        if self.status == NEVER_RUN:
            return "never run"
        text = self.status if self.status == "ok" else f"{self.status}: {self.cause or '?'}"
        if self.message:
            text += f" ({self.message})"
        if self.possibly_broken:
            text = f"possibly broken, no new call in {self.quiet_runs} runs; {text}"
        return text


def quiet_streak(runs: Iterable[CrawlRun]) -> int:
    """Finished runs, newest first, in a row that found no new and no updated call."""
    n = 0
    for run in runs:
        if run.items_new or run.items_updated:
            break
        n += 1
    return n


def latest_health(
    session: Session, sources: SourcesFile | None = None, *, include_disabled: bool = True
) -> list[SourceHealth]:
    """Every configured source (sources.yaml order) with its last finished run's verdict.

    A run still `running` is shown only when the source has no finished run: a crawl in
    progress does not hide last week's outage.
    """
    sources = sources or load_sources()
    out: list[SourceHealth] = []
    for src in sources.sources:
        if not include_disabled and not src.enabled:
            continue
        quiet_limit = sources.health_of(src.id).quiet_runs
        runs = list(
            session.scalars(
                select(CrawlRun)
                .where(CrawlRun.source == src.id)
                .order_by(CrawlRun.id.desc())
                .limit(max(quiet_limit, 1) + 20)
            )
        )
        finished = [r for r in runs if r.finished_at is not None]
        last = finished[0] if finished else (runs[0] if runs else None)
        if last is None:
            out.append(SourceHealth(src.id, src.funder, NEVER_RUN, "not crawled yet", None,
                                    None, False, enabled=src.enabled))  # fmt: skip
            continue
        same_kind = [r for r in finished if r.sample == last.sample]
        quiet = quiet_streak(same_kind)
        out.append(
            SourceHealth(
                source=src.id,
                funder=src.funder,
                status=last.status,
                cause=last.cause,
                message=last.message,
                finished_at=last.finished_at,
                possibly_broken=quiet >= quiet_limit,
                quiet_runs=quiet,
                calls=last.items_seen - last.items_dropped,
                enabled=src.enabled,
                sample=last.sample,
                run_id=last.id,
            )
        )
    return out


def health_of(session: Session, source_id: str) -> SourceHealth | None:
    return next((h for h in latest_health(session) if h.source == source_id), None)
