"""Karib Horizon spider: WordPress REST API (two pages), and its feed when the API is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from scrapy import Request
from scrapy.http import TextResponse

from fundradar.crawlers.spiders.karib_horizon import KaribHorizonSpider

from .conftest import SAMPLES, file_response, make_spider
from .spider_harness import assert_item_contract, normalised, offline_crawl

H = "https://www.karib-horizon.org"
API = H + "/wp-json/wp/v2/appel-projet?per_page=20"


@pytest.fixture(scope="module")
def crawl():
    return offline_crawl(KaribHorizonSpider, known={})


def test_pages_follow_x_wp_totalpages(crawl) -> None:
    assert crawl.requested == [API, API + "&page=2"]
    assert len(crawl.items) == 3
    for call in crawl.items:
        assert_item_contract(call, "karib_horizon")


def test_post_fields(crawl, now: datetime) -> None:
    call = crawl.by_url()[H + "/appel-projet/appel-a-projets-fcr-martinique-2027/"]
    assert call.title == "Appel à projets 2027 du Fonds de coopération régionale de la Martinique"
    assert call.deadline_texts == ["26 février 2027"]
    assert call.eligibility_text.startswith("collectivités")
    assert call.published_text == "2026-11-17T13:05:00+00:00"
    assert "Sainte-Lucie" in call.summary
    assert normalised(call, now).deadline == datetime(2027, 2, 27, 3, 59, 59, tzinfo=UTC)


def test_html_entities_and_list_labels(crawl) -> None:
    coreom = crawl.by_url()[H + "/appel-projet/coreom-2027-cooperation-regionale-des-outre-mer/"]
    assert coreom.title == "CORÉOM 2027 – coopération régionale des associations ultramarines"
    assert coreom.deadline_texts == ["15/01/2027"]
    assert coreom.budget_text == "de 10 000 € à 50 000 €"
    ami = next(c for c in crawl.items if "Francophonie" in c.title)
    assert "’" in ami.title and "&#" not in ami.title


def test_refused_api_falls_back_to_the_feed() -> None:
    spider = make_spider(KaribHorizonSpider)
    spider.known = {}
    refused = TextResponse(API, status=404, body=b'{"code":"rest_no_route"}',
                           request=Request(API), encoding="utf-8")  # fmt: skip
    out = list(spider.parse_api(refused, page=1, first=API))
    assert [r.url for r in out] == [H + "/appel-projet/feed/"]
    feed = file_response(SAMPLES / "karib_horizon/appel-projet-feed.xml", H + "/appel-projet/feed/")
    items = list(out[0].callback(feed))
    assert [c.deadline_texts for c in items] == [["26 février 2027"]]
    assert spider.crawler.stats.get_value("fundradar/wordpress_api_refused") == 1
