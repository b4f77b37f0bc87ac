"""ANR spider on its reconstructed fixtures: cards div.card.appel, tx_solr pages, detail labels."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fundradar.crawlers.spiders.anr import AnrSpider

from .spider_harness import assert_item_contract, normalised, offline_crawl

D = "https://anr.fr/fr/detail/call/"


@pytest.fixture(scope="module")
def crawl():
    return offline_crawl(AnrSpider, known={})


def test_two_pages_four_calls(crawl) -> None:
    assert crawl.missing == []
    assert "https://anr.fr/fr/appels/?tx_solr%5Bpage%5D=2" in crawl.requested
    assert len(crawl.items) == 4
    for call in crawl.items:
        assert_item_contract(call, "anr")
        assert call.language == "fr"


def test_card_fields(crawl) -> None:
    call = crawl.by_url()[D + "appel-conjoint-sargasses-iv-2027/"]
    assert call.title == "Appel conjoint « Sargasses IV » ANR-ADEME"
    assert call.period_text == "15/01/2027 - 15/04/2027"
    assert call.programme == "Appel spécifique"  # span.tag-type
    assert call.extra["found_by"]["period"] == "listing"


def test_detail_labels_in_list_items_and_sections(crawl, now: datetime) -> None:
    call = crawl.by_url()[D + "appel-conjoint-sargasses-iv-2027/"]
    assert call.opens_text == "15 janvier 2027"
    assert call.deadline_texts == ["15 avril 2027 à 11h00 (heure de Paris)"]
    assert "OECO" in call.eligibility_text
    assert "3 M€" in call.budget_text
    n = normalised(call, now)
    assert n.deadline == datetime(2027, 4, 15, 9, 0, tzinfo=UTC)
    assert n.status == "forthcoming"


def test_month_only_range_when_the_page_has_no_dates(crawl, now: datetime) -> None:
    call = crawl.by_url()[D + "mrsei-2027/"]
    assert call.deadline_texts == []
    assert call.period_text == "Décembre 2026 - Mars 2027"
    n = normalised(call, now)
    assert n.deadline is not None and (n.deadline.year, n.deadline.month) == (2027, 3)


def test_closed_call_and_table_layout(crawl, now: datetime) -> None:
    aapg = crawl.by_url()[D + "appel-a-projets-generique-2027/"]
    assert aapg.deadline_texts == ["22 octobre 2026 à 17h00 (heure de Paris)"]
    assert aapg.published_text == "8 juillet 2026"
    assert normalised(aapg, now).status == "closed"
    chairs = crawl.by_url()[D + "chaires-industrielles-2027/"]
    assert chairs.opens_text == "1er octobre 2026"
    assert chairs.deadline_texts == ["17 mars 2027 à 11h00"]
