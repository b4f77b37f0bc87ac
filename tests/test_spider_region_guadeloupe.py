"""Région Guadeloupe spider: calls in a news listing, "Je coopère avec les pays de l'OECO"."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fundradar.crawlers.spiders.region_guadeloupe import RegionGuadeloupeSpider

from .spider_harness import assert_item_contract, normalised, offline_crawl

D = "https://www.regionguadeloupe.fr/actualites-et-agendas/toute-lactualite-du-conseil/detail/actualites/"


@pytest.fixture(scope="module")
def crawl():
    return offline_crawl(RegionGuadeloupeSpider, known={})


def test_news_that_are_not_calls_are_skipped(crawl) -> None:
    assert not any("route-du-rhum" in u for u in crawl.requested)
    assert len(crawl.items) == 2
    for call in crawl.items:
        assert_item_contract(call, "region_guadeloupe")


def test_oecs_call(crawl, now: datetime) -> None:
    call = crawl.by_url()[D + "lancement-appel-a-projets-je-coopere-avec-les-pays-de-loeco-2027/"]
    assert "Je coopère avec les pays de l'OECO" in call.title
    assert call.opens_text == "14 mars 2027"
    assert call.deadline_texts == ["30 juin 2027"]
    assert call.budget_text == "jusqu'à 10 000 € par projet"
    assert call.published_text == "2026-11-18"  # the card's <time datetime>
    assert "Sainte-Lucie" in call.summary
    n = normalised(call, now)
    assert n.status == "forthcoming"
    assert n.deadline == datetime(2027, 7, 1, 3, 59, 59, tzinfo=UTC)  # end of 30 June, Guadeloupe


def test_period_in_a_headed_section(crawl, now: datetime) -> None:
    call = crawl.by_url()[D + "bourses-mobilite-caraibe-2027/"]
    assert call.period_text == "Candidatures du 5 novembre 2026 au 31 janvier 2027."
    assert call.budget_text == "Jusqu'à 3 000 € par étudiant."
    assert normalised(call, now).deadline == datetime(2027, 2, 1, 3, 59, 59, tzinfo=UTC)
