"""The search document of a call, and the database index over it.

Each call stores `search_doc`: the words it can be found by, folded (é → e, case) and stemmed
by Snowball in English, French and Spanish (snowballstemmer: the Snowball project's own
stemmers, pure Python), one token per distinct form, sorted. All three languages' stems, not
only the call's own: the officer's query has no language (an English word must find a French
call whose theme label is English, and "pesqueria" must find a call stored as "en" that quotes
a Spanish title), and a query word matches when any of its forms is among the call's forms.

The words come from the title, summary, eligibility text, eligible applicants, funder,
programme and funder's reference, and from the call's themes: the words of each theme id and
one marker token per theme (`theme_token`). Theme *labels* are not stored: the search expands
a query word into the markers of the themes whose label it matches (`fundradar.web.search`),
so a label edited in priorities.yaml counts at once, without rewriting every call.

The document is computed where calls are written: an ORM flush (`models` calls `refresh` before
each insert and before each update that touches a field it is made of) and the batched Core
store (`pipeline.store.batch`), which writes the transient row's values.

The index:
- SQLite: an FTS5 table `calls_fts` over `calls.search_doc` (external content: the text stays
  in `calls`; tokenizer unicode61 remove_diacritics 2), kept in step by three triggers.
  `MATCH` is given only quoted tokens made here (`fts5_query`), never the officer's text.
  A SQLite built without FTS5 has no such table: the search then matches in Python, said once
  in the log with the reason (`index_status`).
- PostgreSQL: a stored generated column `calls.search_vector`, `to_tsvector('simple',
  search_doc)` (the document is stemmed already, so the 'simple' configuration: no second
  stemming, no stop words), with a GIN index. Stored, not an expression index: a search
  matching thousands of calls is planned as a scan, which would otherwise parse every
  document again (1 s at 20,000 calls instead of 40 ms). The column is PostgreSQL's own
  (computed on every write, never written by us), so the models do not describe it. The
  query is made of `plainto_tsquery('simple', token)` joined with || and &&, no tsquery
  syntax.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import snowballstemmer
from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    func,
    literal_column,
    or_,
    select,
    text,
    true,
)
from sqlalchemy import column as sa_column
from sqlalchemy import table as sa_table

log = logging.getLogger(__name__)

FTS_TABLE = "calls_fts"
PG_COLUMN = "search_vector"
PG_INDEX = "ix_calls_search_vector"
TRIGGERS = ("calls_fts_insert", "calls_fts_delete", "calls_fts_update")
# What the models do not describe: FTS5's table and its shadow tables, PostgreSQL's generated
# column and its index (`include_name` keeps them out of the models-versus-migrations check).
OUTSIDE_MODELS = (FTS_TABLE, PG_COLUMN, PG_INDEX)

# the fields a document is made of (a change to any of them makes it again)
FIELDS = ("title", "summary", "eligibility_text", "eligible_applicants", "funder", "programme",
          "source_ref", "themes")  # fmt: skip
_WORD = re.compile(r"[^\W_]+")  # letters and digits: what FTS5's and PostgreSQL's parsers keep
_LANGUAGES = ("english", "french", "spanish")
_THEME_MARK = "zztheme"


def fold(text: str) -> str:
    """Lower case without accents: 'Océans' → 'oceans' (compatibility-decomposed, combining
    marks dropped, case-folded)."""
    if text.isascii():
        return text.casefold()  # nothing to decompose, no marks
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@functools.lru_cache(maxsize=65536)
def _chunk_words(chunk: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(fold(chunk)))


def words(text: str | None) -> list[str]:
    """The folded words of `text`. Folded a whitespace-separated chunk at a time, each chunk
    once (cached): folding works character by character and no space folds into a letter, so
    the words are those of the whole text folded, at a fraction of the cost (the store folds
    every call it writes)."""
    return [w for chunk in (text or "").split() for w in _chunk_words(chunk)]


@functools.cache
def _stemmers() -> tuple[Any, ...]:
    return tuple(snowballstemmer.stemmer(lang) for lang in _LANGUAGES)


@functools.lru_cache(maxsize=65536)
def stems(word: str) -> frozenset[str]:
    """The folded word and its English, French and Spanish stems; a plural "s" Snowball keeps
    (NGOs, ONGs, OSCs) dropped too."""
    if word.isdigit():
        return frozenset((word,))  # no stemmer changes a number: spare the three of them
    forms = {word}
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        forms.add(word[:-1])
    return frozenset(forms | {s.stemWord(f) for s in _stemmers() for f in forms})


def theme_token(theme: str) -> str:
    """One letters-and-digits token per theme id, exact (hex), for the theme's markers."""
    return _THEME_MARK + theme.encode("utf-8").hex()


