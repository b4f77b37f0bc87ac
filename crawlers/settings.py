"""Scrapy settings for every fundradar spider, in one annotated module.

Politeness first (SOURCES.md, "Design rules" 6): funders' sites are small public services, and a
tool that hammers them gets blocked, which would blind the DCRM unit. Values that depend on the
deployment (contact address, delay, cache) come from `config/sources.yaml` `defaults:` and are
applied by the spiders (`SourceSpider.update_settings`, so a Scrapyd job gets them too); secrets
never appear here.
"""

from __future__ import annotations

from fundradar import __version__

BOT_NAME = "fundradar"
SPIDER_MODULES = ["fundradar.crawlers.spiders"]
NEWSPIDER_MODULE = "fundradar.crawlers.spiders"

# Identify the tool and give a contact (the address is replaced from config at run time).
USER_AGENT = f"fundradar/{__version__} (+https://www.oecs.int; funding-call monitor; dcrm@oecs.int)"

# --- politeness -------------------------------------------------------------------------------
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 8  # per source: each source has its own crawler (and downloader)
CONCURRENT_REQUESTS_PER_DOMAIN = 2  # SOURCES.md: at most 2 at a time per site
# Scrapy starts this many worker tasks for *every* response's output (default 100); the item
# pipelines are synchronous and a listing page yields one page of cards, so more buys nothing
CONCURRENT_ITEMS = 16
DOWNLOAD_DELAY = 2.0  # seconds between requests to one site, before AutoThrottle adjusts it
# No random jitter on that delay. Jitter exists to hide a crawler's rhythm, and fundradar names
# itself in the User-Agent instead. Scrapy's jitter (±50 %) also draws a new delay each time it
# looks at a site's queue, so the wait kept is the largest of several draws: 1.22x the delay on
# average (measured 0.32 s for 0.25 s, bench/crawl.py), while single waits of 0.5x the delay
# still occur. A fixed delay is both the rate configured and never faster than it.
DOWNLOAD_DELAY_JITTER = 0.0
AUTOTHROTTLE_ENABLED = True  # slows down further when a site answers slowly
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 60
RETRY_ENABLED = True
RETRY_TIMES = 2  # transient 5xx / timeouts; more would only hammer a struggling site
# Scrapy retries 429 and 5xx at once; RetryAfterMiddleware (below) first waits what a 429/503's
# Retry-After asks, up to this many seconds (config `defaults.retry_after_max` replaces it).
FUNDRADAR_RETRY_AFTER_MAX = 120.0
# Funders' pages are well under 1 MB and their PDFs are not downloaded: 10 MB is generous, and a
# gzip bomb (200 KB inflating to 200 MB) is cut there, during decompression too, instead of
# costing a crawl process a gigabyte of memory. The cut is counted and named in the run's report.
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
COOKIES_ENABLED = False  # no session needed; avoids tracking-consent cookie loops (tarteaucitron)
TELNETCONSOLE_ENABLED = False

# --- do not re-download what has not changed --------------------------------------------------
# RFC2616 policy: stores ETag/Last-Modified and revalidates with If-None-Match/If-Modified-Since,
# so an unchanged page costs a 304, not a download. HTTPCACHE_DIR is set under FUNDRADAR_HOME.
HTTPCACHE_ENABLED = True
HTTPCACHE_POLICY = "scrapy.extensions.httpcache.RFC2616Policy"
HTTPCACHE_STORAGE = "fundradar.crawlers.httpcache.SqliteCacheStorage"  # one file per source
HTTPCACHE_DIR = "httpcache"
HTTPCACHE_IGNORE_HTTP_CODES = [301, 302, 303, 307, 308, 400, 401, 403, 404, 429, 500, 502, 503]

# --- middlewares ------------------------------------------------------------------------------
DOWNLOADER_MIDDLEWARES = {
    # demo / offline checks: send requests to the local fixture server, keep the real URLs.
    # After OffsiteMiddleware (50) and RobotsTxtMiddleware (100), so robots.txt and allowed
    # domains are judged on the funder's real URL (and its robots.txt fixture, if any).
    "fundradar.crawlers.middlewares.FixtureRedirectMiddleware": 120,
    # `fundradar sources record`: saves every response (URL, type, date) as a fixture. Below
    # 120 so it sees the real URL the fixture redirect restores on the way back.
    "fundradar.crawlers.recorder.RecordingMiddleware": 110,
    # Health (crawlers/runlog.py verdict): the final answer of each page, after retries (< 550)
    "fundradar.crawlers.middlewares.HealthStatsMiddleware": 540,
    # ... and redirect hops, seen before RedirectMiddleware (600) turns them into requests
    "fundradar.crawlers.middlewares.RedirectHopsMiddleware": 610,
    # Scrapy's retries, waiting for Retry-After first; same place as the one it replaces
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "fundradar.crawlers.middlewares.RetryAfterMiddleware": 550,
    # Scrapy's decompression with its DOWNLOAD_MAXSIZE cut counted for the run's report
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "fundradar.crawlers.middlewares.CountedHttpCompressionMiddleware": 590,
    # invalid UTF-8 repaired and counted, on the decompressed body (below 590)
    "fundradar.crawlers.middlewares.EncodingRepairMiddleware": 585,
}

# --- the pipeline (numbers say the order; see crawlers/pipelines.py for why this order) -------
ITEM_PIPELINES = {
    "fundradar.crawlers.pipelines.NormalisePipeline": 100,
    "fundradar.crawlers.pipelines.ValidatePipeline": 200,
    "fundradar.crawlers.pipelines.DedupePipeline": 300,
    "fundradar.crawlers.pipelines.ScorePipeline": 400,
    "fundradar.crawlers.pipelines.StorePipeline": 500,
}

# --- fundradar's own settings -----------------------------------------------------------------
# Set FUNDRADAR_FIXTURE_SERVER to "http://127.0.0.1:<port>" to crawl bundled pages (demo, checks).
FUNDRADAR_FIXTURE_SERVER = None
# True in `fundradar demo`: the crawl run is marked as sample data.
FUNDRADAR_SAMPLE = False
# `fundradar sources record`: folder to save every response of the crawl in (None: off). Also
# read from the FUNDRADAR_RECORD_DIR environment variable, which reaches the crawl's child process.
FUNDRADAR_RECORD_DIR = None

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
