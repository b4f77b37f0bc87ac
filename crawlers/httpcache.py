"""The HTTP cache: Scrapy's DBM storage on one SQLite file per source (crawlers/sqlite_dbm.py).

Scrapy's filesystem storage made a folder and 4 to 7 files for every page; creating them was
the dearest single part of a crawl's CPU (bench/crawl.py, issue 16). Scrapy's `DbmCacheStorage`
keeps a source's pages in `httpcache/<source>.db` instead. Two things are added to it:

- a page is stored in one transaction (Scrapy writes its data and its time as two keys);
- pages cached by an earlier fundradar in the filesystem layout (`httpcache/<source>/…`) are
  still read, and copied into the new file when used, so the upgrade re-downloads nothing.
"""

from __future__ import annotations

import logging
import pickle
from pathlib import Path
from time import time

from scrapy import Request, Spider
from scrapy.extensions.httpcache import DbmCacheStorage, FilesystemCacheStorage
from scrapy.http import Response
from scrapy.settings import BaseSettings

from fundradar.crawlers import sqlite_dbm

logger = logging.getLogger(__name__)


class SqliteCacheStorage(DbmCacheStorage):
    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self.dbmodule = sqlite_dbm  # whatever HTTPCACHE_DBM_MODULE says: the format is ours
        self._legacy: FilesystemCacheStorage | None = None
        self._settings = settings

    def open_spider(self, spider: Spider) -> None:
        super().open_spider(spider)
        if Path(self.cachedir, spider.name).is_dir():  # an older fundradar's cache
            self._legacy = FilesystemCacheStorage(self._settings)
            self._legacy.open_spider(spider)

    def store_response(self, spider: Spider, request: Request, response: Response) -> None:
        key = self._fingerprinter.fingerprint(request).hex()
        data = pickle.dumps(response.to_dict(), protocol=4)
        with self.db.transaction():
            self.db[f"{key}_data"] = data
            self.db[f"{key}_time"] = str(time())

    def retrieve_response(self, spider: Spider, request: Request) -> Response | None:
        response = super().retrieve_response(spider, request)
        if response is not None or self._legacy is None:
            return response
        response = self._legacy.retrieve_response(spider, request)
        if response is not None:  # move it over; its cache time is the legacy one
            stamp = request.meta.get("cache_timestamp", time())
            key = self._fingerprinter.fingerprint(request).hex()
            with self.db.transaction():
                self.db[f"{key}_data"] = pickle.dumps(response.to_dict(), protocol=4)
                self.db[f"{key}_time"] = str(stamp)
        return response
