"""Downloader middlewares.

- `FixtureRedirectMiddleware`: crawl the bundled pages instead of the funders' sites.
- `HealthStatsMiddleware` / `RedirectHopsMiddleware`: count what each page came to (read, HTTP
  error, never reached and why) for the run's verdict (crawlers/runlog.py).
- `RetryAfterMiddleware`: Scrapy's retries, waiting what a 429/503's Retry-After asks (bounded).
- `CountedHttpCompressionMiddleware`: a gzip bomb cut at DOWNLOAD_MAXSIZE is counted and named.
- `EncodingRepairMiddleware`: invalid UTF-8 repaired (bad bytes read as Windows-1252) and counted.

`FixtureRedirectMiddleware` sends every request to a local fixture server (the demo and
`fundradar sources check`) while spiders, items and the database keep seeing the funders' real
URLs: the request goes to http://127.0.0.1:<port><original path>?<query> with the original host
in a header, and the response is handed back under the original URL.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.response import response_status_message
from twisted.internet import error, task

from fundradar.pipeline.normalise.text import decode_utf8_repairing

logger = logging.getLogger(__name__)

ORIGINAL_URL = "fundradar_original_url"
HOST_HEADER = "X-Fundradar-Host"


class FixtureRedirectMiddleware:
    def __init__(self, server: str | None) -> None:
        self.server = server.rstrip("/") if server else None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FixtureRedirectMiddleware:
        return cls(crawler.settings.get("FUNDRADAR_FIXTURE_SERVER"))

    def process_request(self, request: Request) -> Request | None:
        if not self.server or ORIGINAL_URL in request.meta:
            return None
        original = urlsplit(request.url)
        target = urlsplit(self.server)
        local = urlunsplit((target.scheme, target.netloc, original.path, original.query, ""))
        new = request.replace(url=local)
        new.meta[ORIGINAL_URL] = request.url
        # robots.txt and the allowed domains were checked on the real URL in this first pass
        # (this middleware runs after RobotsTxtMiddleware and OffsiteMiddleware); the local copy
        # must not be checked again against 127.0.0.1
        new.meta["allow_offsite"] = True
        new.meta["dont_obey_robotstxt"] = True
        new.headers[HOST_HEADER] = original.netloc
        return new

    def process_response(self, request: Request, response: Response) -> Response:
        original = request.meta.get(ORIGINAL_URL)
        if not original:
            return response
        return response.replace(url=original)


# --------------------------------------------------------------------------------------------
# Health: what each page came to, so the run's verdict can tell an outage from a quiet week.

ROBOTS_PATH = "/robots.txt"


def _is_robots(url: str) -> bool:
    return urlsplit(url).path == ROBOTS_PATH


def describe_download_error(exception: BaseException, url: str) -> tuple[str, str]:
    """(kind, sentence) for a failed download: kind is dns | refused | timeout | tls | reset |
    too_large | other; the sentence is the technical detail kept in CrawlRun.message."""
    host = urlsplit(url).netloc or url
    name = type(exception).__name__
    text = str(exception)
    # Twisted wraps the real reason (ResponseNeverReceived / ResponseFailed hold failures)
    reasons = [
        getattr(f, "value", f) for f in getattr(exception, "reasons", []) or []
    ]  # fmt: skip
    inner = " ".join(f"{type(r).__name__} {r}" for r in reasons)
    blob = f"{name} {text} {inner}"
    low = blob.lower()
    if isinstance(exception, CannotResolveHostError | error.DNSLookupError) or "dnslookup" in low:
        return "dns", f"DNS lookup failed for {host}"
    if isinstance(exception, DownloadConnectionRefusedError | error.ConnectionRefusedError) or (
        "refused" in low
    ):
        return "refused", f"connection refused by {host}"
    if isinstance(
        exception, DownloadTimeoutError | TimeoutError | error.TimeoutError | error.TCPTimedOutError
    ) or ("timeout" in low or "timed out" in low):
        return "timeout", f"no answer from {host} in time ({text[:120] or name})"
    if "ssl" in low or "certificate" in low or "tls" in low:
        return "tls", f"TLS handshake with {host} failed ({(inner or text)[:120]})"
    if isinstance(exception, DownloadCancelledError) or "larger than download max size" in low:
        return "too_large", f"download from {host} cut: {text[:160]}"
    if isinstance(
        exception, ResponseDataLossError | DownloadFailedError | error.ConnectionLost
    ) or ("connectionlost" in low or "responsefailed" in low or "dataloss" in low):
        return "reset", f"connection to {host} dropped mid-answer ({name})"
    return "other", f"{name} from {host}: {text[:160]}"


class HealthStatsMiddleware:
    """Counts, per run, what each page finally came to, in the crawl's stats:

    - `fundradar/pages_read`: answers 2xx (after redirects and retries);
    - `fundradar/http_status/<code>`: pages given up on with that code (after retries);
    - `fundradar/download_error/<kind>`: pages never read (dns, refused, timeout, tls, reset,
      too_large), and `fundradar/last_error` the technical sentence for the report;
    - `fundradar/raw_status/3xx`: redirect hops (a redirect loop reads no page at all).

    Placed below RetryMiddleware (550) for the final answer and above RedirectMiddleware
    (600) for hops, as two instances of one class (`position`). robots.txt is left out: its
    absence must not look like a failed page (RobotsTxtMiddleware counts what it forbids).
    """

    def __init__(self, crawler: Crawler, position: str) -> None:
        self.stats = crawler.stats
        self.position = position

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HealthStatsMiddleware:
        return cls(crawler, "final")

    def process_response(self, request: Request, response: Response) -> Response:
        if _is_robots(request.url) or self.stats is None:
            return response
        if self.position == "hops":
            if 300 <= response.status < 400:
                self.stats.inc_value("fundradar/raw_status/3xx")
            return response
        if response.status < 300 or response.status == 304:
            self.stats.inc_value("fundradar/pages_read")
        elif response.status >= 400:
            self.stats.inc_value(f"fundradar/http_status/{response.status}")
            self.stats.set_value("fundradar/last_error",
                                 f"HTTP {response.status} from {request.url}"[:300])  # fmt: skip
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        if self.position == "hops" or self.stats is None or _is_robots(request.url):
            return None
        if isinstance(exception, IgnoreRequest):  # robots.txt, offsite: counted by their owners
            return None
        kind, sentence = describe_download_error(exception, request.url)
        self.stats.inc_value(f"fundradar/download_error/{kind}")
        self.stats.set_value("fundradar/last_error", sentence[:300])
        return None


class RedirectHopsMiddleware(HealthStatsMiddleware):
    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HealthStatsMiddleware:
        return cls(crawler, "hops")


class RetryAfterMiddleware(RetryMiddleware):
    """Scrapy's RetryMiddleware, plus the wait a 429 or 503 asks for in `Retry-After`.

    Scrapy retries at once (after the download delay); a site that said "come back in 30 s"
    then sees the retry as more hammering. The wait is bounded by
    FUNDRADAR_RETRY_AFTER_MAX (config `defaults.retry_after_max`): a longer one is not waited
    for, the answer stands and the run is reported `blocked` ("too many requests (429)").
    """

    WAIT_CODES = frozenset({429, 503})

    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self.max_wait = settings.getfloat("FUNDRADAR_RETRY_AFTER_MAX", 120.0)

    async def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        if (
            response.status in self.WAIT_CODES
            and not request.meta.get("dont_retry", False)
            and response.status in self.retry_http_codes
        ):
            wait = retry_after_seconds(response.headers.get(b"Retry-After"))
            if wait is not None:
                stats = self.crawler.stats
                if wait > self.max_wait:
                    if stats:
                        stats.inc_value("fundradar/retry_after/too_long")
                        stats.set_value("fundradar/retry_after/asked", wait)
                    return response
                retry = self._retry(request, response_status_message(response.status))
                if retry is None:
                    return response
                if stats:
                    stats.inc_value("fundradar/retry_after/waited")
                    stats.max_value("fundradar/retry_after/max_wait", wait)
                from twisted.internet import reactor

                await maybe_deferred_to_future(task.deferLater(reactor, wait, lambda: None))
                return retry
        return super().process_response(request, response)


def retry_after_seconds(value: bytes | str | None, *, now: datetime | None = None) -> float | None:
    """Seconds a Retry-After header asks for ("120" or an HTTP date); None if absent/unreadable."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class CountedHttpCompressionMiddleware(HttpCompressionMiddleware):
    """Scrapy's decompression, which already stops a gzip bomb at DOWNLOAD_MAXSIZE, plus the
    count and the sentence for the run's report (Scrapy only logs a warning)."""

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Any:  # type: ignore[override]
        try:
            return super().process_response(request, response)
        except IgnoreRequest as exc:
            if self.stats and "DOWNLOAD_MAXSIZE" in str(exc):
                self.stats.inc_value("fundradar/download_error/too_large")
                limit = request.meta.get("download_maxsize", self._max_size)
                self.stats.set_value(
                    "fundradar/last_error",
                    f"{request.url} inflates beyond {limit // 1_000_000} MB: cut "
                    f"({len(response.body)} B compressed)"[:300],
                )
            raise


