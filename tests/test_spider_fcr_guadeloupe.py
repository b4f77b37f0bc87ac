"""FCR Guadeloupe spider: the older préfecture list layout, read by the shared configuration."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fundradar.config.loader import load_sources
from fundradar.crawlers.spiders.fcr_guadeloupe import FcrGuadeloupeSpider

from .spider_harness import assert_item_contract, normalised, offline_crawl

B = "https://www.guadeloupe.gouv.fr/Publications/Appels-a-projets/Fonds-de-cooperation-regionale/"


@pytest.fixture(scope="module")
def crawl():
    return offline_crawl(FcrGuadeloupeSpider, known={})


def test_shares_the_martinique_configuration() -> None:
    sources = load_sources()
    assert sources.get("fcr_guadeloupe").selectors == sources.get("fcr_martinique").selectors
    assert sources.get("fcr_guadeloupe").options == sources.get("fcr_martinique").options


def test_committee_notice_is_not_requested(crawl) -> None:
    assert not any("Composition" in u for u in crawl.requested)
    assert len(crawl.items) == 1
    assert_item_contract(crawl.items[0], "fcr_guadeloupe")


def test_label_lines_in_a_callout(crawl, now: datetime) -> None:
    call = crawl.items[0]
    assert call.url == B + "FCR-Guadeloupe-appel-a-projets-2027"
    assert call.deadline_texts == ["lundi 15 mars 2027 à 16h00"]
    assert call.budget_text == "35 % à 60 % selon le projet"
    assert call.eligibility_text.startswith("la Dominique, Sainte-Lucie")
    n = normalised(call, now)
    assert n.deadline == datetime(2027, 3, 15, 20, 0, tzinfo=UTC)  # 16:00 in Guadeloupe
    assert n.budget_max is None, "a co-funding rate is not an amount"
