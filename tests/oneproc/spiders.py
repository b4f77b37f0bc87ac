"""Reconstructed — not a capture: spiders broken in their constructor, their start and their
parse, each on the test's local site (FUNDRADAR_TEST_SITE)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from fundradar.config.loader import Source
from fundradar.crawlers.html import HtmlListSpider


class _OnTestSite(HtmlListSpider):
    def load_source(self) -> Source:
        return Source(
            id=self.name, kind="html", funder=f"Funder {self.name}", language="en",
            start_urls=[os.environ["FUNDRADAR_TEST_SITE"]],
            selectors={"item": "li.call", "title": "h1"},
            options={"detail": False, "card": {"title": "h2", "deadline": ".deadline"}},
        )  # fmt: skip


class BrokenInitSpider(_OnTestSite):
    name = "broken_init"

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("reconstructed fault: the spider's constructor fails")


class BrokenStartSpider(_OnTestSite):
    name = "broken_start"

    async def start(self) -> AsyncIterator[scrapy.Request]:
        raise RuntimeError("reconstructed fault: start() fails")
        yield  # pragma: no cover (an async generator)


class BrokenParseSpider(_OnTestSite):
    name = "broken_parse"

    def parse(self, response: Response, page: int = 1) -> Iterator[Any]:
        raise RuntimeError("reconstructed fault: parse() fails")
