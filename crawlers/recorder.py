"""`RecordingMiddleware`: save the live responses of one crawl as fixtures.

`fundradar sources record <id>` sets FUNDRADAR_RECORD_DIR (setting or environment variable) to
`tests/fixtures/<id>/`; every response of the crawl (robots.txt included) is written to a
`capture-<date>/` subfolder with its URL, method, content type, status, validators (ETag,
Last-Modified) and the time it was fetched, and `index.json` is rewritten with
`"origin": "capture"` so the fixture server serves the captures from then on. A reconstructed
index that was there is kept as `index.reconstructed.json`, so the first maintainer with internet
turns guesses into captures without losing what the tests were built on.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

EXTENSIONS = (
    ("json", ".json"), ("rss", ".xml"), ("atom", ".xml"), ("xml", ".xml"), ("html", ".html"),
    ("text/plain", ".txt"), ("pdf", ".pdf"),
)  # fmt: skip
KEPT_HEADERS = ("ETag", "Last-Modified", "X-WP-Total", "X-WP-TotalPages")


def extension(content_type: str, url: str) -> str:
    if url.split("?")[0].endswith("/robots.txt"):
        return ".txt"
    low = content_type.lower()
    return next((ext for key, ext in EXTENSIONS if key in low), ".bin")


def slug(url: str) -> str:
    path = re.sub(r"^https?://[^/]+", "", url).split("#")[0]
    text = re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-").lower()
    return (text or "root")[:60]


class RecordingMiddleware:
    def __init__(self, folder: Path, now: datetime) -> None:
        self.folder = folder
        self.now = now
        self.subdir = f"capture-{now:%Y%m%d}"
        self.responses: list[dict[str, Any]] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RecordingMiddleware:
        raw = crawler.settings.get("FUNDRADAR_RECORD_DIR") or os.environ.get(
            "FUNDRADAR_RECORD_DIR"
        )
        if not raw:
            raise NotConfigured("not recording")
        mw = cls(Path(raw), datetime.now(UTC))
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        return mw

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status == 304:  # nothing new to save (only without a cache, rarely)
            return response
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        name = f"{len(self.responses) + 1:03d}-{slug(response.url)}"
        name += extension(content_type, response.url)
        target = self.folder / self.subdir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(response.body)
        headers = {}
        for key in KEPT_HEADERS:
            value = response.headers.get(key.encode())
            if value:
                headers[key] = value.decode("latin-1")
        entry: dict[str, Any] = {
            "url": response.url,
            "method": request.method,
            "file": f"{self.subdir}/{name}",
            "content_type": content_type or "application/octet-stream",
            "status": response.status,
            "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if headers:
            entry["headers"] = headers
        self.responses.append(entry)
        return response

    def spider_closed(self, spider: Any, reason: str) -> None:
        write_index(self.folder, spider.name, self.responses, self.now, reason)


def write_index(
    folder: Path, source: str, responses: list[dict[str, Any]], now: datetime, reason: str
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    index = folder / "index.json"
    if index.is_file():
        try:
            old = json.loads(index.read_text(encoding="utf-8"))
        except ValueError:
            old = {}
        if old.get("origin") != "capture":
            (folder / "index.reconstructed.json").write_text(
                index.read_text(encoding="utf-8"), encoding="utf-8"
            )
    data = {
        "source": source,
        "origin": "capture",
        "captured_at": now.isoformat(timespec="seconds"),
        "note": (
            f"Captured from the live site by `fundradar sources record {source}` on "
            f"{now:%Y-%m-%d} ({len(responses)} responses; crawl finished: {reason})."
        ),
        "responses": responses,
    }
    index.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    readme = folder / "README.md"
    line = (
        f"\n## Capture of {now:%Y-%m-%d}\n\n`fundradar sources record {source}` saved "
        f"{len(responses)} live responses in `capture-{now:%Y%m%d}/` and rewrote `index.json` "
        "(origin: capture). The reconstructed index, if any, is kept as "
        "`index.reconstructed.json`; spider tests still read the reconstructed files until "
        "they are updated to the capture.\n"
    )
    with readme.open("a", encoding="utf-8") as fh:
        fh.write(line)
    return index
