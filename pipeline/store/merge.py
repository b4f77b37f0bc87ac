"""Merge what the pages of one call say into the call: pure functions, no database.

Each place a call is seen (a `Sighting`) keeps its own normalised fields (`page_data`), merged
over time by `merge_page`: a new visit of the same page changes a field only when it brings a
value, so a page that lost its budget paragraph does not erase the budget it gave before.

The call itself is then *rebuilt* from all its pages by `rebuild`, field by field:

1. rank: the funder's own site (0) before `fundradar import` (1) before an aggregator (2);
2. within a rank, the newest value wins (when the page first gave that value);
3. ties are broken by source, then canonical URL, so the result never depends on the order
   in which the pages were seen;

and for each field the first page in that order *that has a value* gives it: a funder page
without a budget does not hide the aggregator's budget. Fields that only make sense together
come from one page: the title with its language, address and identifier; the deadlines with
their kind and time zone; the amounts with their currency and scope. A page whose deadline
could not be read ("not_found") has no deadline to give; "rolling" is a value.
`scoring_call` gives the scorer the merged call with the text of every language version.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fundradar.pipeline.normalise import content_hash, derive_status, next_deadline
from fundradar.pipeline.record import Call

# The fields a page's data holds (JSON values: datetimes as ISO strings).
PAGE_FIELDS = (
    "title", "language", "url", "source_ref", "summary", "funder", "programme", "instrument",
    "opens_at", "deadlines", "deadline_kind", "timezone", "status", "budget_min", "budget_max",
    "currency", "budget_scope", "cofinancing_rate", "eligibility_text", "eligible_countries",
    "eligible_applicants", "notes",
)  # fmt: skip
# Fields taken from one page together; the first name decides whether the page has a value.
GROUPS: tuple[tuple[str, ...], ...] = (
    ("title", "language", "url", "source_ref"),
    ("deadlines", "deadline_kind", "timezone"),
    ("budget_max", "budget_min", "currency", "budget_scope"),
    *((name,) for name in (
        "summary", "funder", "programme", "instrument", "opens_at", "status",
        "cofinancing_rate", "eligibility_text", "eligible_countries", "eligible_applicants",
        "notes",
    )),
)  # fmt: skip
_LEAD = {name: group[0] for group in GROUPS for name in group}
_DATES = ("opens_at",)
EMPTY: tuple[Any, ...] = (None, "", [], {})
NOT_FOUND, ROLLING = "not_found", "rolling"


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


def page_data(call: Call) -> dict[str, Any]:
    """What this item says about its call: the non-empty fields, as JSON values."""
    data = {name: _json(getattr(call, name)) for name in PAGE_FIELDS}
    data["deadline_kind"] = deadline_kind(call.deadlines, call.deadline_kind)
    return {k: v for k, v in data.items() if v not in EMPTY}


def deadline_kind(deadlines: list[Any], kind: str | None) -> str | None:
    """The kind a call is stored with: "not_found" when it has no deadline and is not rolling."""
    if not deadlines and kind != ROLLING:
        return NOT_FOUND
    return kind


def has_value(group: tuple[str, ...], data: Mapping[str, Any]) -> bool:
    lead = group[0]
    if lead == "deadlines":
        return bool(data.get("deadlines")) or data.get("deadline_kind") == ROLLING
    if lead == "budget_max":
        return data.get("budget_max") is not None or data.get("budget_min") is not None
    return data.get(lead) not in EMPTY


def merge_page(
    data: Mapping[str, Any], since: Mapping[str, str], new: Mapping[str, Any], now: datetime
) -> tuple[dict[str, Any], dict[str, str], bool]:
    """A page seen again: (data, since, changed). A group changes only when `new` has a value."""
    out, when, changed = dict(data), dict(since), False
    stamp = now.isoformat()
    for group in GROUPS:
        if not has_value(group, new):
            if not has_value(group, out) and any(new.get(n) not in EMPTY for n in group):
                # nothing better known: keep what it says ("not_found", a time zone)
                for name in group:
                    out.pop(name, None)
                    if new.get(name) not in EMPTY:
                        out[name] = new[name]
            continue
        values = {n: new.get(n) for n in group if new.get(n) not in EMPTY}
        if values == {n: out[n] for n in group if out.get(n) not in EMPTY}:
            continue
        for name in group:
            out.pop(name, None)
            when.pop(name, None)
        out.update(values)
        when.update({n: stamp for n in values})
        when[group[0]] = stamp
        changed = True
    return out, when, changed


@dataclass(frozen=True)
class Page:
    """One sighting as the merge sees it."""

    source: str
    canonical_url: str
    rank: int
    data: Mapping[str, Any]
    since: Mapping[str, str]

    def order(self, lead: str) -> tuple[int, float, str, str]:
        stamp = self.since.get(lead)
        newest = -datetime.fromisoformat(stamp).timestamp() if stamp else 0.0
        return (self.rank, newest, self.source, self.canonical_url)


@dataclass(frozen=True)
class Merged:
    values: dict[str, Any]  # typed: datetimes, lists; also "deadline" and "content_hash"
    owner: Page  # the page that gives the title (the call's address and identifier)
    givers: dict[str, Page]  # group lead -> the page that gave it


def rebuild(
    pages: Iterable[Page], now: datetime, *, weak: Mapping[str, str] | None = None
) -> Merged:
    """The call from all its pages, by the precedence in the module docstring.

    `weak`: {source: funder name} of aggregators, whose own name is no funder to give (used
    only when no page names another).
    """
    pages = list(pages)
    if not pages:
        raise ValueError("a call without any page")
    weak = weak or {}
    values: dict[str, Any] = {}
    givers: dict[str, Page] = {}
    for group in GROUPS:
        lead = group[0]
        ranked = sorted(pages, key=lambda p: p.order(lead))
        having = [p for p in ranked if has_value(group, p.data)]
        if lead == "funder":
            strong = [p for p in having if weak.get(p.source) != p.data.get("funder")]
            having = strong or having
        if having:
            giver = having[0]
            givers[lead] = giver
            for name in group:
                values[name] = giver.data.get(name)
        else:
            for name in group:
                values[name] = None
    # a group without a value anywhere still keeps a stated field (the deadline's time zone)
    if values["timezone"] is None:
        zones = sorted((p for p in pages if p.data.get("timezone")), key=lambda p: p.order(""))
        values["timezone"] = zones[0].data["timezone"] if zones else None
    deadlines = sorted(datetime.fromisoformat(d) for d in values["deadlines"] or [])
    values["deadlines"] = deadlines
    values["deadline_kind"] = deadline_kind(deadlines, values["deadline_kind"])
    for name in _DATES:
        values[name] = datetime.fromisoformat(values[name]) if values[name] else None
    for name in ("eligible_countries", "eligible_applicants", "notes"):
        values[name] = list(values[name] or [])
    # dates decide the status now, as normalise does; a page that said "closed" still wins
    values["status"] = derive_status(values["opens_at"], deadlines, values["status"], now)
    values["deadline"] = next_deadline(deadlines, now)
    values["content_hash"] = content_hash(as_call(values, source=pages[0].source))
    return Merged(values, givers["title"], givers)


def as_call(values: Mapping[str, Any], *, source: str) -> Call:
    call = Call(source=source, url=values.get("url") or "")
    for name, value in values.items():
        if name in Call.__dataclass_fields__ and name not in ("source", "extra"):
            setattr(call, name, value)
    return call


def scoring_call(merged: Merged, pages: Iterable[Page]) -> Call:
    """The merged call, with the title, summary and eligibility of every other language version
    appended (the best page of each language, languages in alphabetical order): the French and
    English pages of one call give one score, whichever was seen first."""
    call = as_call(merged.values, source=merged.owner.source)
    language = merged.values.get("language")
    best: dict[str, Page] = {}
    for page in sorted(pages, key=lambda p: p.order("title")):
        lang = page.data.get("language")
        if lang and lang != language and lang not in best:
            best[lang] = page
    summary = [call.summary] if call.summary else []
    eligibility = [call.eligibility_text] if call.eligibility_text else []
    for lang in sorted(best):
        data = best[lang].data
        for text, into in ((data.get("title"), summary), (data.get("summary"), summary),
                           (data.get("eligibility_text"), eligibility)):  # fmt: skip
            if text and text not in into and text != call.title:
                into.append(text)
    call.summary = "\n".join(summary) or None
    call.eligibility_text = "\n".join(eligibility) or None
    return call
