"""Shallow base spiders. A source's spider sets class attributes and overrides a `_parse_<field>`
helper only where its site is odd.

- `SourceSpider`: reads the spider's entry in config/sources.yaml (start URLs, time zone,
  funder, selectors, options) and builds `Call` items with the source's defaults.
- `ApiSpider`: JSON search APIs (the EU portal).

`FeedSpider` and `HtmlListSpider` build on `SourceSpider` in their own modules.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.settings import BaseSettings

from fundradar import __version__
from fundradar.config.loader import Source, load_sources
from fundradar.exceptions import UnknownSourceError
from fundradar.pipeline.dedupe import is_aggregator, record_links
from fundradar.pipeline.record import Call


class SourceSpider(scrapy.Spider):
    """Base of every fundradar spider. `name` must equal the config id and the file name."""

    kind: ClassVar[str] = ""  # api | feed | wordpress | html; checked against config
    source: Source

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        """config/sources.yaml `defaults:` (delay, concurrency, cache, timeout, Retry-After cap)
        applied here, inside Scrapy, so every runner gets them: the local child, `scrapy crawl`
        and a Scrapyd job alike. At "spider" priority: a run's explicit settings (`-s`, the
        runner's and Scrapyd's, both "cmdline") still win.
        """
        super().update_settings(settings)
        settings.setdict(config_settings(settings), priority="spider")

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SourceSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.source = spider.load_source()
        spider.start_urls = list(spider.source.start_urls)
        if spider.source.allowed_domains and not getattr(spider, "allowed_domains", None):
            # from config, so a config-only source stays on its own site too
            spider.allowed_domains = list(spider.source.allowed_domains)
        defaults = load_sources().defaults
        # Scrapy's UserAgentMiddleware honours a spider's `user_agent`: name the tool and the
        # contact from config, so a funder's webmaster knows who to write to.
        spider.user_agent = (
            f"fundradar/{__version__} (funding-call monitor for the OECS Commission; "
            f"contact {defaults.contact})"
        )
        return spider

    def load_source(self) -> Source:
        source = load_sources().get(self.name)
        if source is None:
            raise UnknownSourceError(f"no source {self.name!r} in sources.yaml")
        return source

    @property
    def timezone(self) -> str:
        return self.source.timezone

    def option(self, key: str, default: Any = None) -> Any:
        return self.source.options.get(key, default)

    def make_call(self, **fields: Any) -> Call:
        """A Call with the source's id, funder, programme and language filled in by default."""
        fields.setdefault("funder", self.source.funder)
        if self.source.programme:
            fields.setdefault("programme", self.source.programme)
        if self.source.language:
            fields.setdefault("language", self.source.language)
        call = Call(source=self.name, **fields)
        call.extra.setdefault("timezone", self.source.timezone)
        # an aggregator's links to the funder's page, read while the summary is still HTML
        record_links(call, aggregator=is_aggregator(self.source.options, self.source.funder))
        return call


def config_settings(settings: BaseSettings) -> dict[str, Any]:
    """The Scrapy settings config and the environment give a crawl (see `update_settings`).

    A run on the fixture server (FUNDRADAR_FIXTURE_SERVER, set by the run) reads bundled pages
    on 127.0.0.1: no reason to wait between requests, nor to cache or retry them.
    """
    from fundradar import settings as app_settings

    defaults = load_sources().defaults
    values: dict[str, Any] = {
        "HTTPCACHE_DIR": str(app_settings.load().home / "httpcache"),
        "HTTPCACHE_ENABLED": defaults.http_cache,
        "DOWNLOAD_DELAY": defaults.download_delay,
        "CONCURRENT_REQUESTS_PER_DOMAIN": defaults.concurrent_per_domain,
        "DOWNLOAD_TIMEOUT": defaults.download_timeout,
        "FUNDRADAR_RETRY_AFTER_MAX": defaults.retry_after_max,
    }
    if settings.get("FUNDRADAR_FIXTURE_SERVER"):
        values.update(
            HTTPCACHE_ENABLED=False, DOWNLOAD_DELAY=0, AUTOTHROTTLE_ENABLED=False,
            RETRY_ENABLED=False,
        )  # fmt: skip
    return values


class ApiSpider(SourceSpider):
    """JSON APIs. Subclasses build requests in `start()` and map records in `parse_record()`."""

    kind = "api"

    def load_json(self, response: Response) -> Any:
        try:
            return json.loads(response.text)
        except (ValueError, AttributeError) as exc:
            # counted, not fatal: the health report shows the source as failing
            self.crawler.stats.inc_value("fundradar/errors/bad_json")
            self.logger.error("%s: not JSON at %s (%s)", self.name, response.url, exc)
            return None

    def parse_record(self, record: dict[str, Any], response: Response) -> Call | None:
        raise NotImplementedError
