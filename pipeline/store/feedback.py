"""The team's verdicts in the stored scores (issue 14): every call the store writes is scored by
the rules, then adjusted by the feedback model trained on the verdicts (`pipeline.score.feedback`:
bounded, explained in the call's reasons, off until enough verdicts).

Training reads every verdict, so a model is kept and reused while the verdicts are unchanged:
each call written costs one cheap query (how many verdicts, the newest id), not a training. A
crawl re-scores every call it sees, skipped detail pages included, so a verdict given on
Tuesday moves next Monday's scores of the calls still listed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fundradar.pipeline.models import Verdict

# (database URL, number of verdicts, newest verdict id, profile) -> model; a few entries at most
_MODELS: dict[tuple[str, int, int, int], Any] = {}


def model_for(session: Session, profile: Any) -> Any:
    """The feedback model of the verdicts in this session's database, as they are now."""
    from fundradar.pipeline.review import judged_calls
    from fundradar.pipeline.score.feedback import train

    # no autoflush: the call being written may not be complete yet (its score comes from here)
    with session.no_autoflush:
        stmt = select(func.count(Verdict.id), func.max(Verdict.id))
        # Core on the session's connection (same transaction): once per call written, the
        # ORM's per-statement bookkeeping cost more than the query
        count, newest = session.connection().execute(stmt).one()
        key = (str(session.get_bind().engine.url), int(count or 0), int(newest or 0), id(profile))
        model = _MODELS.get(key)
        if model is None:
            if len(_MODELS) > 8:
                _MODELS.clear()
            model = _MODELS[key] = train(judged_calls(session), profile)
    return model
