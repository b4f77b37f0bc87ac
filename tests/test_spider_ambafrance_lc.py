"""French embassy in Castries: SPIP RSS served as text/html, news filtered, detail when needed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse

from fundradar.crawlers.spiders.ambafrance_lc import AmbafranceLcSpider

from .conftest import SAMPLES, make_spider
from .spider_harness import assert_item_contract, normalised, offline_crawl

H = "https://lc.ambafrance.org"


@pytest.fixture(scope="module")
def crawl():
    return offline_crawl(AmbafranceLcSpider, known={})


def test_feed_served_as_html_is_parsed_as_xml() -> None:
    spider = make_spider(AmbafranceLcSpider)
    spider.known = {}
    url = H + "/spip.php?page=backend"
    # exactly what the site sends: RSS bytes under a text/html content type
    response = HtmlResponse(url, body=(SAMPLES / "ambafrance_lc/spip-backend.xml").read_bytes(),
                            headers={"Content-Type": "text/html; charset=utf-8"},
                            request=Request(url))  # fmt: skip
    out = list(spider.parse_feed(response))
    titles = [o.title for o in out if not isinstance(o, Request)]
    assert "Appel à projets Fonds Équipe France 2027 – Caraïbe orientale" in titles


def test_news_filtered_and_only_the_entry_without_deadline_is_fetched(crawl) -> None:
    assert crawl.requested == [H + "/spip.php?page=backend",
                               H + "/Call-for-proposals-FSPI-Eastern-Caribbean"]  # fmt: skip
    assert len(crawl.items) == 3
    assert not any("14 juillet" in c.title for c in crawl.items)
    for call in crawl.items:
        assert_item_contract(call, "ambafrance_lc")
        assert call.extra["timezone"] == "America/St_Lucia"


def test_entry_fields_from_the_feed(crawl, now: datetime) -> None:
    call = crawl.by_url()[H + "/Appel-a-projets-Fonds-Equipe-France-2027"]
    assert call.language == "fr"
    assert call.deadline_texts == ["31 janvier 2027"]
    assert call.budget_text == "de 10 000 à 40 000 EUR par projet"
    assert call.published_text == "2026-11-16T14:20:00+00:00"
    assert call.extra["found_by"]["deadline"] == "listing"
    n = normalised(call, now)
    assert n.deadline == datetime(2027, 2, 1, 3, 59, 59, tzinfo=UTC)  # end of day in Castries
    assert (n.budget_min, n.budget_max) == (10_000, 40_000)


def test_detail_page_headings(crawl, now: datetime) -> None:
    call = crawl.by_url()[H + "/Call-for-proposals-FSPI-Eastern-Caribbean"]
    assert call.language == "en"
    assert call.deadline_texts == ["Friday 12 February 2027, 4:00 p.m. (Saint Lucia time)"]
    assert "Dominica" in call.eligibility_text
    assert call.budget_text == "Grants of XCD 30,000 to XCD 110,000 per project."
    n = normalised(call, now)
    assert n.deadline == datetime(2027, 2, 12, 20, 0, tzinfo=UTC)
    assert n.currency == "XCD"
