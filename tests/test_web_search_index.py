"""The search's index (`pipeline.store.search_index`): FTS5 on SQLite, a GIN-indexed tsvector on
PostgreSQL, over a stored search document kept up to date wherever calls are written; the
migration that makes it on an existing database; the Python fallback without FTS5; and the
review page's feeds giving exactly the calls the page shows.

Calls reconstructed — not captures: realistic wording, made-up values.
"""

from __future__ import annotations

import copy
import csv
import html
import io
import json
import logging
import re
from datetime import timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from alembic import command
from sqlalchemy import create_engine, delete, inspect, select, text, update

from fundradar import settings
from fundradar.pipeline import db, store
from fundradar.pipeline.importer import import_lines
from fundradar.pipeline.models import CallRow
from fundradar.pipeline.normalise import normalise
from fundradar.pipeline.record import Call
from fundradar.pipeline.store import search_index
from fundradar.pipeline.store.batch import BatchStore
from fundradar.web import create_app, search
from fundradar.web.app import _profile
from tests.conftest import DIALECT
from tests.pipeline.exports.exports_factory import NOW, add_call
from tests.test_web_search import found as found_escaped
from tests.test_web_search import seed

sqlite_only = pytest.mark.skipif(DIALECT != "sqlite", reason="FTS5 is SQLite's; PG has no fallback")


@pytest.fixture
def client():  # type: ignore[no-untyped-def]
    return create_app(clock=lambda: NOW).test_client()


@pytest.fixture
def calls() -> None:
    with db.session_scope() as s:
        seed(s, eligible_applicants=["NGOs", "utilities"])
        add_call(s, 5, title='Marine "protected" areas: AND/OR NEAR* monitoring', themes=[],
                 summary="Surveillance des aires marines protégées, drones et sargasses.",
                 deadline=NOW + timedelta(days=20), budget_max=90000)  # fmt: skip


def found(client, query: str) -> set[str]:  # type: ignore[no-untyped-def]
    return {html.unescape(t) for t in found_escaped(client, query)}


def labels() -> dict[str, str]:
    return {k: v.label for k, v in _profile().themes.items()}


def python_reference(query: str) -> set[str]:
    """The calls the Python matching (no index) finds for `query`: the reference."""
    with db.session_scope() as s:
        rows = s.execute(select(*(getattr(CallRow, c) for c in search.COLUMNS))).all()
        return {r.title for r in rows if search.matches_text(query, search.document(r, labels()))}


def index_hits(query: str) -> set[str]:
    with db.session_scope() as s:
        terms = search_index.query_terms(query, {k: [v] for k, v in labels().items()})
        cond = search_index.match_condition(s.get_bind().dialect.name, terms, CallRow.search_doc,
                                            CallRow.id)  # fmt: skip
        return set(s.scalars(select(CallRow.title).where(cond)))


# --- the index finds what the Python matching found -------------------------------------------


QUERIES = ["ocean", "océans", "Pêcheurs", "pesquería", "cooperation", "utility", "NGO",
           "marine protected", "sargasse", "drone", "ocean solar", "prefecture martinique",
           'protected" OR "solar', "AND", "near*", "NEAR(ocean solar)", "title:blue", "-ocean",
           "^blue", "ocean\x00solar", "'; DROP TABLE calls; --", "(", '"', "économie bleue",
           "caraibe", "governance", "island utilities", "energie"]  # fmt: skip


def test_index_finds_what_the_python_matching_finds(calls) -> None:  # type: ignore[no-untyped-def]
    some = 0
    for q in QUERIES:
        expected = python_reference(q)
        assert index_hits(q) == expected, q
        some += bool(expected)
    assert some >= 15  # the queries are not all empty-handed
    assert index_hits("ocean") == {"Blue economy and ocean governance",
                                   "Pêche durable dans la Caraïbe",
                                   "Gestión de pesquerías sostenibles"}  # fmt: skip


def test_hostile_queries_are_words_not_syntax(client, calls) -> None:  # type: ignore[no-untyped-def]
    for q in ('"', "(", "ocean OR solar", "NEAR(a b)", "title:blue", "*", "ocean\x00",
              "%22%29%20OR%20%28%22", "a" * 200):  # fmt: skip
        assert client.get("/", query_string={"q": q}).status_code == 200, q
    # operators are plain words that must all match: nothing has "or" and "solar" and "ocean"
    assert found(client, "q=ocean+OR+solar") == set()
    assert found(client, "q=%22protected%22") == {
        'Marine "protected" areas: AND/OR NEAR* monitoring'
    }
    assert search_index.fts5_query((('a"b', "c\x00d"),)) == '("a""b" OR "cd")'