_LISTS = ("eligible_applicants", "themes")  # JSON lists of text


def _strings(value: Any) -> list[str]:
    """The text items of a JSON list column, given as a list or as the JSON text SQLite's
    driver returns for a column read without its type."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return [v for v in value if isinstance(v, str) and v] if isinstance(value, list) else []


def document(values: Mapping[str, Any]) -> str:
    """The search document of a call given as its column values (JSON lists as lists or as
    the JSON text SQLite returns)."""
    found: set[str] = set()
    themes = _strings(values.get("themes"))
    for name in FIELDS:
        value = values.get(name)
        if name in _LISTS:
            value = " ".join(themes if name == "themes" else _strings(value))
        found.update(words(value if isinstance(value, str) else None))
    forms = {theme_token(t) for t in themes}
    for word in found:
        forms |= stems(word)
    return " ".join(sorted(forms))


def row_document(row: Any) -> str:
    return document({name: getattr(row, name, None) for name in FIELDS})


def refresh(row: Any, *, changed_only: bool = False) -> None:
    """Set `row.search_doc` from its fields (with `changed_only`, when one of them changed)."""
    if changed_only:
        from sqlalchemy import inspect

        state = inspect(row)
        if not any(state.attrs[name].history.has_changes() for name in FIELDS):
            return
    row.search_doc = row_document(row)


# --- queries -----------------------------------------------------------------------------------
Terms = tuple[tuple[str, ...], ...]  # per query word, the tokens any one of which must be there


def fts5_query(terms: Terms) -> str:
    """An FTS5 MATCH expression: every word (AND), any of its tokens (OR), each token a quoted
    string (a double quote doubled, NUL dropped), so no operator, column filter or prefix
    star can come from the officer's text."""

    def quoted(token: str) -> str:
        return '"' + token.replace("\x00", "").replace('"', '""') + '"'

    return " AND ".join("(" + " OR ".join(quoted(t) for t in alts) + ")" for alts in terms)


def match_condition(dialect: str, terms: Terms, doc_column: Any, id_column: Any) -> Any:
    """The SQL condition "the call's document holds every word of `terms`"."""
    if not terms:
        return true()
    if dialect == "sqlite":
        fts = sa_table(FTS_TABLE, sa_column("rowid"))
        hits = select(fts.c.rowid).where(literal_column(FTS_TABLE).op("MATCH")(fts5_query(terms)))
        return id_column.in_(hits)
    if dialect == "postgresql":
        query: ColumnElement[Any] | None = None
        for alts in terms:
            either: ColumnElement[Any] | None = None
            for token in alts:
                one = func.plainto_tsquery(literal_column("'simple'"), token)
                either = one if either is None else either.op("||")(one)
            query = either if query is None else query.op("&&")(either)
        vector = literal_column(f"{doc_column.table.name}.{PG_COLUMN}")
        return vector.op("@@")(query)
    # another database: the same test as the index, word by word on the stored text
    padded = literal_column("' '") + doc_column + literal_column("' '")
    return and_(*(or_(*(padded.contains(f" {t} ") for t in alts)) for alts in terms))


def sqlite_hits(conn: Connection, terms: Terms, limit: int) -> list[int]:
    """The ids of the calls the FTS5 index matches, at most `limit` of them."""
    stmt = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ? LIMIT ?"
    return [r[0] for r in conn.exec_driver_sql(stmt, (fts5_query(terms), limit))]


# --- the index's presence ------------------------------------------------------------------------
def fts5_available(conn: Connection) -> tuple[bool, str]:
    """Can this SQLite make FTS5 tables? (False, why) when it was built without FTS5."""
    try:
        conn.exec_driver_sql("CREATE VIRTUAL TABLE temp.fundradar_fts5_probe USING fts5(x)")
        conn.exec_driver_sql("DROP TABLE temp.fundradar_fts5_probe")
    except Exception as exc:  # sqlite3.OperationalError: no such module: fts5
        return False, f"this SQLite ({_sqlite_version(conn)}) has no FTS5: {exc}"
    return True, ""


def _sqlite_version(conn: Connection) -> str:
    return str(conn.exec_driver_sql("SELECT sqlite_version()").scalar())


def index_status(conn: Connection) -> tuple[bool, str]:
    """(True, "") when the database's search index can be queried; else (False, the reason)."""
    if conn.dialect.name != "sqlite":
        return True, ""
    found = conn.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (FTS_TABLE,)
    ).first()
    if found:
        return True, ""
    ok, why = fts5_available(conn)
    if not ok:
        return False, why
    return False, (
        f"the table {FTS_TABLE} is missing (the database was migrated by a SQLite without "
        "FTS5); it is made by `create_sqlite_index`"
    )


