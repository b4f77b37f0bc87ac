"""The HTTP cache storage (crawlers/httpcache.py): Scrapy's DBM storage on one SQLite file per
source (crawlers/sqlite_dbm.py). A page stored is read back whole; pages are written in groups
(a crash loses the last group's cache only); a cache left by an older
fundradar in Scrapy's filesystem layout is still read, and moved into the file when used; a
damaged file costs its pages, never the crawl. Responses here are made up in the test — not
captures."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from scrapy import Request, Spider
from scrapy.extensions.httpcache import FilesystemCacheStorage
from scrapy.http import HtmlResponse, Response
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from fundradar.crawlers import sqlite_dbm
from fundradar.crawlers.httpcache import WRITE_EVERY, SqliteCacheStorage

URL = "https://funder.example.org/calls/1"
BODY = "<html><body><h1>Appel à projets 2027</h1></body></html>".encode()


def _open(storage_cls: type, folder: Path) -> tuple[object, Spider]:
    crawler = get_crawler(Spider, settings_dict={"HTTPCACHE_DIR": str(folder)})
    spider = Spider.from_crawler(crawler, name="lean")
    storage = storage_cls(Settings({"HTTPCACHE_DIR": str(folder)}))
    storage.open_spider(spider)
    return storage, spider


def _page(url: str = URL, body: bytes = BODY) -> tuple[Request, HtmlResponse]:
    request = Request(url)
    response = HtmlResponse(
        url, status=200, body=body, request=request,
        headers={"ETag": '"abc"', "Content-Type": "text/html; charset=utf-8"},
    )  # fmt: skip
    return request, response


def _same(back: Response | None, body: bytes = BODY) -> None:
    assert back is not None and back.status == 200 and back.body == body
    assert back.headers.get("ETag") == b'"abc"' and isinstance(back, HtmlResponse)


def test_pages_are_kept_in_one_file_per_source_and_read_back_whole(tmp_path: Path) -> None:
    storage, spider = _open(SqliteCacheStorage, tmp_path)
    for n in range(50):
        storage.store_response(spider, *_page(f"{URL}?n={n}"))  # type: ignore[attr-defined]
    request, _ = _page(f"{URL}?n=7")
    _same(storage.retrieve_response(spider, request))  # type: ignore[attr-defined]
    assert "cache_timestamp" in request.meta  # the RFC 2616 policy reads the page's age there
    assert storage.retrieve_response(spider, Request(f"{URL}/other")) is None  # type: ignore[attr-defined]
    storage.close_spider(spider)  # type: ignore[attr-defined]

    files = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm")))
    assert files == ["lean.db"]  # not a folder and four files per page
    again, spider2 = _open(SqliteCacheStorage, tmp_path)  # a later crawl reads it back
    _same(again.retrieve_response(spider2, _page(f"{URL}?n=49")[0]))  # type: ignore[attr-defined]


def test_a_page_stored_again_replaces_the_old_copy(tmp_path: Path) -> None:
    storage, spider = _open(SqliteCacheStorage, tmp_path)
    storage.store_response(spider, *_page())  # type: ignore[attr-defined]
    storage.store_response(spider, *_page(body=b"<html>changed</html>"))  # type: ignore[attr-defined]
    _same(storage.retrieve_response(spider, _page()[0]), b"<html>changed</html>")  # type: ignore[attr-defined]
    storage.close_spider(spider)  # type: ignore[attr-defined]
    with sqlite_dbm.open(tmp_path / "lean.db", "r") as db:
        assert len(db) == 2  # its data and its time, once
    again, spider2 = _open(SqliteCacheStorage, tmp_path)
    _same(again.retrieve_response(spider2, _page()[0]), b"<html>changed</html>")  # type: ignore[attr-defined]


def test_pages_are_written_in_groups_and_a_crash_loses_only_the_last_group(
    tmp_path: Path,
) -> None:
    storage, spider = _open(SqliteCacheStorage, tmp_path)
    for n in range(WRITE_EVERY + 3):
        storage.store_response(spider, *_page(f"{URL}?n={n}"))  # type: ignore[attr-defined]
    # killed here (no close): the first group is in the file, the 3 after it are not
    later, spider2 = _open(SqliteCacheStorage, tmp_path)
    found = [
        later.retrieve_response(spider2, _page(f"{URL}?n={n}")[0]) is not None  # type: ignore[attr-defined]
        for n in range(WRITE_EVERY + 3)
    ]
    assert found == [True] * WRITE_EVERY + [False] * 3
    # while the crawl runs, a page not yet written is read from memory
    _same(storage.retrieve_response(spider, _page(f"{URL}?n={WRITE_EVERY + 2}")[0]))  # type: ignore[attr-defined]


def test_a_cache_of_the_older_filesystem_layout_is_read_and_moved_over(tmp_path: Path) -> None:
    old, old_spider = _open(FilesystemCacheStorage, tmp_path)
    old.store_response(old_spider, *_page())  # type: ignore[attr-defined]
    assert (tmp_path / "lean").is_dir()

    storage, spider = _open(SqliteCacheStorage, tmp_path)
    request = _page()[0]
    _same(storage.retrieve_response(spider, request))  # type: ignore[attr-defined]
    stamp = request.meta["cache_timestamp"]
    storage.close_spider(spider)  # type: ignore[attr-defined]
    # now in the new file too, with the age it had: a later crawl without the folder finds it
    for page in (tmp_path / "lean").rglob("*"):
        if page.is_file():
            page.unlink()
    later, spider2 = _open(SqliteCacheStorage, tmp_path)
    again = _page()[0]
    _same(later.retrieve_response(spider2, again))  # type: ignore[attr-defined]
    assert again.meta["cache_timestamp"] == pytest.approx(stamp)


def test_a_damaged_cache_file_is_set_aside_and_a_new_one_started(tmp_path: Path) -> None:
    (tmp_path / "lean.db").write_bytes(b"this is not a database" * 100)
    storage, spider = _open(SqliteCacheStorage, tmp_path)
    assert storage.retrieve_response(spider, _page()[0]) is None  # type: ignore[attr-defined]
    storage.store_response(spider, *_page())  # type: ignore[attr-defined]
    storage.close_spider(spider)  # type: ignore[attr-defined]
    later, spider2 = _open(SqliteCacheStorage, tmp_path)
    _same(later.retrieve_response(spider2, _page()[0]))  # type: ignore[attr-defined]
    assert (tmp_path / "lean.db.broken").read_bytes().startswith(b"this is not a database")


def test_the_file_has_the_layout_of_python_dbm_sqlite3(tmp_path: Path) -> None:
    """One table `Dict(key, value)`, as Python 3.13's `dbm.sqlite3` writes: either reads it."""
    with sqlite_dbm.open(tmp_path / "x.db", "c") as db:
        db["k"] = b"v"
        db[b"k2"] = "w"
        assert db[b"k"] == b"v" and db["k2"] == b"w" and "k" in db and b"nope" not in db
        assert sorted(db.keys()) == [b"k", b"k2"] and len(db) == 2
        del db["k"]
        with pytest.raises(KeyError):
            db["k"]
        with pytest.raises(KeyError):
            del db["k"]
    rows = sqlite3.connect(tmp_path / "x.db").execute("SELECT key, value FROM Dict").fetchall()
    assert rows == [(b"k2", b"w")]
    with sqlite_dbm.open(tmp_path / "x.db", "r") as db:
        assert db[b"k2"] == b"w"
    with pytest.raises(sqlite_dbm.error):
        sqlite_dbm.open(tmp_path / "missing.db", "w")


def test_a_page_and_its_time_are_written_together_or_not_at_all(tmp_path: Path) -> None:
    with sqlite_dbm.open(tmp_path / "t.db", "c") as db:
        with pytest.raises(RuntimeError), db.transaction():
            db["a_data"] = b"page"
            raise RuntimeError("stopped between the two writes")
        assert "a_data" not in db
