"""What a complete crawl no longer lists: marked, never deleted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fundradar.pipeline.models import CallChange, Sighting


def touch_seen(session: Session, source: str, url: str | None, now: datetime) -> bool:
    """A page this source still lists but whose item was refused this time stays listed:
    a broken detail page is not a call withdrawn."""
    if not url:
        return False
    try:
        from fundradar.pipeline.normalise.urls import canonical_url

        canon = canonical_url(url)
    except Exception:
        canon = url
    sighting = session.scalars(
        select(Sighting).where(Sighting.source == source, Sighting.canonical_url == canon)
    ).first()
    if sighting is None:
        return False
    sighting.last_seen = now
    return True


def mark_unlisted(
    session: Session, source: str, run_started: datetime, now: datetime,
    run_id: int | None = None,
) -> int:  # fmt: skip
    """After a complete crawl: sightings of `source` not seen in it are no longer listed.

    Calls are never deleted; a call is unlisted when none of its sightings is listed any more,
    and that is recorded as a change (field `listed`, True -> False). A page gone keeps its
    data: the call is still rebuilt from it (its newer pages win by date anyway).
    """
    stale = session.scalars(
        select(Sighting).where(
            Sighting.source == source, Sighting.listed.is_(True), Sighting.last_seen < run_started
        )
    ).all()
    for s in stale:
        s.listed = False
        call = s.call
        others = [o for o in call.sightings if o is not s and o.listed]
        if call.listed and not others:
            call.listed = False
            call.unlisted_at = now
            session.add(CallChange(call=call, run_id=run_id, field="listed", old_value=True,
                                   new_value=False, seen_at=now, source=source))  # fmt: skip
    session.flush()
    return len(stale)