def test_the_stored_document_is_what_is_searched(client, calls) -> None:  # type: ignore[no-untyped-def]
    with db.session_scope() as s:
        row = s.scalars(select(CallRow).where(CallRow.title.startswith("Solar"))).one()
        assert "util" in row.search_doc.split() and "ocean" not in row.search_doc.split()
        # a document changed behind the text's back: the search follows the document
        s.execute(update(CallRow).where(CallRow.id == row.id).values(search_doc="zebra"))
    assert found(client, "q=zebra") == {"Solar mini-grids for island utilities"}
    assert found(client, "q=utility") == set()


def test_documents_follow_updates_and_deletes(client, calls) -> None:  # type: ignore[no-untyped-def]
    with db.session_scope() as s:
        row = s.scalars(select(CallRow).where(CallRow.title.startswith("Blue"))).one()
        row.title = "Coral reef restoration"
        row.themes = ["energy"]  # a re-score that moved the call to another theme
    assert "Coral reef restoration" not in found(client, "q=ocean")
    assert found(client, "q=coral+reefs") == {"Coral reef restoration"}
    assert "Coral reef restoration" in found(client, "q=energy")
    with db.session_scope() as s:
        s.execute(delete(CallRow).where(CallRow.title == "Coral reef restoration"))
    assert found(client, "q=coral") == set()
    with db.session_scope() as s:  # an untouched field leaves the document alone
        row = s.scalars(select(CallRow).where(CallRow.title.startswith("Solar"))).one()
        s.execute(update(CallRow).where(CallRow.id == row.id).values(search_doc="zebra"))
        s.expire_all()
        row = s.scalars(select(CallRow).where(CallRow.id == row.id)).one()
        row.score = 12
    assert found(client, "q=zebra") == {"Solar mini-grids for island utilities"}


# --- every writer of calls writes the document ---------------------------------------------------


def _new_calls() -> list[Call]:
    raw = [
        Call(source="afd", url="https://afd.example.org/calls/1", language="fr",
             title="Appel à projets : résilience du littoral en Dominique 2027", funder="AFD",
             summary="Protection des côtes et des récifs coralliens.",
             deadline_texts=["30/04/2027"]),
        Call(source="eu_ft", url="https://eu.example.org/calls/2", language="en",
             title="Call for projects: sargassum in Saint Lucia 2027",
             funder="European Commission", eligibility_text="Non-governmental organisations",
             deadline_texts=["15 May 2027"]),
    ]  # fmt: skip
    return [normalise(copy.deepcopy(c), now=NOW) for c in raw]


def _docs() -> dict[str, str]:
    with db.session_scope() as s:
        return {r.title: r.search_doc for r in s.scalars(select(CallRow))}


def test_the_batch_store_writes_the_same_documents_as_upsert(client) -> None:  # type: ignore[no-untyped-def]
    db.init()
    with db.session_scope() as s:
        for c in _new_calls():
            store.store_one(s, c, now=NOW)
    by_upsert = _docs()
    with db.session_scope() as s:
        s.execute(delete(CallRow))
    session = db.session_factory()()
    batch = BatchStore(session, size=100)
    for c in _new_calls():
        batch.add(c, now=NOW)
    assert batch.flush() and batch.rows_written == 2  # written by the Core batch
    session.close()
    assert _docs() == by_upsert and all(by_upsert.values())
    assert found(client, "q=recif+corallien") == {
        "Appel à projets : résilience du littoral en Dominique 2027"
    }
    assert found(client, "q=sargassum+organisations") == {
        "Call for projects: sargassum in Saint Lucia 2027"
    }


def test_a_page_seen_again_with_new_text_is_found_by_its_new_words(client) -> None:  # type: ignore[no-untyped-def]
    first, _ = _new_calls()
    with db.session_scope() as s:
        store.store_one(s, first, now=NOW)
    assert found(client, "q=recifs") == {first.title}
    again = copy.deepcopy(first)  # the funder rewrote its page: upsert merges, re-scores
    again.title = "Appel à projets : énergie solaire pour les écoles 2027"
    again.summary = "Panneaux solaires sur les toits des écoles."
    with db.session_scope() as s:
        assert store.store_one(s, again, now=NOW + timedelta(days=1)).outcome == "updated"
    assert found(client, "q=ecole+solaire") == {again.title}
    assert found(client, "q=recifs") == set() and found(client, "q=littoral") == set()


