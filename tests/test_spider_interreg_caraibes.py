"""INTERREG Caraïbes spider on its reconstructed fixtures: calls pages (FR, EN) and news."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fundradar.crawlers.spiders.interreg_caraibes import InterregCaraibesSpider

from .spider_harness import assert_item_contract, normalised, offline_crawl

H = "https://www.interreg-caraibes.com"


@pytest.fixture(scope="module")
def crawl():
    return offline_crawl(InterregCaraibesSpider, known={})


def test_items_and_news_filter(crawl) -> None:
    assert crawl.missing == []
    assert len(crawl.items) == 4
    # news that announce no call are not even requested
    assert not any("comite-de-suivi" in u or "seminaire" in u for u in crawl.requested)
    for call in crawl.items:
        assert_item_contract(call, "interreg_caraibes")
        assert call.programme == "Interreg Caraïbes 2021-2027"
        assert call.extra["timezone"] == "America/Guadeloupe"


def test_french_ami_from_drupal_field_labels(crawl, now: datetime) -> None:
    call = crawl.by_url()[H + "/appels-a-projets/ami-3-une-caraibe-plus-verte-et-resiliente"]
    assert call.title.startswith("Appel à manifestation d'intérêt n°3")
    assert call.deadline_texts == ["31/03/2027 - 12:00"]
    assert call.opens_text == "01/12/2026"
    assert call.period_text == "Du 1er décembre 2026 au 31 mars 2027"
    assert call.budget_text == "12 000 000 € (FEDER)"
    assert "OECO" in call.eligibility_text
    assert call.language == "fr"
    n = normalised(call, now)
    assert n.deadline == datetime(2027, 3, 31, 16, 0, tzinfo=UTC)  # 12:00 in Guadeloupe
    assert n.status == "forthcoming"
    assert n.budget_max == 12_000_000


def test_english_call_page(crawl) -> None:
    url = H + "/en/calls-for-projects/call-expressions-interest-3-greener-more-resilient-caribbean"
    call = crawl.by_url()[url]
    assert call.language == "en"
    assert call.deadline_texts == ["31/03/2027 - 12:00"]
    assert call.budget_text == "EUR 12,000,000 (ERDF)"
    assert "OECS members" in call.eligibility_text


def test_continuous_submission_has_a_status_and_no_deadline(crawl, now: datetime) -> None:
    call = crawl.by_url()[H + "/appels-a-projets/depot-au-fil-de-leau"]
    assert call.deadline_texts == []
    assert call.status_text == "Ouvert en continu"
    assert normalised(call, now).status == "open"


def test_news_item_announcing_a_call(crawl) -> None:
    call = crawl.by_url()[H + "/actualites/lancement-ami-3-caraibe-verte"]
    assert call.deadline_texts == ["31 mars 2027 à 12h00 (heure de la Guadeloupe)"]
    assert call.budget_text == "12 millions d'euros"
