"""The candidate queries read only the postings they need: in the SQLite query plan of the
statement `candidates` runs, the "undated calls of the item's funder" branch uses all three
columns of the (key, funder, deadline) index, so its cost follows the funder's undated calls,
not every call of the funder that shares a title word (a number that grows with the
database)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import event

from fundradar.pipeline import db
from fundradar.pipeline.dedupe import candidates
from fundradar.pipeline.normalise import normalise
from fundradar.pipeline.record import Call

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


def plans_of(session, item: Call) -> list[str]:  # type: ignore[no-untyped-def]
    """The query plan of each candidate statement run for `item`, as SQLite prints it."""
    engine = session.get_bind()
    seen: list[tuple[str, tuple]] = []  # type: ignore[type-arg]

    def keep(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "dedupe_keys" in statement:
            seen.append((statement, tuple(parameters)))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        candidates(session, item)
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    conn = session.connection()
    return [
        "\n".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params))
        for sql, params in seen
    ]


def item(**kw) -> Call:  # type: ignore[no-untyped-def]
    base = {"source": "afd", "url": "https://www.afd.fr/fr/appels-a-projets/a", "funder": "AFD",
            "title": "Initiatives OSC 2027 : appel à manifestations d'intentions de projet",
            "language": "fr"}  # fmt: skip
    base.update(kw)
    return normalise(Call(**base), now=NOW)


def test_undated_branch_is_an_equality_on_key_funder_and_deadline(sqlite_file) -> None:  # type: ignore[no-untyped-def]
    with db.session_scope() as session:
        (text,) = plans_of(session, item(deadline_texts=["31 mars 2027"]))
    undated = [ln for ln in text.splitlines() if "funder=" in ln]
    assert len(undated) == 2, text  # strong keys, title words
    for ln in undated:
        assert "ix_dedupe_keys_key_funder_deadline (key=? AND funder=? AND deadline=?)" in ln, text
    windowed = [ln for ln in text.splitlines() if "deadline>" in ln]
    assert len(windowed) == 2 and all("ix_dedupe_keys_key_deadline" in ln for ln in windowed)


def test_item_without_deadline_looks_up_its_funder_on_the_index(sqlite_file) -> None:  # type: ignore[no-untyped-def]
    with db.session_scope() as session:
        (text,) = plans_of(session, item())
    scans = [ln for ln in text.splitlines() if "dedupe_keys" in ln]
    assert len(scans) == 2, text
    assert all("ix_dedupe_keys_key_funder_deadline (key=? AND funder=?)" in ln for ln in scans)
