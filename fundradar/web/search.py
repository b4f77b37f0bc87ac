"""Search that finds: words in the title, summary, eligibility, funder, programme, themes and
the funder's reference, in English, French or Spanish, accents folded and words stemmed; plus
applicant type, budget range and deadline range.

A portable implementation (SQLite and PostgreSQL alike, no schema change): the other filters
run in SQL, the words are matched in Python over the calls they leave. Words are folded
(é → e, case) and stemmed by Snowball in the three languages (snowballstemmer: the Snowball
project's own stemmers, pure Python), so "océans", "oceans" and "ocean" meet. A call's themes
count as its words, with their profile labels, so "ocean" finds every call on the ocean theme
even when its text says "marine" or "mer". Every word of the query must match.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import snowballstemmer
from sqlalchemy import and_, or_
from sqlalchemy.orm import Session

from fundradar.pipeline.exports.query import CallFilter, statement
from fundradar.pipeline.models import CallRow
from fundradar.settings import DISPLAY_TZ

_WORD = re.compile(r"\w+")
_LANGUAGES = ("english", "french", "spanish")
COLUMNS = ("id", "title", "summary", "eligibility_text", "eligible_applicants", "funder",
           "programme", "themes", "source_ref")  # fmt: skip


@dataclass(frozen=True)
class Search:
    text: str = ""
    applicant: str = ""  # a profile applicant id (priorities.yaml `applicants`)
    budget_min: float | None = None  # the call's budget range must reach this amount
    budget_max: float | None = None  # ... and start at or below this one
    deadline_from: date | None = None  # Saint Lucia days, inclusive
    deadline_to: date | None = None

    @property
    def active(self) -> bool:
        return bool(self.text.strip() or self.applicant) or any(
            v is not None
            for v in (self.budget_min, self.budget_max, self.deadline_from, self.deadline_to)
        )


def fold(text: str) -> str:
    """Lower case without accents: 'Océans' → 'oceans'."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@functools.cache
def _stemmers() -> tuple[Any, ...]:
    return tuple(snowballstemmer.stemmer(lang) for lang in _LANGUAGES)


@functools.lru_cache(maxsize=65536)
def stems(word: str) -> frozenset[str]:
    """The folded word and its English, French and Spanish stems; a plural "s" Snowball keeps
    (NGOs, ONGs, OSCs) dropped too."""
    forms = {word}
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        forms.add(word[:-1])
    return frozenset(forms | {s.stemWord(f) for s in _stemmers() for f in forms})


def words(text: str | None) -> list[str]:
    return _WORD.findall(fold(text or ""))


def _text(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value if isinstance(v, str))
    return value if isinstance(value, str) else ""


def document(row: Any, theme_labels: dict[str, str]) -> set[str]:
    """Every stem a call can be found by."""
    themes = [t for t in (row.themes or ()) if isinstance(t, str)]
    parts = [row.title, row.summary, row.eligibility_text, _text(row.eligible_applicants),
             row.funder, row.programme, row.source_ref, " ".join(themes),
             " ".join(theme_labels.get(t, "") for t in themes)]  # fmt: skip
    out: set[str] = set()
    for part in parts:
        for w in words(part):
            out |= stems(w)
    return out


def matches_text(query: str, doc: set[str]) -> bool:
    return all(stems(w) & doc for w in words(query))


def phrase_in(phrases: Iterable[str], text: str) -> bool:
    """Does `text` hold one of `phrases`, word after word, each word by its stems
    ("NGOs" holds "NGO", "associations de pêcheurs" holds "association")?"""
    seq = [stems(w) for w in words(text)]
    where: dict[str, set[int]] = {}
    for i, forms in enumerate(seq):
        for form in forms:
            where.setdefault(form, set()).add(i)
    for phrase in phrases:
        wanted = [stems(w) for w in words(phrase)]
        if not wanted:
            continue
        starts = set().union(*(where.get(f, set()) for f in wanted[0]))
        for i in starts:
            if i + len(wanted) <= len(seq) and all(
                wanted[k] & seq[i + k] for k in range(1, len(wanted))
            ):
                return True
    return False


def sql_conditions(search: Search, tz: str = DISPLAY_TZ) -> list[Any]:
    """Budget and deadline ranges as SQL. A call's budget is the range min..max (either end
    may be missing: then the other end stands for both); its own currency, not converted."""
    conds: list[Any] = []
    low = CallRow.budget_min
    high = CallRow.budget_max
    if search.budget_min is not None:
        conds.append(or_(high >= search.budget_min,
                         and_(high.is_(None), low >= search.budget_min)))  # fmt: skip
    if search.budget_max is not None:
        conds.append(or_(low <= search.budget_max,
                         and_(low.is_(None), high <= search.budget_max)))  # fmt: skip
    zone = ZoneInfo(tz)
    if search.deadline_from is not None:
        start = datetime.combine(search.deadline_from, time(0), zone)
        conds.append(CallRow.deadline >= start)
    if search.deadline_to is not None:
        end = datetime.combine(search.deadline_to + timedelta(days=1), time(0), zone)
        conds.append(CallRow.deadline < end)
    return conds


def matching_ids(
    session: Session, flt: CallFilter, search: Search, *,
    theme_labels: dict[str, str], applicant_terms: dict[str, Sequence[str]],
) -> set[int]:  # fmt: skip
    """Ids of the calls `flt` selects that also match `search`."""
    stmt = statement(flt, COLUMNS).where(*sql_conditions(search)).order_by(None)
    phrases = applicant_terms.get(search.applicant, ()) if search.applicant else ()
    found: set[int] = set()
    for row in session.execute(stmt.execution_options(yield_per=1000)):
        if flt.themes and not set(flt.themes) & set(row.themes or ()):
            continue  # the JSON-substring theme test in SQL is only a first pass
        if search.text.strip() and not matches_text(search.text, document(row, theme_labels)):
            continue
        if search.applicant:
            text = " ".join((_text(row.eligible_applicants), row.eligibility_text or "",
                             row.summary or "", row.title or ""))  # fmt: skip
            if not phrase_in(phrases, text):
                continue
        found.add(row.id)
    return found
