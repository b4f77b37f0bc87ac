"""Expertise France spider on its reconstructed fixtures: a Spanish page and a French one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fundradar.crawlers.spiders.expertise_france import ExpertiseFranceSpider

from .spider_harness import assert_item_contract, normalised, offline_crawl

H = "https://www.expertisefrance.fr/fr/appel-a-propositions/"


@pytest.fixture(scope="module")
def crawl():
    return offline_crawl(ExpertiseFranceSpider, known={})


def test_two_calls(crawl) -> None:
    assert crawl.missing == []
    assert len(crawl.items) == 2
    for call in crawl.items:
        assert_item_contract(call, "expertise_france")


def test_spanish_table_labels(crawl, now: datetime) -> None:
    call = crawl.by_url()[H + "convocatoria-fondo-resiliencia-climatica-caribe"]
    assert call.language == "es"  # the page's lang, although the URL sits under /fr/
    assert call.deadline_texts == ["28 de febrero de 2027, 17:00 (hora de París)"]
    assert call.opens_text == "1 de diciembre de 2026"
    assert call.budget_text.startswith("1.500.000 EUR")
    assert "Santa Lucía" in call.eligibility_text
    n = normalised(call, now)
    assert n.deadline == datetime(2027, 2, 28, 16, 0, tzinfo=UTC)
    assert n.currency == "EUR"


def test_french_strong_labels(crawl) -> None:
    call = crawl.by_url()[H + "linitiative-2027-sante-communautaire"]
    assert call.language == "fr"
    assert call.deadline_texts == ["15 mars 2027 à 12h00 (heure de Paris)"]
    assert call.budget_text == "jusqu'à 1 M€ par projet"
    assert "Haïti" in call.eligibility_text