def include_name(name: str | None, type_: str, _parents: Any = None) -> bool:
    """For Alembic's comparison: leave out the index structures the models do not describe."""
    if name is None:
        return True
    return not (name in OUTSIDE_MODELS or name.startswith(FTS_TABLE + "_"))


# --- making the index (the migration; a database moved to a SQLite with FTS5) ---------------
def create_sqlite_index(conn: Connection) -> tuple[bool, str]:
    """Make the FTS5 table over `calls.search_doc`, fill it, and add its triggers.
    (False, why) when this SQLite has no FTS5: nothing is made, the search matches in Python."""
    ok, why = fts5_available(conn)
    if not ok:
        log.warning("search index not made: %s; the review page's search matches in Python", why)
        return False, why
    conn.exec_driver_sql(
        f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(search_doc, content='calls', "
        "content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
    )
    conn.exec_driver_sql(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
    # external content: the index holds tokens only, and must be told the old text to forget
    conn.exec_driver_sql(
        f"CREATE TRIGGER calls_fts_insert AFTER INSERT ON calls BEGIN "
        f"INSERT INTO {FTS_TABLE}(rowid, search_doc) VALUES (new.id, new.search_doc); END"
    )
    conn.exec_driver_sql(
        f"CREATE TRIGGER calls_fts_delete AFTER DELETE ON calls BEGIN "
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_doc) "
        "VALUES ('delete', old.id, old.search_doc); END"
    )
    conn.exec_driver_sql(
        f"CREATE TRIGGER calls_fts_update AFTER UPDATE OF search_doc ON calls "
        "WHEN old.search_doc IS NOT new.search_doc BEGIN "
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_doc) "
        "VALUES ('delete', old.id, old.search_doc); "
        f"INSERT INTO {FTS_TABLE}(rowid, search_doc) VALUES (new.id, new.search_doc); END"
    )
    return True, ""


def drop_sqlite_index(conn: Connection) -> None:
    for trigger in TRIGGERS:
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {FTS_TABLE}")


def create_pg_index(conn: Connection) -> None:
    conn.exec_driver_sql(
        f"ALTER TABLE calls ADD COLUMN {PG_COLUMN} tsvector GENERATED ALWAYS AS "
        "(to_tsvector('simple', coalesce(search_doc, ''))) STORED"
    )
    conn.exec_driver_sql(f"CREATE INDEX {PG_INDEX} ON calls USING gin ({PG_COLUMN})")


def drop_pg_index(conn: Connection) -> None:
    conn.exec_driver_sql(f"DROP INDEX IF EXISTS {PG_INDEX}")
    conn.exec_driver_sql(f"ALTER TABLE calls DROP COLUMN IF EXISTS {PG_COLUMN}")


def backfill(conn: Connection, batch: int = 2000) -> int:
    """Compute the document of every stored call (the migration). Returns how many."""
    calls = sa_table("calls", sa_column("id"), *(sa_column(n) for n in FIELDS))
    update = text("UPDATE calls SET search_doc = :doc WHERE id = :id")
    done, last = 0, None
    while True:  # a batch at a time, by id: 100,000 calls are never all in memory
        stmt = select(calls).order_by(calls.c.id).limit(batch)
        if last is not None:
            stmt = stmt.where(calls.c.id > last)
        rows = conn.execute(stmt).mappings().all()
        if not rows:
            return done
        conn.execute(update, [{"id": r["id"], "doc": document(r)} for r in rows])
        done += len(rows)
        last = rows[-1]["id"]


def all_tokens(texts: Iterable[str]) -> set[str]:
    """Every form of every word of `texts` (a theme's id and label, for the query's expansion)."""
    out: set[str] = set()
    for t in texts:
        for w in words(t):
            out |= stems(w)
    return out


def query_terms(query: str, themes: Mapping[str, Sequence[str]] | None = None) -> Terms:
    """Per word of `query`, its forms plus the markers of the themes (`themes`: id → the texts
    naming it, e.g. its label) one of whose words shares a form with it."""
    named = {t: all_tokens([t, *texts]) for t, texts in (themes or {}).items()}
    out: list[tuple[str, ...]] = []
    for word in dict.fromkeys(words(query)):
        forms = set(stems(word))
        forms |= {theme_token(t) for t, tokens in named.items() if forms & tokens}
        out.append(tuple(sorted(forms)))
    return tuple(out)
