"""Search that finds: words in the title, summary, eligibility, funder, programme, themes and
the funder's reference, in English, French or Spanish, accents folded and words stemmed; plus
applicant type, budget range and deadline range.

The words are looked up in the database's full-text index: SQLite's FTS5, PostgreSQL's GIN
index on a tsvector (`pipeline.store.search_index`), over each call's stored search document
(its words folded, é → e, and stemmed by Snowball in the three languages, so "océans",
"oceans" and "ocean" meet). A query word is turned into the same forms, each one quoted, never
passed as index syntax; every word of the query must match. A call's themes count as its
words, with their profile labels: a query word also stands for the themes whose id or label
shares a form with it, so "ocean" finds every call on the ocean theme even when its text says
"marine" or "mer". A SQLite built without FTS5 has no index: the words are then matched in
Python over the calls the other filters leave (`document`, `matches_text`), and the log says
why, once per database.

On SQLite a short list of hits is handed on as ids, a long one as a subquery
(`SQLITE_DRIVE`): each is the faster plan for its size.

The applicant type is matched in Python (a phrase of the profile's applicant terms, word after
word, each by its stems); budget and deadline ranges are SQL. `narrow` puts all of it in the
`CallFilter`, so the page, its charts and its CSV, calendar and Atom feeds select the same calls.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_
from sqlalchemy.orm import Session

from fundradar.pipeline.exports.query import CallFilter, statement
from fundradar.pipeline.models import CallRow
from fundradar.pipeline.store import search_index
from fundradar.pipeline.store.search_index import fold, stems, words

__all__ = ["Search", "document", "fold", "matches_text", "narrow", "phrase_in", "sql_conditions"]
from fundradar.settings import DISPLAY_TZ

log = logging.getLogger(__name__)
COLUMNS = ("id", "title", "summary", "eligibility_text", "eligible_applicants", "funder",
           "programme", "themes", "source_ref")  # fmt: skip
_warned: set[str] = set()  # databases whose missing index was already reported
# SQLite without statistics drives a search from the status index and probes the FTS5 hits for
# each call (~10 ms at 20,000 calls even for a word no call has); a short list of hits, given as
# ids, drives it instead (rowid look-ups: 0.1 ms for none, a few ms for hundreds). A long list
# stays a subquery, which is the faster plan for thousands of hits.
SQLITE_DRIVE = 1000


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


def _text(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value if isinstance(v, str))
    return value if isinstance(value, str) else ""


def document(row: Any, theme_labels: Mapping[str, str]) -> set[str]:
    """Every stem a call can be found by, computed from its row (the fallback without an index,
    and the benchmark's reference)."""
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


def index_ready(session: Session) -> bool:
    """Can the words be looked up in the database's index? When not, say why (once per
    database) and match them in Python."""
    conn = session.connection()
    ready, why = search_index.index_status(conn)
    if not ready:
        where = conn.engine.url.render_as_string(hide_password=True)
        if where not in _warned:
            _warned.add(where)
            log.warning("search matches words in Python, not in the index: %s", why)
    return ready


def narrow(
    session: Session, flt: CallFilter, search: Search, *, theme_labels: Mapping[str, str],
    applicant_terms: Mapping[str, Sequence[str]],
) -> CallFilter:  # fmt: skip
    """`flt` with `search` applied: the calls the review page shows and its feeds give.

    The words go to the index (or, without one, into the Python match); the budget and
    deadline ranges are SQL; the applicant type is matched in Python, so its calls come back
    as ids. `flt.text` (the exports' literal word test) gives way to the search's words."""
    if not search.active:
        return flt
    where = [*sql_conditions(search)]
    in_python = False
    if search.text.strip():
        themes = {t: [label] for t, label in theme_labels.items()}
        terms = search_index.query_terms(search.text, themes)
        if terms and index_ready(session):
            dialect = session.get_bind().dialect.name
            hits = None
            if dialect == "sqlite":
                found = search_index.sqlite_hits(session.connection(), terms, SQLITE_DRIVE + 1)
                hits = frozenset(found) if len(found) <= SQLITE_DRIVE else None
            if hits is not None:
                flt = flt.but(ids=hits if flt.ids is None else flt.ids & hits)
            else:
                where.append(search_index.match_condition(dialect, terms, CallRow.search_doc,
                                                          CallRow.id))  # fmt: skip
        else:
            in_python = bool(terms)
    flt = flt.but(text=None, where=(*flt.where, *where))
    if not (in_python or search.applicant):
        return flt
    ids = _python_ids(session, flt, search, theme_labels=theme_labels,
                      applicant_terms=applicant_terms, match_words=in_python)  # fmt: skip
    return flt.but(ids=frozenset(ids) if flt.ids is None else flt.ids & ids)


def _python_ids(
    session: Session, flt: CallFilter, search: Search, *,
    theme_labels: Mapping[str, str], applicant_terms: Mapping[str, Sequence[str]],
    match_words: bool,
) -> set[int]:  # fmt: skip
    """Ids of the calls `flt` (narrowed by the SQL part of `search`) selects that also match
    `search` in Python: its words (with `match_words`: no index) and its applicant type."""
    stmt = statement(flt, COLUMNS).order_by(None)
    phrases = applicant_terms.get(search.applicant, ()) if search.applicant else ()
    found: set[int] = set()
    for row in session.execute(stmt.execution_options(yield_per=1000)):
        if flt.themes and not set(flt.themes) & set(row.themes or ()):
            continue  # the JSON-substring theme test in SQL is only a first pass
        if (match_words and search.text.strip()
                and not matches_text(search.text, document(row, theme_labels))):  # fmt: skip
            continue
        if search.applicant:
            text = " ".join((_text(row.eligible_applicants), row.eligibility_text or "",
                             row.summary or "", row.title or ""))  # fmt: skip
            if not phrase_in(phrases, text):
                continue
        found.add(row.id)
    return found