# --------------------------------------------------------------------------------------------
# Invalid UTF-8: repaired and said, not silently garbled.

TEXT_TYPES = ("html", "xml", "rss", "atom", "json", "text/")
_CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.I)


def declared_charset(content_type: bytes, body: bytes) -> str | None:
    """The charset the response says it is in: Content-Type, else the XML declaration, else a
    <meta> charset near the top; None when it says nothing."""
    for source in (content_type, None):
        found = _CHARSET.search(source) if source is not None else None
        if found:
            return found.group(1).decode("ascii").lower()
    found = _XML_ENCODING.search(body[:200])
    if found:
        return found.group(1).decode("ascii").lower()
    found = _CHARSET.search(body[:2048])
    return found.group(1).decode("ascii").lower() if found else None


def repair_utf8(body: bytes) -> tuple[bytes, int] | None:
    """(valid UTF-8, number of bad bytes) for a body that is UTF-8 except for some bytes; None
    when it is valid already. One repair rule for the whole product (each bad byte read as
    Windows-1252): `pipeline.normalise.text.decode_utf8_repairing`."""
    text, bad = decode_utf8_repairing(body)
    return (text.encode("utf-8"), bad) if bad else None


class EncodingRepairMiddleware:
    """A page that says (or is assumed to be) UTF-8 but holds bytes that are not: each bad byte
    is read as Windows-1252, the page handed on as valid UTF-8, and the repair counted
    (`fundradar/encoding_repaired`) and named in the run's report. Without this, feedparser and
    Scrapy guess another encoding for the whole page (ISO-8859-2 was seen) and garble every
    accent, silently. A page that declares another charset is left to that charset.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EncodingRepairMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        content_type = response.headers.get(b"Content-Type") or b""
        low = content_type.decode("latin-1").lower()
        if low and not any(t in low for t in TEXT_TYPES):
            return response
        charset = declared_charset(content_type, response.body)
        if charset not in (None, "utf-8", "utf8"):
            return response
        repaired = repair_utf8(response.body)
        if repaired is None:
            return response
        body, bad = repaired
        if self.stats is not None:
            self.stats.inc_value("fundradar/encoding_repaired")
            self.stats.inc_value("fundradar/encoding_repaired_bytes", bad)
        logger.warning("%s: %d byte(s) of invalid UTF-8 read as Windows-1252", request.url, bad)
        headers = response.headers.copy()
        if b"charset" not in content_type.lower():
            base = content_type.decode("latin-1") or "text/html"
            headers[b"Content-Type"] = f"{base}; charset=utf-8"
        return response.replace(body=body, headers=headers)
