"""Database: migrations create the schema the models describe; init is idempotent."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

from fundradar.pipeline import db
from fundradar.pipeline.models import Base, CallRow
from fundradar.pipeline.store.search_index import include_name
from tests.conftest import DIALECT, REPO


def test_init_creates_then_is_idempotent(fundradar_home) -> None:  # type: ignore[no-untyped-def]
    assert db.init() == "created"
    if DIALECT == "sqlite":
        assert (fundradar_home / "fundradar.db").exists()
    else:  # the suite's PostgreSQL database, in the test's own schema; no file made
        assert db.get_engine().dialect.name == "postgresql"
        assert not (fundradar_home / "fundradar.db").exists()
    db.reset_caches()
    assert db.init() == "up to date"
    tables = set(inspect(db.get_engine()).get_table_names())
    assert {"calls", "sightings", "call_changes", "crawl_runs", "quarantine", "verdicts",
            "digests", "deliveries", "digest_items", "alembic_version"} <= tables  # fmt: skip


def test_migrations_match_models() -> None:
    """Every model change must come with a migration: autogenerate finds nothing to do."""
    db.init()
    with db.get_engine().connect() as conn:
        # the search index's FTS5 tables and GIN index are made by SQL, not described as models
        context = MigrationContext.configure(conn, opts={"include_name": include_name})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_database_url_from_environment(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'elsewhere' / 'x.db'}"
    monkeypatch.setenv("FUNDRADAR_DATABASE_URL", url)
    db.reset_caches()
    assert db.init() == "created"
    assert (tmp_path / "elsewhere" / "x.db").exists()


def test_datetimes_come_back_aware_utc(session) -> None:  # type: ignore[no-untyped-def]
    ast = timezone(timedelta(hours=-4))
    deadline = datetime(2026, 3, 31, 23, 59, tzinfo=ast)
    session.add(CallRow(key="t:1", source="t", url="https://x.org/1", canonical_url="https://x.org/1",
                        title="T", content_hash="h", deadline=deadline))  # fmt: skip
    session.commit()
    session.expire_all()
    row = session.scalars(select(CallRow)).one()
    assert row.deadline == deadline
    assert row.deadline.tzinfo is not None and row.deadline.utcoffset() == timedelta(0)
    assert row.deadline == datetime(2026, 4, 1, 3, 59, tzinfo=UTC)


def test_naive_datetime_is_refused(session) -> None:  # type: ignore[no-untyped-def]
    session.add(CallRow(key="t:2", source="t", url="https://x.org/2", canonical_url="https://x.org/2",
                        title="T", content_hash="h", deadline=datetime(2026, 1, 1)))  # fmt: skip
    with pytest.raises(Exception, match="naive datetime"):
        session.flush()
    session.rollback()


def test_bad_database_url_is_a_clear_error(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from fundradar.exceptions import DatabaseError

    monkeypatch.setenv("FUNDRADAR_DATABASE_URL", "nosuchdialect://x")
    db.reset_caches()
    with pytest.raises(DatabaseError, match="FUNDRADAR_DATABASE_URL"):
        db.init()


# --------------------------------------------------------------- empty file, errors (issue 17)


def test_empty_database_file_is_refused_not_recreated(sqlite_file: Path) -> None:
    from fundradar.exceptions import DatabaseError

    sqlite_file.parent.mkdir(parents=True, exist_ok=True)
    path = sqlite_file
    path.write_bytes(b"")
    db.reset_caches()
    with pytest.raises(DatabaseError) as exc:
        db.init()
    message = str(exc.value)
    assert str(path) in message and "0 bytes" in message
    assert "restore it from a backup" in message and "delete it" in message
    assert path.stat().st_size == 0  # left as found: nothing silently created in it


def test_missing_database_file_is_still_created(sqlite_file: Path) -> None:
    path = sqlite_file
    assert not path.exists()
    assert db.init() == "created"
    assert path.stat().st_size > 0


def test_describe_gives_the_cause_without_the_sql(session) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    with pytest.raises(SQLAlchemyError) as exc:
        session.execute(text("SELECT secret_column FROM no_such_table WHERE x = :v"), {"v": 1})
    assert "[SQL:" in str(exc.value)  # what SQLAlchemy would have printed
    line = db.describe(exc.value)
    if DIALECT == "sqlite":
        assert line == "OperationalError: no such table: no_such_table"
    else:
        assert line == 'UndefinedTable: relation "no_such_table" does not exist'
    session.rollback()


# ------------------------------------------------------- concurrent first runs (issue 11)


@pytest.mark.parametrize("database", ["suite", "new sqlite file"])
def test_two_first_runs_at_once_both_succeed(database: str, tmp_path: Path) -> None:
    """Two `fundradar init` on an empty database at the same moment (two servers starting, a
    cron job and a command): one migrates under the lock, the other waits and finds it done.
    "suite" is the suite's database (an empty PostgreSQL schema, or a new SQLite file)."""
    env = dict(os.environ)
    if database == "new sqlite file":
        env["FUNDRADAR_DATABASE_URL"] = f"sqlite:///{tmp_path / 'new' / 'first.db'}"
    procs = [
        subprocess.Popen([sys.executable, "-m", "fundradar", "init"], cwd=REPO, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]  # fmt: skip
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    said = sorted(line for out, _err in outputs for line in out.splitlines()
                  if line.startswith("database "))  # fmt: skip
    assert len(said) == 2, outputs
    assert any("created" in line for line in said), said  # one made it
    assert all("created" in line or "up to date" in line for line in said), said
    engine = db.get_engine(env.get("FUNDRADAR_DATABASE_URL"))
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    assert [v for (v,) in versions] == [db._head()]


def test_describe_is_one_line_without_the_statement(session) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL's message goes on with "LINE 1: SELECT ..." (and "DETAIL: Key (...)=(...)"
    for a broken rule): the line a user and a run's message get stops before them."""
    from sqlalchemy.exc import SQLAlchemyError

    with pytest.raises(SQLAlchemyError) as exc:
        session.execute(text("SELECT secret_column FROM no_such_table"))
    line = db.describe(exc.value)
    session.rollback()
    if DIALECT == "sqlite":
        assert line == "OperationalError: no such table: no_such_table"
    else:
        assert line == 'UndefinedTable: relation "no_such_table" does not exist'
    assert "secret_column" not in line


def test_reset_caches_survives_an_engine_opened_meanwhile(tmp_path: Path) -> None:
    """A thread still finishing (a lease heartbeat) may open an engine while the caches are
    reset; the reset must not fail with "Set changed size during iteration" (seen in CI)."""
    first, second = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    engine = db.get_engine(first)
    dispose = engine.dispose

    def dispose_and_open_another(*args: object, **kwargs: object) -> None:
        db.get_engine(second)  # what the other thread does, at the worst moment
        dispose(*args, **kwargs)

    engine.dispose = dispose_and_open_another  # type: ignore[method-assign]
    db.reset_caches()
    assert db.get_engine(first) is not engine  # forgotten: a new engine is made
    db.reset_caches()  # and the engine opened meanwhile is closed by the next reset
