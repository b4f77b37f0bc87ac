"""Run items through the real item pipeline classes of `crawlers/pipelines.py`, as a crawl does.

`run_pipelines(spider_cls, items)` builds a crawler with `scrapy.utils.test.get_crawler`, opens
the spider (the `RunLog` starts its `CrawlRun`), passes each item through Normalise, Validate,
Dedupe, Score and Store in the order of ITEM_PIPELINES, and closes the spider with reason
"finished" (which marks calls missing from this crawl as unlisted). It returns the stats and what
happened to each item. Only the engine and the downloader are left out.
"""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass, field
from typing import Any

from scrapy.exceptions import DropItem
from scrapy.utils.misc import load_object
from scrapy.utils.test import get_crawler

from fundradar.crawlers import settings as crawl_settings
from fundradar.crawlers.runlog import RunLog
from fundradar.pipeline.record import Call


@dataclass
class PipelineRun:
    stats: dict[str, Any]
    stored: list[Call] = field(default_factory=list)
    dropped: list[tuple[Call, str]] = field(default_factory=list)
    run_id: int | None = None
    spider: Any = None


def crawler_and_spider(spider_cls: type) -> tuple[Any, Any]:
    crawler = get_crawler(spider_cls, settings_dict={"FUNDRADAR_SAMPLE": False})
    spider = spider_cls.from_crawler(crawler)
    crawler.spider = spider
    return crawler, spider


def run_pipelines(spider_cls: type, items: list[Call] | None = None, *, crawler: Any = None,
                  spider: Any = None, finish: bool = True) -> PipelineRun:  # fmt: skip
    if crawler is None:
        crawler, spider = crawler_and_spider(spider_cls)
    crawler.stats.open_spider()
    order = sorted(crawl_settings.ITEM_PIPELINES.items(), key=lambda kv: kv[1])
    stages = [load_object(path).from_crawler(crawler) for path, _ in order]
    log = RunLog.of(crawler)
    log.spider_opened(spider)
    result = PipelineRun(stats={}, spider=spider)
    # the stages that hand work to the pipeline thread are coroutines, awaited on a loop as
    # Scrapy's asyncio reactor awaits them
    loop = asyncio.new_event_loop()

    def call(value: Any) -> Any:
        return loop.run_until_complete(value) if inspect.isawaitable(value) else value

    try:
        for item in items or []:
            try:
                for stage in stages:
                    item = call(stage.process_item(item))
            except DropItem as exc:
                result.dropped.append((item, str(exc)))
                continue
            result.stored.append(item)
        result.run_id = log.run_id
        if finish:
            # as Scrapy closes a spider: the item pipelines first (Store writes its last
            # batch), then the spider_closed signal (the run's verdict)
            for stage in stages:
                if hasattr(stage, "close_spider"):
                    call(stage.close_spider())
            log.spider_closed(spider, "finished")
    finally:
        loop.close()
    result.stats = dict(crawler.stats.get_stats())
    return result
