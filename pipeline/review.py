"""Officers' verdicts on calls: relevant, not-relevant or shortlist.

A verdict is a row of its own (`Verdict`), never an edit of the call: the history shows who
changed their mind and when, and the latest verdict per call is the one that counts. A call whose
latest verdict is not-relevant drops out of the digest, the feeds and the review page's default
view (`dismissed_call_ids()` is the one definition all of them use).

Used by `fundradar review` and by the review page; verdicts go back to the scorer through
`fundradar export verdicts` and `judged_calls` (the scorer's feedback, `pipeline.score.feedback`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from fundradar.exceptions import CallNotFoundError, VerdictError
from fundradar.pipeline.models import CallRow, Sighting, Verdict, utcnow

if TYPE_CHECKING:
    from fundradar.pipeline.score.feedback import Judged

VERDICTS = ("relevant", "not-relevant", "shortlist")
_ALIASES = {
    "not_relevant": "not-relevant", "notrelevant": "not-relevant", "irrelevant": "not-relevant",
    "shortlisted": "shortlist",
}  # fmt: skip
MAX_REASON = 2000  # a reason is a sentence or two; a pasted page is cut, not refused
MAX_AUTHOR = 200


def normalise_verdict(value: str) -> str:
    v = (value or "").strip().lower()
    v = _ALIASES.get(v, v)
    if v not in VERDICTS:
        raise VerdictError(f"unknown verdict {value!r} (one of {', '.join(VERDICTS)})")
    return v


# The verdict column of the CSV feed, in the words an officer types in a spreadsheet.
_WORDS = {"relevant": "relevant", "not relevant": "not-relevant", "shortlist": "shortlist"}
WORDS_HELP = "relevant, not relevant: <reason> or shortlist"


def verdict_words(verdict: str | None, reason: str | None = None) -> str:
    """A verdict as the CSV's verdict column shows it and an officer types it:
    'relevant', 'not relevant: too small for us', 'shortlist'; '' for no verdict."""
    if not verdict:
        return ""
    from fundradar.pipeline.exports import one_line

    words = verdict.replace("-", " ")
    reason = one_line(reason)
    return f"{words}: {reason}" if reason else words


def parse_verdict_words(text: str | None) -> tuple[str, str | None] | None:
    """(verdict, reason) from a verdict cell as typed ('Not-Relevant : EU members only');
    None for an empty cell. Case, spaces, hyphens and underscores between the words do not
    matter; anything else (an accent, a typo, another language) raises VerdictError naming
    the accepted forms. Whether not-relevant has its reason is the caller's check."""
    from fundradar.pipeline.exports import one_line

    text = one_line(text)
    if not text:
        return None
    head, _, reason = text.partition(":")
    key = " ".join(head.replace("-", " ").replace("_", " ").lower().split())
    verdict = _WORDS.get(key)
    if verdict is None:
        raise VerdictError(f"unknown verdict {head.strip()!r} (write {WORDS_HELP})")
    return verdict, reason.strip() or None


def same_verdict(latest: Verdict | None, verdict: str, reason: str | None) -> bool:
    """Whether (verdict, reason) is what `latest` already says, as the CSV shows it."""
    if latest is None:
        return False
    mine = verdict_words(verdict, clean_reason(reason))  # as it would be stored
    return verdict_words(latest.verdict, latest.reason) == mine