def test_imported_calls_are_searchable(client) -> None:  # type: ignore[no-untyped-def]
    line = {"title": "Fonds pour la pêche artisanale", "url": "https://x.example.org/peche",
            "funder": "Région Martinique", "deadline": "2027-03-01",
            "eligibility": "Coopératives de pêcheurs"}  # fmt: skip
    report = import_lines([json.dumps(line, ensure_ascii=False)], now=NOW)
    assert report.counts["new"] == 1
    assert found(client, "q=cooperative+pecheur") == {"Fonds pour la pêche artisanale"}


# --- the migration -------------------------------------------------------------------------------


def _before_search(url: str) -> str:
    """The revision before the one that makes the index (found by its file: the revisions may
    be renumbered when branches merge)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(db.alembic_config(url))
    made = next(r for r in script.walk_revisions() if r.path.endswith("_search.py"))
    assert isinstance(made.down_revision, str)
    return made.down_revision


def _old_database(url: str) -> None:
    """A database at the revision before the index, with two calls stored by that code."""
    settings.load().home.mkdir(parents=True, exist_ok=True)
    cfg = db.alembic_config(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, _before_search(url))
        for i, (title, themes, summary) in enumerate(
            [("Résilience côtière et océans", ["ocean"], "Protection du littoral."),
             ("Renewable energy for schools", ["energy"], "Solar panels for schools.")], 1
        ):  # fmt: skip
            conn.execute(
                text("INSERT INTO calls (key, source, url, canonical_url, title, summary, "
                     "deadlines, eligible_countries, eligible_applicants, notes, themes, "
                     "reasons, content_hash, first_seen, last_seen, listed, extra) VALUES "
                     "(:k, 'afd', :u, :u, :t, :s, '[]', '[]', '[\"ONG\"]', '[]', :th, '[]', "
                     "'h', '2026-11-20 00:00:00', '2026-11-20 00:00:00', :l, '{}')"),
                {"k": f"afd:{i}", "u": f"https://afd.example.org/{i}", "t": title,
                 "s": summary, "th": json.dumps(themes), "l": True},
            )  # fmt: skip
    engine.dispose()


def test_upgrade_makes_an_existing_database_searchable(client) -> None:  # type: ignore[no-untyped-def]
    url = settings.load().database_url
    _old_database(url)
    assert f"migrated from {_before_search(url)}" in db.init(url)
    with db.session_scope() as s:
        docs = {r.key: r.search_doc for r in s.execute(select(CallRow.key, CallRow.search_doc))}
        assert "ocean" in docs["afd:1"].split() and "ong" in docs["afd:1"].split()
        assert search_index.index_status(s.connection()) == (True, "")
        if DIALECT == "postgresql":
            assert s.scalar(text("SELECT count(*) FROM pg_indexes WHERE indexname = :n "
                                 "AND schemaname = current_schema()"),
                            {"n": search_index.PG_INDEX}) == 1  # fmt: skip
    assert found(client, "q=oceans&status=all") == {"Résilience côtière et océans"}
    assert found(client, "q=school&status=all") == {"Renewable energy for schools"}
    with db.session_scope() as s:  # and it stays in step afterwards
        add_call(s, 9, title="Ocean literacy in schools", themes=[])
    assert found(client, "q=school&status=all") == {"Renewable energy for schools",
                                                    "Ocean literacy in schools"}  # fmt: skip


def test_downgrade_removes_the_index(fundradar_home) -> None:  # type: ignore[no-untyped-def]
    url = settings.load().database_url
    db.init(url)
    engine = db.get_engine(url)
    cfg = db.alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, _before_search(url))
    with engine.connect() as conn:
        names = {r[0] for r in conn.execute(text(
            "SELECT name FROM sqlite_master" if DIALECT == "sqlite" else
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() UNION "
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))}  # fmt: skip
        gone = {search_index.FTS_TABLE, search_index.PG_INDEX, *search_index.TRIGGERS}
        assert not gone & names
        cols = {c["name"] for c in inspect(conn).get_columns("calls")}
        assert not {"search_doc", search_index.PG_COLUMN} & cols


# --- without FTS5 --------------------------------------------------------------------------------


@sqlite_only
def test_without_fts5_the_search_matches_in_python_and_says_why(
    client, calls, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    with_index = {q: found(client, f"q={q}") for q in ("ocean", "peche", "ngo", "ocean+solar")}
    with db.session_scope() as s:
        search_index.drop_sqlite_index(s.connection())  # as a database migrated without FTS5
    with caplog.at_level(logging.WARNING, logger="fundradar.web.search"):
        for q, expected in with_index.items():
            assert found(client, f"q={q}") == expected, q
    warnings = [r.getMessage() for r in caplog.records if r.name == "fundradar.web.search"]
    assert len(warnings) == 1  # once per database, not once per request
    assert "matches words in Python" in warnings[0] and "calls_fts is missing" in warnings[0]
    assert with_index["ocean"] and with_index["ocean+solar"] == set()


@sqlite_only
def test_a_sqlite_without_fts5_migrates_and_searches(
    client, monkeypatch, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    # This build has FTS5; one without it answers "no such module: fts5" to the probe, which
    # is what the probe's answer here stands for.
    why = "this SQLite (3.x) has no FTS5: no such module: fts5"
    monkeypatch.setattr(search_index, "fts5_available", lambda conn: (False, why))
    url = settings.load().database_url
    _old_database(url)
    with caplog.at_level(logging.WARNING):
        db.init(url)
        assert found(client, "q=ocean&status=all") == {"Résilience côtière et océans"}
    text_ = caplog.text
    assert "search index not made: " + why in text_
    assert "matches words in Python, not in the index: " + why in text_
    with db.session_scope() as s:
        assert s.scalar(text("SELECT count(*) FROM sqlite_master WHERE name = 'calls_fts'")) == 0


# --- the feeds give what the page shows ----------------------------------------------------------


def _page(client, query: str) -> tuple[set[str], int, dict[str, str]]:  # type: ignore[no-untyped-def]
    """The page's titles, its "N calls" and its feed links, from one request."""
    resp = client.get("/?" + query)
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    titles = re.findall(r'<h2 class="title">\s*<a href="/calls/\d+\?back=[^"]*">([^<]+)</a>', page)
    m = re.search(r"(\d+) calls?\b", page)
    assert m, page[:500]
    links = re.findall(r'href="(/calls\.(?:csv|ics|atom)[^"]*)"', page)
    feeds = {urlsplit(h).path: html.unescape(h) for h in links}
    return {html.unescape(t) for t in titles}, int(m.group(1)), feeds


