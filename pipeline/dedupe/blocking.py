"""Blocking keys: the prefilter that keeps dedupe's fuzzy candidates few however big the
database grows.

The fuzzy stage used to take every stored call whose deadline lies within the tolerance of the
item's (or, without a deadline, every call of its funder) and ask the cheap gate about each: at
50,000 calls two years apart that is a few hundred calls per item, all but a handful with
nothing in common with it. Now a stored call is a candidate only when it also shares a
*blocking key* with the item. Each key is one row of `dedupe_keys` (`DedupeKey`) with the call's
deadline and funder beside it, so the candidate queries are index range scans on
(key, deadline) and (key, funder): their cost follows the calls that share a word *and* a
deadline window with the item, not the size of the table.

The keys are chosen so that no pair the decision (`match.judge`) could accept is lost:

- `w:<first 5 letters>` of each content word of the title (two of them must be shared, or all
  of a title that has fewer), as written and as the glossary
  translates it (`match.title_features`). A same-language match needs a title similarity of 90
  or more, which titles without a common word never reach; a two-language match needs more
  than half of the words matched exactly or as cognates, and cognates (Jaro-Winkler >= 0.9 on
  words of 5 letters and more: "cooperation"/"cooperacion", "sargasses"/"sargassum") share
  their first letters, hence the prefix rather than the whole word;
- `id:<identifier>` of each funder identifier in the title or URL, and the item's own
  `source_ref`: an aggregator's title naming the identifier of a stored call;
- `ed:<source>:<rounds>`: one site's pages of one numbered round (the "same source, same round,
  same deadline" rule needs no common word);
- `link:<hash of the page>` for each page an aggregator's copy links out to: a funder's page
  arriving after the aggregator's copy of it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from fundradar.pipeline.dedupe.match import identifiers, page_identity, title_features
from fundradar.pipeline.models import DedupeKey

__all__ = ["PREFIX", "DedupeKey", "edition_key", "item_keys", "key_rows", "link_key",
           "row_keys", "title_keys"]  # fmt: skip

PREFIX = 5  # letters of a word that make its key (cognates share them)
KEY_LENGTH = 120  # DedupeKey.key's column


def _cut(key: str) -> str:
    return key[:KEY_LENGTH]


def title_keys(title: str | None, url: str | None = None) -> set[str]:
    """Word and identifier keys of a title (and identifiers in its URL)."""
    if not title:
        return set()
    features = title_features(title)
    keys = {"w:" + w[:PREFIX] for w in (*features[3], *features[4]) if w}
    keys |= {_cut("id:" + i.upper()) for i in identifiers(title, url)}
    return keys


def edition_key(source: str | None, title: str | None) -> str | None:
    """One site's numbered round ("2e appel", "Round 3"): the same-source rule's key."""
    if not source or not title:
        return None
    editions = title_features(title)[2]
    if not editions:
        return None
    return _cut(f"ed:{source}:{','.join(str(e) for e in sorted(editions))}")


def link_key(url: str) -> str:
    """A page, as an aggregator's link to it and as the page itself (hashed: URLs are long)."""
    digest = hashlib.sha1(page_identity(url).encode("utf-8")).hexdigest()[:24]
    return "link:" + digest


def row_keys(values: Mapping[str, Any]) -> set[str]:
    """The keys a stored call is found by: `values` holds the call row's `title`, `url`,
    `source`, `source_ref` and `extra` (its `links_to`)."""
    keys = title_keys(values.get("title"), values.get("url"))
    ed = edition_key(values.get("source"), values.get("title"))
    if ed:
        keys.add(ed)
    extra = values.get("extra") or {}
    links = extra.get("links_to") if isinstance(extra, Mapping) else None
    for link in links or ():
        if isinstance(link, str) and link:
            keys.add(link_key(link))
    return keys


def is_word(key: str) -> bool:
    return key.startswith("w:")


def key_rows(call_id: int, values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`dedupe_keys` rows of one stored call (`values`: the call row's columns)."""
    deadline: datetime | None = values.get("deadline")
    funder = values.get("funder")
    funder = funder[:300] if isinstance(funder, str) else None
    keys = sorted(row_keys(values))
    words = sum(1 for k in keys if is_word(k))
    return [
        {"call_id": call_id, "key": key, "deadline": deadline, "funder": funder, "words": words}
        for key in keys
    ]


def item_keys(
    *, title: str | None, url: str | None, source: str | None, source_ref: str | None,
    aggregator: bool,
) -> list[str]:  # fmt: skip
    """The keys to look a new item up by (sorted, for a stable statement)."""
    keys = title_keys(title, url)
    if source_ref:
        keys.add(_cut("id:" + source_ref.strip().upper()))
    ed = edition_key(source, title)
    if ed:
        keys.add(ed)
    if url and not aggregator:  # two aggregators' links say nothing about each other
        keys.add(link_key(url))
    return sorted(keys)


def signature(values: Mapping[str, Any]) -> tuple[Any, ...]:
    """What a call's keys depend on: when it is unchanged, its keys are too."""
    extra = values.get("extra") or {}
    links = extra.get("links_to") if isinstance(extra, Mapping) else None
    return (
        values.get("title"), values.get("url"), values.get("source"), values.get("deadline"),
        values.get("funder"), tuple(links or ()),
    )  # fmt: skip


def all_rows(rows: Iterable[tuple[int, Mapping[str, Any]]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for call_id, values in rows:
        out += key_rows(call_id, values)
    return out