def resolve_call(session: Session, ref: str) -> CallRow:
    """The call `ref` names: its id, its key (`eu_ft:HORIZON-…`), or a URL it was seen at.

    A URL must name exactly one call; raises CallNotFoundError otherwise, with what was tried.
    """
    ref = (ref or "").strip()
    if not ref:
        raise CallNotFoundError("no call given (an id, a key such as eu_ft:TOPIC-ID, or a URL)")
    if ref.isdigit():
        row = session.get(CallRow, int(ref))
        if row is not None:
            return row
    row = session.scalars(select(CallRow).where(CallRow.key == ref)).first()
    if row is not None:
        return row
    if ref.startswith(("http://", "https://")):
        urls = {ref}
        try:
            from fundradar.pipeline.normalise.urls import canonical_url

            urls.add(canonical_url(ref))
        except (ImportError, ValueError):  # a URL the canonicaliser refuses: match it as typed
            pass
        ids = set(
            session.scalars(
                select(CallRow.id).where(
                    or_(CallRow.url.in_(urls), CallRow.canonical_url.in_(urls))
                )
            )
        ) | set(
            session.scalars(
                select(Sighting.call_id).where(
                    or_(Sighting.url.in_(urls), Sighting.canonical_url.in_(urls))
                )
            )
        )
        if len(ids) == 1:
            return session.get_one(CallRow, ids.pop())
        if len(ids) > 1:
            listed = ", ".join(str(i) for i in sorted(ids)[:10])
            raise CallNotFoundError(
                f"the URL {ref} matches several calls (ids {listed}); give the id instead"
            )
    raise CallNotFoundError(f"no call with id, key or URL {ref!r}")


def record_verdict(
    session: Session,
    call: CallRow,
    verdict: str,
    *,
    reason: str | None = None,
    author: str,
    require_reason: bool = False,
    now: datetime | None = None,
) -> Verdict:
    """Store a verdict (flushes; the caller commits). Returns the new row."""
    verdict = normalise_verdict(verdict)
    reason = clean_reason(reason)
    if verdict == "not-relevant" and require_reason and not reason:
        raise VerdictError("say why the call is not relevant (the reason re-tunes the scorer)")
    author = " ".join((author or "").split())[:MAX_AUTHOR] or "unknown"
    row = Verdict(
        call_id=call.id, verdict=verdict, reason=reason, author=author, created_at=now or utcnow()
    )
    session.add(row)
    session.flush()
    return row


def clean_reason(reason: str | None) -> str | None:
    """A reason as stored: on one line, without NUL or control characters, cut to MAX_REASON."""
    from fundradar.pipeline.exports import one_line

    folded = one_line(reason) or None
    if folded and len(folded) > MAX_REASON:
        folded = folded[: MAX_REASON - 1] + "…"
    return folded


def latest_verdict_ids() -> Select[tuple[int]]:
    """The newest verdict per call (ids only), as a subquery."""
    return select(func.max(Verdict.id)).group_by(Verdict.call_id)


def dismissed_call_ids() -> Select[tuple[int]]:
    """Calls whose latest verdict is not-relevant: hidden from the digest, feeds and page."""
    return select(Verdict.call_id).where(
        Verdict.id.in_(latest_verdict_ids()), Verdict.verdict == "not-relevant"
    )


def latest_verdicts(session: Session, call_ids: Iterable[int] | None = None) -> dict[int, Verdict]:
    """{call id: its latest verdict}, for the given calls or all of them."""
    stmt = select(Verdict).where(Verdict.id.in_(latest_verdict_ids()))
    if call_ids is not None:
        ids = list(call_ids)
        if not ids:
            return {}
        stmt = stmt.where(Verdict.call_id.in_(ids))
    return {v.call_id: v for v in session.scalars(stmt)}


def judged_calls(session: Session) -> list[Judged]:
    """Every call's latest verdict with what the scorer's feedback learns from, oldest first
    (`pipeline.score.feedback.train`). Read-only."""
    from fundradar.pipeline.score.feedback import Judged

    stmt = (
        select(Verdict, CallRow)
        .join(CallRow, CallRow.id == Verdict.call_id)
        .where(Verdict.id.in_(latest_verdict_ids()))
        .order_by(Verdict.id)
    )
    return [
        Judged(
            ref=str(row.id),
            title=row.title,
            verdict=v.verdict,
            funder=row.funder,
            programme=row.programme,
            themes=tuple(row.themes or ()),
            summary=row.summary,
            reason=v.reason,
            when=v.created_at,
        )
        for v, row in session.execute(stmt)
    ]