@pytest.mark.parametrize("drive", [search.SQLITE_DRIVE, 0])  # SQLite: hits as ids; as subquery
def test_feeds_give_exactly_the_calls_the_page_shows(client, calls, monkeypatch, drive) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(search, "SQLITE_DRIVE", drive)
    start = NOW.date().isoformat()
    end = (NOW + timedelta(days=80)).date().isoformat()
    narrowest = f"q=ocean&budget_max=250000&deadline_from={start}&deadline_to={end}"
    for query in (narrowest, "q=marine", "applicant=ngo&budget_min=100000",
                  "q=peche+martinique", "q=ocean&theme=regional-cooperation",
                  "budget_max=100000"):  # fmt: skip
        titles, count, links = _page(client, query)
        assert set(links) == {"/calls.csv", "/calls.ics", "/calls.atom"}
        kept = parse_qs(urlsplit(links["/calls.csv"]).query)
        assert kept == parse_qs(query), query  # every filter travels with the link
        body = client.get(links["/calls.csv"]).get_data(as_text=True)
        rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))
        assert count == len(rows) == len(titles) > 0, query
        assert {r["title"] for r in rows} == titles, query
        ics = client.get(links["/calls.ics"]).get_data(as_text=True)
        dated = {t for t in titles if t != "Solar mini-grids for island utilities"}
        assert ics.count("BEGIN:VEVENT") == len(dated), query
        atom = client.get(links["/calls.atom"]).get_data(as_text=True)
        assert atom.count("<entry>") == len(titles), query
        if query == narrowest:  # spelled out
            assert titles == {"Pêche durable dans la Caraïbe", "Gestión de pesquerías sostenibles"}
            assert unquote(links["/calls.ics"]).endswith(f"deadline_to={end}")


def test_a_feed_url_with_words_uses_the_index_too(client, calls) -> None:  # type: ignore[no-untyped-def]
    # stems and themes, as on the page: the literal word test of the exports would miss these
    body = client.get("/calls.csv?q=oceans").get_data(as_text=True)
    titles = {r["title"] for r in csv.DictReader(io.StringIO(body.lstrip("\ufeff")))}
    assert titles == found(client, "q=oceans") and len(titles) == 3
    assert client.get("/calls.csv?budget_min=lots").status_code == 400


def test_many_ids_do_not_hit_the_bound_parameter_limit() -> None:
    # the applicant filter hands its calls over as ids: inlined, not one parameter each
    from fundradar.pipeline.exports.query import CallFilter, count_calls

    with db.session_scope() as s:
        add_call(s, 1)
        flt = CallFilter(statuses=(), ids=frozenset(range(1, 40001)))
        assert count_calls(s, flt) == 1
        assert count_calls(s, CallFilter(statuses=(), ids=frozenset())) == 0
