"""Scrapy's filesystem HTTP cache, writing only the files it reads back.

`FilesystemCacheStorage.store_response` writes seven files per page; `retrieve_response` reads
four of them (`pickled_meta`, `response_headers`, `response_body`, `response_data`). The three
others (`meta`, a readable copy of `pickled_meta`; `request_headers`; `request_body`) are for
people reading the cache by hand. Creating files is the dearest part of a crawl's CPU (a fifth
of it, profiled on bench/crawl.py): this storage writes the four files Scrapy reads, in the
same layout and format, so a cache written by either storage is read by both.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from time import time

from scrapy import Request, Spider
from scrapy.extensions.httpcache import FilesystemCacheStorage
from scrapy.http import Response
from w3lib.http import headers_dict_to_raw

_READ_BACK_ONLY = {"url", "status", "headers", "body"}  # kept in the other files


class LeanFilesystemCacheStorage(FilesystemCacheStorage):
    def store_response(self, spider: Spider, request: Request, response: Response) -> None:
        rpath = Path(self._get_request_path(spider, request))
        rpath.mkdir(parents=True, exist_ok=True)
        metadata = {
            "url": request.url,
            "method": request.method,
            "status": response.status,
            "response_url": response.url,
            "timestamp": time(),
        }
        data = {k: v for k, v in response.to_dict().items() if k not in _READ_BACK_ONLY}
        # the metadata last: `_read_meta` takes a page as cached once `pickled_meta` exists
        with self._open(rpath / "response_headers", "wb") as f:
            f.write(headers_dict_to_raw(response.headers) or b"")
        with self._open(rpath / "response_body", "wb") as f:
            f.write(response.body)
        with self._open(rpath / "response_data", "wb") as f:
            pickle.dump(data, f, protocol=4)
        with self._open(rpath / "pickled_meta", "wb") as f:
            pickle.dump(metadata, f, protocol=4)
