"""JSON Lines exports: every call (for other tools) and the officers' verdicts (for the scorer).

`export json`: one object a line per call, ISO 8601 dates (UTC, with offset), the latest verdict
if any; streamed, so it scales with the database like the CSV.

`export verdicts`: one line per call an officer judged, in the `fundradar score` input shape
(`id`, `title`, `summary`, `funder`, `programme`, `url`, `language`, `deadline`, `opens`,
`budget`, `eligibility`) plus the verdict, its reason, author and time, the score the call had,
and a `label` on the 0–3 relevance scale of `../eval/` (shortlist 3, relevant 2,
not-relevant 0), so the scoring benchmark can read officers' judgements like its own set.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fundradar.pipeline.exports import clean_text
from fundradar.pipeline.exports.query import CallFilter, iter_calls
from fundradar.pipeline.models import CallRow, Verdict
from fundradar.pipeline.normalise.urls import safe_url
from fundradar.pipeline.record import Call
from fundradar.pipeline.review import latest_verdict_ids, latest_verdicts

# The label a verdict stands for on the eval set's relevance scale (DOMAIN.md): an officer who
# shortlists a call would apply (3); "relevant" is worth a look (2); "not relevant" is 0.
VERDICT_LABEL = {"shortlist": 3, "relevant": 2, "not-relevant": 0}

CALL_FIELDS = (
    "id", "key", "source", "source_ref", "url", "title", "summary", "funder", "programme",
    "instrument", "language", "opens_at", "deadline", "deadlines", "status", "budget_min",
    "budget_max", "currency", "budget_scope", "cofinancing_rate", "eligibility_text",
    "eligible_countries", "eligible_applicants", "score", "band", "eligible", "themes",
    "reasons", "first_seen", "last_seen", "updated_at", "listed",
)  # fmt: skip


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt is not None else None


def _text(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_text(v) for v in value]
    return value


def call_object(row: Any, verdict: Verdict | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for name in CALL_FIELDS:
        value = getattr(row, name)
        obj[name] = _iso(value) if isinstance(value, datetime) else _text(value)
    obj["url"] = safe_url(row.url)  # never hand on a javascript: link
    obj["verdict"] = (
        {"verdict": verdict.verdict, "reason": verdict.reason, "author": verdict.author,
         "at": _iso(verdict.created_at)}
        if verdict is not None else None
    )  # fmt: skip
    return obj


def json_lines(
    session: Session, flt: CallFilter | None = None, *, counter: list[int] | None = None
) -> Iterator[str]:
    """One JSON line per selected call (streamed; verdicts are few and read up front)."""
    verdicts = latest_verdicts(session)
    n = 0
    for row in iter_calls(session, flt or CallFilter(), CALL_FIELDS):
        yield json.dumps(call_object(row, verdicts.get(row.id)), ensure_ascii=False) + "\n"
        n += 1
    if counter is not None:
        counter.append(n)


def verdict_object(call: CallRow, verdict: Verdict) -> dict[str, Any]:
    """A verdict in the `fundradar score` input shape, plus the verdict and the old score."""
    return {
        "id": call.key,
        "title": clean_text(call.title),
        "summary": clean_text(call.summary) or None,
        "funder": call.funder,
        "programme": call.programme,
        "url": safe_url(call.url),
        "language": call.language,
        "deadline": _iso(call.deadline),
        "opens": _iso(call.opens_at),
        "budget": Call.budget_display(call) or None,  # type: ignore[arg-type]
        "eligibility": clean_text(call.eligibility_text) or None,
        "verdict": verdict.verdict,
        "label": VERDICT_LABEL[verdict.verdict],
        "reason": verdict.reason,
        "rationale": verdict.reason,  # the eval set's name for the same thing
        "author": verdict.author,
        "verdict_at": _iso(verdict.created_at),
        "score": call.score,
        "band": call.band,
        "themes": list(call.themes or []),
    }


def verdict_lines(session: Session, *, counter: list[int] | None = None) -> Iterator[str]:
    """The latest verdict of every judged call, oldest verdict first, one JSON line each."""
    stmt = (
        select(Verdict, CallRow)
        .join(CallRow, CallRow.id == Verdict.call_id)
        .where(Verdict.id.in_(latest_verdict_ids()))
        .order_by(Verdict.id)
        .execution_options(yield_per=500)
    )
    n = 0
    for verdict, call in session.execute(stmt):
        yield json.dumps(verdict_object(call, verdict), ensure_ascii=False) + "\n"
        n += 1
    if counter is not None:
        counter.append(n)
