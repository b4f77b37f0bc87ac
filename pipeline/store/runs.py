"""Crawl and import runs, quarantine, and database errors told in one line."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from fundradar.pipeline import locks
from fundradar.pipeline.models import CrawlRun, Quarantine


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def quarantine(
    session: Session, *, source: str, url: str | None, reason: str,
    payload: dict[str, Any] | None = None, run_id: int | None = None,
) -> None:  # fmt: skip
    """Keep a refused item with where and why. Large payloads are cut: evidence, not a copy."""
    slim: dict[str, Any] | None = None
    if payload is not None:
        slim = {
            k: (v[:2000] + "…" if isinstance(v, str) and len(v) > 2000 else _jsonable(v))
            for k, v in payload.items()
            if v not in (None, [], {}, "")
        }
    session.add(
        Quarantine(source=source, url=(url or "")[:2000] or None, reason=reason[:1000],
                   payload=slim, run_id=run_id)
    )  # fmt: skip


def quarantine_counts(session: Session, *, since: datetime | None = None) -> dict[str, int]:
    """Quarantined items per source (all time, or since a date), for `fundradar sources list`."""
    query = select(Quarantine.source, func.count(Quarantine.id)).group_by(Quarantine.source)
    if since is not None:
        query = query.where(Quarantine.created_at >= since)
    return {source: int(n) for source, n in session.execute(query).all()}


def start_run(session: Session, source: str, *, now: datetime, sample: bool = False) -> CrawlRun:
    run = CrawlRun(source=source, started_at=now, status="running", sample=sample)
    session.add(run)
    session.flush()
    return run


def finish_stale_runs(session: Session, source: str, now: datetime) -> list[int]:
    """A crawl process killed mid-way leaves a 'running' row; close it as failed, with the
    cause the digest and the maintainer read (a run without one read as a generic error).

    Only runs nobody is writing any more: a run whose process still holds its lease
    (`locks.run_lease`, held by the crawl's `RunLog` and renewed while it runs, on this machine
    or another sharing the database) is left alone. Returns the ids closed."""
    running = list(
        session.scalars(
            select(CrawlRun.id).where(CrawlRun.source == source, CrawlRun.status == "running")
        )
    )
    alive = locks.live_in(session, [locks.run_lease(i) for i in running])
    stale = [i for i in running if locks.run_lease(i) not in alive]
    if stale:
        session.execute(
            update(CrawlRun)
            .where(CrawlRun.id.in_(stale), CrawlRun.status == "running")
            .values(
                status="failed",
                finished_at=now,
                cause="the crawl did not finish",
                message="interrupted (process ended before its run was recorded)",
            )
        )
    return stale


def fail_run(
    session: Session, run_id: int | None, cause: str, now: datetime, stats: dict[str, Any]
) -> bool:
    """Close a run stopped by an exception as failed, with its cause. False when even that
    cannot be written (the next run of the source closes it: `finish_stale_runs`)."""
    if run_id is None:
        return False
    try:
        session.rollback()
        session.execute(
            update(CrawlRun)
            .where(CrawlRun.id == run_id)
            .values(
                status="failed", finished_at=now, message=f"stopped: {cause}"[:1000], stats=stats
            )
        )
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        return False
    return True
