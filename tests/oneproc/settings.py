"""fundradar's Scrapy settings plus the failing spiders of `tests.oneproc.spiders` (a child crawl
reads this module when SCRAPY_SETTINGS_MODULE names it)."""

from fundradar.crawlers.settings import *  # noqa: F403

SPIDER_MODULES = ["fundradar.crawlers.spiders", "tests.oneproc.spiders"]
