"""Engine, sessions and schema migration.

`init()` brings any database to the newest schema through Alembic (idempotent: a database at
head is left alone). Every command calls `session_scope()`, which initialises on first use, so
`fundradar init` is never a required first step.

A missing SQLite file is created; an *empty* one (0 bytes) is refused: SQLite would quietly
make a new database in it, and the record of what was mailed this week would be gone without a
word (a disk that filled up, a copy that failed, a restore that wrote nothing).
Errors reach the user as one line with the cause (`describe`), never the SQL statement.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from fundradar import settings
from fundradar.exceptions import DatabaseError
from fundradar.pipeline import db_safety
from fundradar.pipeline.partnerships import applications as partnership_hooks

db_safety.install()  # every string cut to its column and NUL-free before any write
# deleting calls archives their applications (never deletes them), however they are deleted
partnership_hooks.install()


def migrations() -> Path:
    """Alembic's script folder: the package's own, or a copy of it when the package is imported
    from a zipped egg (a Scrapyd job), since Alembic loads the scripts by path."""
    from fundradar.resources import package_folder

    return package_folder("fundradar.pipeline.migrations")


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    # WAL lets the review page read while a crawl writes; foreign keys are off by default in SQLite
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def describe(exc: BaseException) -> str:
    """One line for a user: the driver's own message ("database is locked", "disk I/O error"),
    never SQLAlchemy's text, which embeds the SQL statement and its parameters.

    The first database error of the chain is the cause: SQLite rolls the whole transaction back
    on a full disk, so a SAVEPOINT's own rollback then fails ("no such savepoint"). Only the
    first line: PostgreSQL's next lines quote the statement ("LINE 1: INSERT ...") and the
    row's values ("DETAIL: Key (key)=(...)").
    """
    seen = exc.__context__
    while seen is not None:
        if isinstance(seen, SQLAlchemyError):
            exc = seen
        seen = seen.__context__
    orig = getattr(exc, "orig", None)
    cause = orig if isinstance(orig, BaseException) else exc
    text = str(cause).split(" [SQL:", 1)[0]
    first = " ".join(next((x for x in text.splitlines() if x.strip()), "").split())
    if first.startswith("(") and ") " in first:  # "(sqlite3.OperationalError) database is locked"
        first = first.split(") ", 1)[1]
    return f"{type(cause).__name__}: {first}"[:300] if first else type(cause).__name__


def refuse_empty_file(path: Path) -> None:
    """DatabaseError for a 0-byte SQLite file (a missing one is fine: it is created)."""
    try:
        empty = path.is_file() and path.stat().st_size == 0
    except OSError:
        return  # unreadable: SQLite will say why when it opens it
    if empty:
        raise DatabaseError(
            f"the database file {path} is empty (0 bytes), so whatever it held is gone and "
            "starting anew would forget which calls were already mailed: restore it from a "
            "backup, or delete it to start a new database"
        )


_engines_made: set[str] = set()  # so `reset_caches` can close their connections


def get_engine(url: str | None = None) -> Engine:
    """The engine of a URL (default: the settings'), one per URL for the process."""
    return _engine(url or settings.load().database_url)


@lru_cache(maxsize=8)
def _engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if str(path) not in ("", ":memory:"):
            refuse_empty_file(path)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(
                    f"cannot create the database folder {path.parent}: {exc}"
                ) from None
    try:
        engine = create_engine(url, future=True)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise DatabaseError(f"bad FUNDRADAR_DATABASE_URL ({describe(exc)})") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    _engines_made.add(url)
    return engine


def alembic_config(url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(migrations())).get_current_head() or ""


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


_initialised: set[str] = set()
# pg_advisory_xact_lock's key for "migrating": any fixed number, the same in every process
MIGRATION_LOCK_KEY = 0x66726D67  # "frmg"


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None: another database, or SQLite in memory)."""
    if not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///").split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


@contextmanager
def _file_lock(path: Path | None) -> Iterator[None]:
    """An exclusive lock on `<database>.migrate-lock` beside a SQLite file, held while the
    first process migrates: a second one waits, then finds the database at head. Without it
    the second could even see the first's brand-new file still empty and refuse it."""
    if path is None:
        yield
        return
    import fcntl

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path.with_name(path.name + ".migrate-lock"), "a+b")  # noqa: SIM115
    except OSError as exc:
        raise DatabaseError(f"cannot create the database folder {path.parent}: {exc}") from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
        yield


def init(url: str | None = None, *, force: bool = False) -> str:
    """Create or migrate the database to head. Returns what it did, for the CLI to print.

    Safe for concurrent first runs (two servers, a cron job and a command): the migration
    runs under a lock, PostgreSQL's advisory lock held by the migrating transaction or a file
    lock beside a SQLite file, and the revision is read again once the lock is held, so the
    second process finds the work done instead of migrating twice (`duplicate key ...
    alembic_version`)."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    url = url or settings.load().database_url
    if url in _initialised and not force:
        return "up to date"
    head = _head()
    sqlite_file = _sqlite_file(url)
    engine: Engine | None = None
    try:
        if sqlite_file is None:
            engine = get_engine(url)
            if current_revision(engine) == head:  # the usual case: no lock needed
                _initialised.add(url)
                return "up to date"
        with _file_lock(sqlite_file):
            engine = get_engine(url)
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    # held until this transaction ends, i.e. until the migration is committed
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                 {"key": MIGRATION_LOCK_KEY})  # fmt: skip
                before = MigrationContext.configure(conn).get_current_revision()
                if before != head:
                    if before is None and inspect(conn).has_table("calls"):
                        raise DatabaseError(
                            "the database has tables but no migration stamp; refusing to guess"
                        )
                    cfg = alembic_config(url)
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
    except SQLAlchemyError as exc:
        where = (engine.url if engine is not None else make_url(url)).render_as_string(
            hide_password=True
        )
        raise DatabaseError(
            f"cannot open or migrate the database {where}: {describe(exc)}"
        ) from None
    _initialised.add(url)
    if before == head:
        return "up to date"
    return "created" if before is None else f"migrated from {before} to {head}"


@lru_cache(maxsize=8)
def _factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), expire_on_commit=False)


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    """A session maker on an initialised database (for long-lived sessions, e.g. a crawl)."""
    url = url or settings.load().database_url
    init(url)
    return _factory(url)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session in a transaction: committed on success, rolled back on error."""
    url = url or settings.load().database_url
    init(url)
    session = _factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def reset_caches() -> None:
    """Forget engines (tests point FUNDRADAR_DATABASE_URL at a new file per test)."""
    for url in list(_initialised):
        _initialised.discard(url)
    # A snapshot: a thread still finishing (a lease heartbeat, a crawl's report reader) may
    # open an engine while this runs, which must not break the loop.
    made = list(_engines_made)
    _engines_made.difference_update(made)
    for url in made:
        with suppress(Exception):  # a URL that made no engine has nothing to close
            _engine(url).dispose()  # cached: returns the engine made, makes none
    _engine.cache_clear()
    _factory.cache_clear()
