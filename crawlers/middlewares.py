"""Downloader middlewares.

`FixtureRedirectMiddleware` sends every request to a local fixture server (the demo and
`fundradar sources check`) while spiders, items and the database keep seeing the funders' real
URLs: the request goes to http://127.0.0.1:<port><original path>?<query> with the original host
in a header, and the response is handed back under the original URL.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response

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
