"""Shared test fixtures.

Every test runs with its own FUNDRADAR_HOME (a temporary folder), so its own SQLite database,
outbox and exports; no SMTP host; and no network: spiders read saved responses through
`file_response`, end-to-end crawls go to the local fixture server on 127.0.0.1.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request, Response, TextResponse, XmlResponse

from tests.fault_server import fault_server  # noqa: F401 (a misbehaving HTTP site, for any test)

FIXTURES = Path(__file__).parent / "fixtures"  # test-only data (dedupe pairs, eval sets, bad input)
REPO = Path(__file__).parent.parent
SAMPLES = REPO / "crawlers" / "samples"  # each source's sample pages (package data of the crawlers)

ENV_VARS = (
    "FUNDRADAR_HOME", "FUNDRADAR_DATABASE_URL", "FUNDRADAR_CONFIG", "FUNDRADAR_SMTP_HOST",
    "FUNDRADAR_SMTP_PORT", "FUNDRADAR_SMTP_USER", "FUNDRADAR_SMTP_PASSWORD",
    "FUNDRADAR_SMTP_SECURITY", "FUNDRADAR_MAIL_FROM", "FUNDRADAR_WEB_TOKEN", "FUNDRADAR_AUTHOR",
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
    yield home
    db.reset_caches()


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
