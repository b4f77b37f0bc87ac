"""Human sentences for what changed in a call: "deadline moved from 31 March to 30 April".

`pipeline.store.upsert` records one `CallChange(field, old_value, new_value)` per tracked field
and crawl, with dates as ISO strings (deadlines as a list of them). A digest reports the
changes since the recipient last saw the call, which may span several crawls: the first old
value and the last new value of each field are compared, so a deadline that moved and moved
back says nothing, and budget fields (min, max, currency) become one sentence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from fundradar.alerts.i18n import CHANGE_STRINGS, STATUS_WORDS, day_month
from fundradar.pipeline.normalise.dates import to_local

BUDGET_FIELDS = ("budget_min", "budget_max", "currency")


@dataclass(frozen=True)
class Change:
    """One recorded change; CallChange rows and plain tuples both fit."""

    field: str
    old_value: Any
    new_value: Any


def _w(lang: str, key: str, **kwargs: object) -> str:
    table = CHANGE_STRINGS.get(lang) or CHANGE_STRINGS["en"]
    return table[key].format(**kwargs)


def _parse(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = datetime.fromisoformat(str(value))
        except ValueError:
            return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _day_text(dt: datetime, lang: str, *, with_year: bool, with_time: bool, tz: str) -> str:
    local = to_local(dt, tz)
    text = day_month(local.day, local.month, local.year if with_year else None, lang)
    if with_time:
        text += f", {local:%H:%M}" if lang != "fr" else f", {local:%H}h{local:%M}"
    return text


def _pair_texts(old: datetime, new: datetime, lang: str, today: date, tz: str) -> tuple[str, str]:
    """'31 March' and '30 April'; years only where they help, times only on the same day."""
    lo, ln = to_local(old, tz), to_local(new, tz)
    with_year = lo.year != ln.year or not (_near(lo.date(), today) and _near(ln.date(), today))
    same_day = lo.date() == ln.date()
    return (
        _day_text(old, lang, with_year=with_year, with_time=same_day, tz=tz),
        _day_text(new, lang, with_year=with_year, with_time=same_day, tz=tz),
    )


def _near(day: date, today: date) -> bool:
    """Close enough to today that '31 March' cannot be misread as another year's."""
    return -60 <= (day - today).days <= 300


def _one(dt: datetime, lang: str, today: date, tz: str) -> str:
    far = not _near(to_local(dt, tz).date(), today)
    return _day_text(dt, lang, with_year=far, with_time=False, tz=tz)


def _deadline_sentences(
    old: Sequence[Any], new: Sequence[Any], lang: str, today: date, tz: str
) -> list[str]:
    olds = sorted(d for d in (_parse(v) for v in old or []) if d)
    news = sorted(d for d in (_parse(v) for v in new or []) if d)
    if olds == news:
        return []
    if not olds:
        return [_w(lang, "deadline_set", new=_one(news[0], lang, today, tz))]
    if not news:
        return [_w(lang, "deadline_removed", old=_one(olds[-1], lang, today, tz))]
    if len(olds) == len(news):
        out = []
        for o, n in zip(olds, news, strict=True):
            if o != n:
                a, b = _pair_texts(o, n, lang, today, tz)
                out.append(_w(lang, "deadline_moved", old=a, new=b))
        return out
    gone = [d for d in olds if d not in news]
    added = [d for d in news if d not in olds]
    if len(gone) == 1 and len(added) == 1:
        a, b = _pair_texts(gone[0], added[0], lang, today, tz)
        return [_w(lang, "deadline_moved", old=a, new=b)]
    out = [_w(lang, "stage_added", new=_one(d, lang, today, tz)) for d in added]
    out += [_w(lang, "stage_removed", old=_one(d, lang, today, tz)) for d in gone]
    return out


def _status_sentence(
    old: Any, new: Any, lang: str, deadline_after: datetime | None, changed_at: datetime | None
) -> str | None:
    if old == new or new is None:
        return None
    if new == "open":
        return _w(lang, "reopened" if old == "closed" else "now_open")
    if new == "closed":
        # "closed early": the funder closed it while its deadline was still ahead
        early = bool(deadline_after and changed_at and deadline_after > changed_at)
        return _w(lang, "closed_early" if early else "now_closed")
    if new == "forthcoming":
        return _w(lang, "now_forthcoming")
    words = STATUS_WORDS.get(lang) or STATUS_WORDS["en"]
    return _w(lang, "status_changed", old=words.get(old, old), new=words.get(new, new))


