"""FCR Martinique spider on its reconstructed fixtures (préfecture CMS, DSFR cards)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fundradar.crawlers.spiders.fcr_martinique import FcrMartiniqueSpider

from .spider_harness import assert_item_contract, normalised, offline_crawl

B = ("https://www.martinique.gouv.fr/Publications/Appels-a-projets/Appels-a-projets-en-cours/"
     "Fonds-de-cooperation-regionale/")  # fmt: skip


@pytest.fixture(scope="module")
def crawl():
    return offline_crawl(FcrMartiniqueSpider, known={})


def test_two_calls(crawl) -> None:
    assert crawl.missing == []
    assert len(crawl.items) == 2
    for call in crawl.items:
        assert_item_contract(call, "fcr_martinique")
        assert call.programme == "Fonds de coopération régionale Martinique"
        assert call.extra["timezone"] == "America/Martinique"


def test_this_years_call(crawl, now: datetime) -> None:
    call = crawl.by_url()[B + "Appel-a-projets-2027-du-Fonds-de-cooperation-regionale-FCR"]
    assert call.deadline_texts == ["vendredi 26 février 2027 à 12h00"]
    assert call.published_text == "Mis à jour le 16/11/2026"  # from the card
    assert "Sainte-Lucie" in call.summary and "la Dominique" in call.summary
    assert call.budget_text.startswith("le FCR finance au plus 50 %")
    assert call.eligibility_text.startswith("collectivités, associations")
    n = normalised(call, now)
    assert n.deadline == datetime(2027, 2, 26, 16, 0, tzinfo=UTC)  # 12:00 in Martinique
    assert n.status == "open"


def test_last_years_call_is_closed(crawl, now: datetime) -> None:
    call = crawl.by_url()[B + "Appel-a-projets-2026-du-Fonds-de-cooperation-regionale-FCR"]
    assert call.deadline_texts == ["vendredi 13 mars 2026 à 12h00"]
    assert normalised(call, now).status == "closed"
