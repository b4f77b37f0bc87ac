"""Shared test fixtures.

Every test runs with its own FUNDRADAR_HOME (a temporary folder), so its own SQLite database,
outbox and exports; no SMTP host; and no network: spiders read saved responses through
`file_response`, end-to-end crawls go to the local fixture server on 127.0.0.1.

FUNDRADAR_TEST_DATABASE_URL (opt-in, a PostgreSQL URL such as
postgresql+psycopg://fundradar:fundradar@127.0.0.1:5432/fundradar) runs the same tests on
PostgreSQL: each test gets an empty schema of its own (the URL's search_path points at it, so
subprocesses the test starts inherit it through FUNDRADAR_DATABASE_URL), dropped afterwards.
`.ci/run` runs the suite a second time this way; `.ci/postgres` starts a throwaway server.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request, Response, TextResponse, XmlResponse

from tests.fault_server import fault_server  # noqa: F401 (a misbehaving HTTP site, for any test)

FIXTURES = Path(__file__).parent / "fixtures"  # test-only data (dedupe pairs, eval sets, bad input)
REPO = Path(__file__).parent.parent
SAMPLES = REPO / "crawlers" / "samples"  # each source's sample pages (package data of the crawlers)

# The opt-in PostgreSQL server (None: every test on its own SQLite file, the default).
TEST_DATABASE_URL = os.environ.get("FUNDRADAR_TEST_DATABASE_URL") or None
DIALECT = "postgresql" if TEST_DATABASE_URL else "sqlite"

ENV_VARS = (
    "FUNDRADAR_HOME", "FUNDRADAR_DATABASE_URL", "FUNDRADAR_CONFIG", "FUNDRADAR_SMTP_HOST",
    "FUNDRADAR_SMTP_PORT", "FUNDRADAR_SMTP_USER", "FUNDRADAR_SMTP_PASSWORD",
    "FUNDRADAR_SMTP_SECURITY", "FUNDRADAR_MAIL_FROM", "FUNDRADAR_WEB_TOKEN", "FUNDRADAR_AUTHOR",
    "FUNDRADAR_PUBLIC_URL", "FUNDRADAR_SECRET_KEY", "FUNDRADAR_MAINTAINER_ALERTS",
    "FUNDRADAR_MAINTAINER_CHANNEL",
)  # fmt: skip


@pytest.fixture(autouse=True)
def fundradar_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh data folder and database per test; the real user's data is never touched."""
    from fundradar.pipeline import db

    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("FUNDRADAR_HOME", str(home))
    monkeypatch.setenv("FUNDRADAR_AUTHOR", "tester")
    db.reset_caches()
    schema = None
    if TEST_DATABASE_URL:
        schema = f"t_{uuid.uuid4().hex[:16]}"
        monkeypatch.setenv("FUNDRADAR_DATABASE_URL", _create_schema(schema))
    try:
        yield home
    finally:
        db.reset_caches()  # disposes the test's engines: no connection holds the schema
        if schema:
            _drop_schema(schema)


def _admin_engine():  # type: ignore[no-untyped-def]
    """One engine on the opt-in server for making and dropping the tests' schemas."""
    global _ADMIN
    if _ADMIN is None:
        from sqlalchemy import create_engine

        _ADMIN = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT", pool_size=1)
    return _ADMIN


_ADMIN = None


def _create_schema(schema: str) -> str:
    """An empty schema, and the test URL whose connections use it (search_path)."""
    from sqlalchemy import text

    with _admin_engine().connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    return pg_url_for_schema(schema)


def pg_url_for_schema(schema: str) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(TEST_DATABASE_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def _drop_schema(schema: str) -> None:
    """Drop the test's schema. A connection a test left open (a server subprocess killed
    mid-transaction) would block the drop: after a short wait the schema is left to the
    throwaway server rather than hang the suite."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    with _admin_engine().connect() as conn:
        conn.execute(text("SET lock_timeout = '10s'"))
        with suppress(OperationalError):
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture
def sqlite_file(fundradar_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's database as a SQLite file in its home, whatever the suite's database: for
    the tests of what only a file can do (be empty, be locked, be read by sqlite3)."""
    from fundradar.pipeline import db

    path = fundradar_home / "fundradar.db"
    monkeypatch.setenv("FUNDRADAR_DATABASE_URL", f"sqlite:///{path}")
    db.reset_caches()
    return path


@pytest.fixture
def session(fundradar_home: Path):  # type: ignore[no-untyped-def]
    """A session on the test's database, committed at the end of the test."""
    from fundradar.pipeline import db

    with db.session_scope() as s:
        yield s


@pytest.fixture
def now() -> datetime:
    """The date the fixtures are read as of (the clock is frozen here, never at import)."""
    return datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def fixture_path(source: str, name: str) -> Path:
    return SAMPLES / source / name


def file_response(path: str | Path, url: str, *, request: Request | None = None) -> Response:
    """A Scrapy response of the right class built from a saved file (no network).

    The class follows the file: .json -> TextResponse, .xml/.rss/.atom -> XmlResponse,
    .html -> HtmlResponse, as Scrapy would pick from the Content-Type.
    """
    p = Path(path)
    if not p.is_absolute():
        p = FIXTURES / p
    body = p.read_bytes()
    suffix = p.suffix.lower()
    request = request or Request(url)
    if suffix in (".xml", ".rss", ".atom"):
        cls: type[TextResponse] = XmlResponse
    elif suffix in (".html", ".htm"):
        cls = HtmlResponse
    else:
        cls = TextResponse
    return cls(url=url, body=body, encoding="utf-8", request=request)


def load_json(path: str | Path) -> object:
    p = Path(path)
    if not p.is_absolute():
        p = FIXTURES / p
    return json.loads(p.read_text(encoding="utf-8"))


def make_spider(spider_cls, **kwargs):  # type: ignore[no-untyped-def]
    """A spider instance with a real crawler (stats, settings) but no engine or network."""
    from scrapy.utils.test import get_crawler

    crawler = get_crawler(spider_cls, settings_dict={"FUNDRADAR_SAMPLE": True})
    spider = spider_cls.from_crawler(crawler, **kwargs)
    crawler.spider = spider
    return spider


@pytest.fixture
def profile():  # type: ignore[no-untyped-def]
    """The packaged OECS priority profile (the scorer's tests)."""
    from fundradar.pipeline.score import load_profile

    return load_profile(REPO / "config" / "priorities.yaml")


# Headless Chromium (Debian's package) for the browser tests: the flags keep it off this
# machine's closed network (background fetches would be refused, many at a time).
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def chromium_path() -> str | None:
    """The chromium binary, or None (browser tests are then skipped with that reason)."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None
