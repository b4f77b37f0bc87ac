"""The lean HTTP cache storage (crawlers/httpcache.py) writes only the files Scrapy reads back,
and a page it stored is read back whole, by itself and by Scrapy's own storage (one format).
Responses here are made up in the test — not captures."""

from __future__ import annotations

from pathlib import Path

from scrapy import Request, Spider
from scrapy.extensions.httpcache import FilesystemCacheStorage
from scrapy.http import HtmlResponse
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from fundradar.crawlers.httpcache import LeanFilesystemCacheStorage


def _open(storage_cls: type[FilesystemCacheStorage], folder: Path) -> tuple[object, Spider]:
    crawler = get_crawler(Spider, settings_dict={"HTTPCACHE_DIR": str(folder)})
    spider = Spider.from_crawler(crawler, name="lean")
    storage = storage_cls(Settings({"HTTPCACHE_DIR": str(folder)}))
    storage.open_spider(spider)
    return storage, spider


def test_a_stored_page_is_read_back_whole_by_both_storages_from_four_files(
    tmp_path: Path,
) -> None:
    lean, spider = _open(LeanFilesystemCacheStorage, tmp_path)
    request = Request("https://funder.example.org/calls/1")
    body = "<html><body><h1>Appel à projets 2027</h1></body></html>".encode()
    response = HtmlResponse(
        "https://funder.example.org/calls/1", status=200, body=body,
        headers={"ETag": '"abc"', "Content-Type": "text/html; charset=utf-8"},
        request=request,
    )  # fmt: skip
    lean.store_response(spider, request, response)  # type: ignore[attr-defined]

    files = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert files == ["pickled_meta", "response_body", "response_data", "response_headers"]
    stock, stock_spider = _open(FilesystemCacheStorage, tmp_path)
    for storage, sp in ((lean, spider), (stock, stock_spider)):
        back = storage.retrieve_response(sp, request)  # type: ignore[attr-defined]
        assert back is not None and back.status == 200 and back.body == body
        assert back.headers.get("ETag") == b'"abc"' and isinstance(back, HtmlResponse)
    assert lean.retrieve_response(spider, Request("https://funder.example.org/other")) is None  # type: ignore[attr-defined]