def budget_text(
    lo: float | None, hi: float | None, currency: str | None, scope: str | None, lang: str
) -> str:
    """'EUR 2,500,000', 'USD 150,000 – 500,000 per project', or '' when unknown."""
    if lo is None and hi is None:
        return ""

    def fmt(v: float) -> str:
        text = f"{v:,.0f}"
        # French groups thousands with a (narrow no-break) space
        return text.replace(",", "\u202f") if lang == "fr" else text

    cur = currency or ""
    if lo is not None and hi is not None and lo != hi:
        text = f"{cur} {fmt(lo)} – {fmt(hi)}"
    else:
        text = f"{cur} {fmt(hi if hi is not None else lo)}"  # type: ignore[arg-type]
    if scope == "total":
        text += " (total)"
    elif scope == "per_project":
        text += " par projet" if lang == "fr" else " per project"
    return text.strip()


def describe(
    changes: Iterable[Any],
    *,
    current: dict[str, Any] | None = None,
    lang: str = "en",
    today: date | None = None,
    tz: str = "America/St_Lucia",
) -> list[str]:
    """Sentences for the net effect of `changes` (oldest first), in `lang`.

    `current` holds the call's present values (deadline, budget fields, budget_scope) for the
    fields a sentence needs but that did not change. Returns [] when nothing visible changed.
    """
    current = current or {}
    today = today or datetime.now(UTC).date()
    first_old: dict[str, Any] = {}
    last_new: dict[str, Any] = {}
    when: dict[str, datetime | None] = {}
    for ch in changes:
        name, old, new = ch.field, ch.old_value, ch.new_value
        if name == "deadline":  # a single ISO string, as some writers record it
            name, old, new = "deadlines", [old] if old else [], [new] if new else []
        if name not in first_old:
            first_old[name] = old
        last_new[name] = new
        when[name] = getattr(ch, "seen_at", None)

    out: list[str] = []
    if "status" in last_new:
        deadline_after = current.get("deadline")
        if "deadlines" in last_new:
            later = [d for d in (_parse(v) for v in last_new["deadlines"] or []) if d]
            deadline_after = max(later) if later else deadline_after
        sentence = _status_sentence(
            first_old["status"], last_new["status"], lang, deadline_after, when.get("status")
        )
        if sentence:
            out.append(sentence)
    if "deadlines" in last_new:
        out += _deadline_sentences(first_old["deadlines"], last_new["deadlines"], lang, today, tz)
    if "opens_at" in last_new:
        o, n = _parse(first_old["opens_at"]), _parse(last_new["opens_at"])
        if o != n:
            if o and n:
                a, b = _pair_texts(o, n, lang, today, tz)
                out.append(_w(lang, "opens_moved", old=a, new=b))
            elif n:
                out.append(_w(lang, "opens_set", new=_one(n, lang, today, tz)))
            else:
                out.append(_w(lang, "opens_removed"))
    if any(f in last_new for f in BUDGET_FIELDS):
        scope = current.get("budget_scope")
        old_vals = [first_old.get(f, current.get(f)) for f in BUDGET_FIELDS]
        new_vals = [last_new.get(f, current.get(f)) for f in BUDGET_FIELDS]
        if old_vals != new_vals:
            old_t = budget_text(*old_vals, scope, lang)
            new_t = budget_text(*new_vals, scope, lang)
            if old_t and new_t and old_t != new_t:
                out.append(_w(lang, "budget_changed", old=old_t, new=new_t))
            elif new_t and not old_t:
                out.append(_w(lang, "budget_set", new=new_t))
            elif old_t and not new_t:
                out.append(_w(lang, "budget_removed", old=old_t))
    if "title" in last_new and first_old["title"] != last_new["title"] and first_old["title"]:
        old_title = str(first_old["title"])
        if len(old_title) > 120:
            old_title = old_title[:119] + "…"
        out.append(_w(lang, "title_changed", old=old_title))
    return out


def other(lang: str) -> str:
    """The sentence for a call whose content changed in a way no sentence describes."""
    return _w(lang, "other")


def describe_now_closed(lang: str) -> str:
    """The sentence for a call that closed (compose drops it when it closed on its deadline)."""
    return _w(lang, "now_closed")
