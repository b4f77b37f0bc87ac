"""The HTTP cache: Scrapy's DBM storage on one SQLite file per source (crawlers/sqlite_dbm.py).

Scrapy's filesystem storage made a folder and 4 to 7 files for every page; creating them was
the dearest single part of a crawl's CPU (bench/crawl.py, issue 16). Scrapy's `DbmCacheStorage`
keeps a source's pages in `httpcache/<source>.db` instead. Added to it:

- pages are written `WRITE_EVERY` at a time, in one statement, and the rest when the spider
  closes. Each write to SQLite lets the other thread of the crawl (the item pipeline's) take
  the interpreter, and the reactor then waits to get it back; one write for many pages keeps
  the reactor's requests on time. A crash loses the cache of those pages only: the next crawl
  downloads them again, as it would without a cache;
- pages cached by an earlier fundradar in the filesystem layout (`httpcache/<source>/…`) are
  still read, and copied into the file when used, so the upgrade re-downloads nothing.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from time import time
from typing import Any

from scrapy import Request, Spider
from scrapy.extensions.httpcache import DbmCacheStorage, FilesystemCacheStorage
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.utils.response import response_from_dict

from fundradar.crawlers import sqlite_dbm

WRITE_EVERY = 50  # pages


class SqliteCacheStorage(DbmCacheStorage):
    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self.dbmodule = sqlite_dbm  # whatever HTTPCACHE_DBM_MODULE says: the format is ours
        self._legacy: FilesystemCacheStorage | None = None
        self._settings = settings
        self._unwritten: dict[str, tuple[bytes, float]] = {}  # key -> (pickled page, time)

    def open_spider(self, spider: Spider) -> None:
        super().open_spider(spider)
        if Path(self.cachedir, spider.name).is_dir():  # an older fundradar's cache
            self._legacy = FilesystemCacheStorage(self._settings)
            self._legacy.open_spider(spider)

    def close_spider(self, spider: Spider) -> None:
        self._write()
        super().close_spider(spider)

    def store_response(self, spider: Spider, request: Request, response: Response) -> None:
        self._keep(request, response.to_dict(), time())

    def _keep(self, request: Request, data: dict[str, Any], stamp: float) -> None:
        key = self._fingerprinter.fingerprint(request).hex()
        self._unwritten[key] = (pickle.dumps(data, protocol=4), stamp)
        if len(self._unwritten) >= WRITE_EVERY:
            self._write()

    def _write(self) -> None:
        if not self._unwritten:
            return
        pages, self._unwritten = self._unwritten, {}
        rows: list[tuple[str, bytes | str]] = []
        for key, (data, stamp) in pages.items():
            rows += [(f"{key}_data", data), (f"{key}_time", str(stamp))]
        self.db.set_many(rows)  # one transaction: a page's data and time land together

    def retrieve_response(self, spider: Spider, request: Request) -> Response | None:
        key = self._fingerprinter.fingerprint(request).hex()
        if key in self._unwritten:  # stored earlier in this crawl
            data, stamp = self._unwritten[key]
            if not 0 < self.expiration_secs < time() - stamp:
                request.meta["cache_timestamp"] = stamp
                return response_from_dict(pickle.loads(data))  # our own pickle
        response = super().retrieve_response(spider, request)
        if response is not None or self._legacy is None:
            return response
        response = self._legacy.retrieve_response(spider, request)
        if response is not None:  # move it over, with the age it had
            self._keep(request, response.to_dict(), request.meta.get("cache_timestamp", time()))
        return response
