"""HtmlListSpider mechanics: selectors from config (CSS and XPath), keywords, pagination bound,
detail failures, and a config-only HTML source."""

from __future__ import annotations

import json
from pathlib import Path

from scrapy import Request
from scrapy.http import HtmlResponse

from fundradar.config.loader import Source
from fundradar.crawlers.html import select, texts
from fundradar.crawlers.spiders import generic_spider
from fundradar.crawlers.spiders.afd import AfdSpider

from .conftest import make_spider
from .spider_harness import offline_crawl

LISTING = """<html lang="en"><body><main>
<div class="call"><h2><a href="/calls/ocean-2027">Ocean grants 2027</a></h2>
  <span class="when">1 December 2026 - 28 February 2027</span><em>Open</em></div>
<div class="call"><h2><a href="/calls/board-minutes">Board minutes</a></h2></div>
<div class="call"><h2><a href="javascript:alert(1)">Hostile link</a></h2></div>
<div class="call"><h2><a href="/calls/youth-2027">Youth call 2027</a></h2>
  <span class="when">1 January 2027 - 31 March 2027</span><em>Forthcoming</em></div>
<a rel="next" href="/calls/?page=2">Next</a>
</main></body></html>"""


def html_source(tmp_path: Path, **kw) -> tuple[type, Path]:  # type: ignore[no-untyped-def]
    source = Source(**{
        "id": "ocean_fund", "kind": "html", "funder": "Ocean Fund",
        "start_urls": ["https://ocean.example.org/calls/"], "timezone": "America/St_Lucia",
        "selectors": {"item": "//div[@class='call']", "link": "h2 a::attr(href)",
                      "title": "//h1", "deadline": ".closing"},
        "options": {"detail": False, "keywords": ["call", "grant"],
                    "card": {"period": "span.when", "status": "em"}},
        **kw,
    })  # fmt: skip
    folder = tmp_path / "site"
    folder.mkdir(exist_ok=True)
    (folder / "list.html").write_text(LISTING)
    (folder / "list2.html").write_text(
        '<div class="call"><h2><a href="/calls/reef-2027">Reef grant</a></h2>'
        '<span class="when">2 - 30 April 2027</span></div><a rel="next" href="/calls/?page=3">n</a>'
    )
    (folder / "index.json").write_text(json.dumps({"responses": [
        {"url": "https://ocean.example.org/calls/", "file": "list.html"},
        {"url": "https://ocean.example.org/calls/?page=2", "file": "list2.html"}]}))  # fmt: skip
    return generic_spider(source), folder


def test_config_only_html_source_from_the_listing_alone(tmp_path: Path) -> None:
    cls, folder = html_source(tmp_path)
    result = offline_crawl(cls, folder=folder, known={})
    urls = [c.url for c in result.items]
    assert urls == ["https://ocean.example.org/calls/ocean-2027",
                    "https://ocean.example.org/calls/youth-2027",
                    "https://ocean.example.org/calls/reef-2027"]  # fmt: skip
    ocean = result.items[0]
    assert ocean.title == "Ocean grants 2027"
    assert ocean.period_text == "1 December 2026 - 28 February 2027"
    assert ocean.status_text == "Open"
    assert ocean.extra["detail_fetched"] is False and ocean.extra["timezone"] == "America/St_Lucia"
    stats = result.spider.crawler.stats
    assert stats.get_value("fundradar/listing_entries_filtered") == 1  # board minutes
    # page 3 is linked but max_pages (20) is not what stops it: it is not in the site
    assert result.missing == ["https://ocean.example.org/calls/?page=3"]


def test_max_pages_bounds_pagination(tmp_path: Path) -> None:
    cls, folder = html_source(tmp_path, max_pages=1)
    result = offline_crawl(cls, folder=folder, known={})
    assert result.requested == ["https://ocean.example.org/calls/"]


def test_detail_page_failure_keeps_the_listing_call(tmp_path: Path) -> None:
    cls, folder = html_source(tmp_path, options={"card": {"period": "span.when"}})
    result = offline_crawl(cls, folder=folder, known={})  # detail pages are not in the site
    assert "https://ocean.example.org/calls/ocean-2027" in result.missing
    ocean = result.by_url()["https://ocean.example.org/calls/ocean-2027"]
    assert ocean.period_text == "1 December 2026 - 28 February 2027"
    assert result.spider.crawler.stats.get_value("fundradar/errors/detail") >= 1


def test_css_xpath_and_attribute_selectors() -> None:
    response = HtmlResponse("https://a.example.org/", body=LISTING.encode(), encoding="utf-8")
    assert len(select(response, "//div[@class='call']")) == 4
    assert len(select(response, "div.call")) == 4
    assert texts(response, "h2 a::attr(href)")[0] == "/calls/ocean-2027"
    assert texts(response, "(//em)[2]") == ["Forthcoming"]


def test_keyword_matches_at_word_start_only() -> None:
    spider = make_spider(AfdSpider)
    spider.source = spider.source.model_copy(update={"options": {"keywords": ["AMI"]}})
    assert spider.keep("Lancement de l'AMI n°3")
    assert spider.keep("appel à manifestation — AMI")
    assert not spider.keep("Programme Jamaïque")


def test_selector_first_then_labels(tmp_path: Path) -> None:
    cls, _ = html_source(tmp_path)
    spider = make_spider(cls)
    page = ("<html><body><h1>Ocean grants 2027</h1><p class='closing'>28/02/2027</p>"
            "<p>Deadline: 1 March 2027</p><p>Status: open</p></body></html>")  # fmt: skip
    url = "https://ocean.example.org/calls/ocean-2027"
    from fundradar.crawlers.html import Entry

    (call,) = spider.parse_detail(
        HtmlResponse(url, body=page.encode(), encoding="utf-8", request=Request(url)),
        Entry(url=url, title="Ocean grants 2027"),
    )
    assert call.deadline_texts == ["28/02/2027"]  # the configured selector wins
    assert call.status_text == "open"  # the selector-less field comes from its label
    assert call.extra["found_by"] == {"deadline": "selector", "status": "label",
                                      "title": "selector"}  # fmt: skip
