"""`RecordingMiddleware`: save the live responses of one crawl as fixtures.

`fundradar sources record <id>` sets FUNDRADAR_RECORD_DIR (setting or environment variable) to
a staging copy of the source's sample folder (`crawlers/samples/<id>/` in a checkout,
`$FUNDRADAR_HOME/samples/<id>/` from an installed package; see below); every response of the
crawl (robots.txt included) is written to a `capture-<date>/` subfolder with its URL, method,
content type, status, validators (ETag, Last-Modified) and the time it was fetched, and
`index.json` is rewritten with `"origin": "capture"` so the fixture server serves the captures
from then on. A reconstructed index that was there is kept as `index.reconstructed.json`, so
the first maintainer with internet turns guesses into captures without losing what the tests
were built on.

A capture never replaces a good fixture with an empty one (issue 17: `sources record anr` with
no network did): the command records into a *staging* copy next to the fixture
(`staging_folder`), the middleware also notes the calls the crawl produced and the requests that
failed (`RESULT_FILE`), and only a capture holding at least one usable call (a title and an
http(s) link) is swapped in by rename (`promote`); otherwise the staging copy is deleted and
`why_unusable` says why ("DNS lookup failed for www.anr.fr").
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    NotConfigured,
)
from scrapy.http import Response
from twisted.internet import error as net

from fundradar.crawlers.middlewares import ORIGINAL_URL

EXTENSIONS = (
    ("json", ".json"), ("rss", ".xml"), ("atom", ".xml"), ("xml", ".xml"), ("html", ".html"),
    ("text/plain", ".txt"), ("pdf", ".pdf"),
)  # fmt: skip
KEPT_HEADERS = ("ETag", "Last-Modified", "X-WP-Total", "X-WP-TotalPages")
RESULT_FILE = ".record-result.json"  # what the crawl made of the capture; never swapped in
MAX_FAILURES = 20
# Scrapy's own download errors (2.13+) and Twisted's, which older handlers still raise
_NO_HOST = (CannotResolveHostError, net.DNSLookupError)
_REFUSED = (DownloadConnectionRefusedError, net.ConnectionRefusedError)
_TIMEOUT = (DownloadTimeoutError, net.TimeoutError, net.TCPTimedOutError)


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
        self.failures: list[dict[str, str]] = []
        self.usable = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RecordingMiddleware:
        raw = crawler.settings.get("FUNDRADAR_RECORD_DIR") or os.environ.get("FUNDRADAR_RECORD_DIR")
        if not raw:
            raise NotConfigured("not recording")
        mw = cls(Path(raw), datetime.now(UTC))
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(mw.item_scraped, signal=signals.item_scraped)
        return mw

    def item_scraped(self, item: Any, response: Response, spider: Any) -> None:
        """A call that passed every pipeline stage; usable when it has a title and a link."""
        if is_usable(item):
            self.usable += 1

    def process_exception(self, request: Request, exception: BaseException) -> None:
        """Called once retries are spent (after RetryMiddleware): the site was never read."""
        if len(self.failures) < MAX_FAILURES:
            url = request.meta.get(ORIGINAL_URL, request.url)
            self.failures.append({"url": url, "error": failure_text(exception, url)})

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
        result = {"responses": len(self.responses), "usable_calls": self.usable,
                  "failures": self.failures, "reason": reason,
                  "statuses": [[r["status"], r["url"]] for r in self.responses]}  # fmt: skip
        (self.folder / RESULT_FILE).write_text(json.dumps(result, indent=1), encoding="utf-8")


def is_usable(item: Any) -> bool:
    url = str(getattr(item, "url", "") or "")
    return bool(getattr(item, "title", None)) and url.startswith(("http://", "https://"))


def failure_text(exc: BaseException, url: str) -> str:
    """One phrase for a request that never got an answer, naming the host."""
    host = re.sub(r"^[a-z]+://", "", url).split("/")[0]
    name = type(exc).__name__
    if isinstance(exc, _NO_HOST):
        return f"DNS lookup failed for {host}"
    if isinstance(exc, _REFUSED):
        return f"connection refused by {host}"
    if isinstance(exc, _TIMEOUT):
        return f"no answer from {host} (timed out)"
    text = str(exc).split("\n")[0][:120]
    return f"{name} at {host}" + (f": {text}" if text else "")


# --- staging and swap (used by `fundradar sources record`) ------------------------------------


@dataclass
class CaptureResult:
    responses: int = 0
    usable_calls: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    statuses: list[tuple[int, str]] = field(default_factory=list)
    reason: str = "the crawl wrote no capture"

    @property
    def usable(self) -> bool:
        return self.usable_calls > 0


def staging_folder(target: Path, seed: Path | None = None) -> Path:
    """A new folder next to `target` (same file system: the swap is a rename), holding a copy
    of the current samples so the capture adds to it as it always did; `seed` (the bundled
    pages) is copied when `target` does not exist yet."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.recording-", dir=target.parent))
    if target.is_dir():
        shutil.copytree(target, staging, symlinks=True, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(RESULT_FILE))  # fmt: skip
    elif seed is not None and seed.is_dir():
        # contents only, not modes: an installed package's files may be read-only
        shutil.copytree(seed, staging, dirs_exist_ok=True, copy_function=shutil.copyfile)
    return staging


def read_result(staging: Path) -> CaptureResult:
    path = staging / RESULT_FILE
    if not path.is_file():
        return CaptureResult()
    data = json.loads(path.read_text(encoding="utf-8"))
    path.unlink()
    return CaptureResult(
        responses=int(data.get("responses", 0)), usable_calls=int(data.get("usable_calls", 0)),
        failures=list(data.get("failures", [])),
        statuses=[(int(s), str(u)) for s, u in data.get("statuses", [])],
        reason=str(data.get("reason", "")),
    )  # fmt: skip


def why_unusable(result: CaptureResult) -> str:
    """Why a capture is not kept, in one line (the first causes, most telling first)."""
    causes: list[str] = []
    for f in result.failures:
        if f["error"] not in causes:
            causes.append(f["error"])
    errors = [f"HTTP {s} from {u}" for s, u in result.statuses if s >= 400]
    causes += [e for e in errors if not e.endswith("/robots.txt")]
    if not causes:
        if result.responses:
            saved = f"{result.responses} response(s) saved"
            causes.append(f"{saved} but none gave a call with a title and an http(s) link "
                          "(empty page, or changed markup)")  # fmt: skip
        else:
            causes.append(result.reason or "no response was saved")
    more = f" (and {len(causes) - 3} more)" if len(causes) > 3 else ""
    return "no usable call in the capture: " + "; ".join(causes[:3]) + more


def promote(staging: Path, target: Path) -> None:
    """Put `staging` in place of `target` by rename. The old fixture is moved aside first and
    put back if the second rename fails, so at no point is a half-written fixture in place."""
    old: Path | None = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        old.rmdir()  # only its unique name is wanted: rename needs the target to be absent
        os.rename(target, old)
    try:
        os.rename(staging, target)
    except OSError:
        if old is not None:
            os.rename(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def discard(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)


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
