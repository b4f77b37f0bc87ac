"""Does a call match a subscription's filters? Pure functions, one per filter.

The digest (alerts/compose.py) selects calls by band in SQL, then asks `matches` for the rest:
themes, sources, words and the call's language. Instant alerts (alerts/instant.py) ask the same
question, so a person's filters mean one thing everywhere. Words are matched as the review page
matches them (fundradar/web/search.py: accents folded, English, French and Spanish stems, a
call's themes and their labels counted as its words, every word required), so a subscription
saved from the page's search gets the calls that search showed.

`who` is anything with the subscription's attributes: a `config.loader.Recipient` (the
digest's reader) or a `pipeline.models.Subscription` row.
"""

from __future__ import annotations

import functools
from typing import Any

from fundradar.pipeline.record import BANDS
from fundradar.web.search import document, matches_text


def band_ok(row: Any, who: Any) -> bool:
    """At or above the person's lowest band; an unscored call only for those who want all."""
    wanted = getattr(who, "min_band", "medium") or "medium"
    if row.band is None:
        return wanted == "none"
    if row.band not in BANDS or wanted not in BANDS:
        return False
    return BANDS.index(row.band) <= BANDS.index(wanted)


def themes_ok(row: Any, who: Any) -> bool:
    themes = list(getattr(who, "themes", None) or ())
    return not themes or bool(set(row.themes or ()) & set(themes))


def sources_ok(row: Any, who: Any) -> bool:
    """The call's source (where it was first seen) is one of the person's, or she has none."""
    sources = list(getattr(who, "sources", None) or ())
    return not sources or row.source in sources


def language_ok(row: Any, who: Any) -> bool:
    """The call is written in her language; a call whose language is unknown is kept (never
    lose a call to a missing label)."""
    wanted = getattr(who, "call_language", None)
    return not wanted or not row.language or row.language.lower().startswith(wanted)


def words_ok(row: Any, who: Any, theme_labels: dict[str, str] | None = None) -> bool:
    query = (getattr(who, "words", None) or "").strip()
    if not query:
        return True
    labels = theme_labels if theme_labels is not None else _theme_labels()
    return matches_text(query, document(row, labels))


def matches(row: Any, who: Any) -> bool:
    """Every filter but the band (which the digest applies in SQL)."""
    return (
        themes_ok(row, who)
        and sources_ok(row, who)
        and language_ok(row, who)
        and (words_ok(row, who))
    )


def matches_all(row: Any, who: Any) -> bool:
    """Every filter, the band too (instant alerts, tests)."""
    return band_ok(row, who) and matches(row, who)


def _theme_labels() -> dict[str, str]:
    """Theme id -> label from priorities.yaml ("ocean" finds calls on the ocean theme whose
    text says "marine"); {} when the profile cannot be read (words still match the text)."""
    try:
        from fundradar import settings
        from fundradar.pipeline.score import load_profile

        folder = settings.load().config_dir
        return _labels(str(folder), load_profile(folder / "priorities.yaml"))
    except Exception:  # a broken profile is reported by every other command; not here
        return {}


@functools.lru_cache(maxsize=4)
def _labels(folder: str, profile: Any) -> dict[str, str]:
    return {k: v.label for k, v in profile.themes.items()}
