"""IRD spider on its reconstructed fixtures: two-stage deadlines, a <dl>, a closed call."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fundradar.crawlers.spiders.ird import IrdSpider

from .spider_harness import assert_item_contract, normalised, offline_crawl

H = "https://www.ird.fr/appels-a-projets/"


@pytest.fixture(scope="module")
def crawl():
    return offline_crawl(IrdSpider, known={})


def test_three_calls_each_requested_once(crawl) -> None:
    assert crawl.missing == []
    # the item selector lists two layouts (views row and its inner <article>): one request each
    assert len(crawl.requested) == len(set(crawl.requested)) == 4
    assert len(crawl.items) == 3
    for call in crawl.items:
        assert_item_contract(call, "ird")


def test_two_stage_deadlines_from_a_table(crawl, now: datetime) -> None:
    call = crawl.by_url()[H + "laboratoires-mixtes-internationaux-lmi-2027"]
    assert call.deadline_texts == ["15 janvier 2027", "30 avril 2027"]
    assert call.budget_text == "jusqu'à 30 000 € par an pendant 5 ans"
    assert call.eligibility_text.startswith("Unités de recherche de l'IRD")
    n = normalised(call, now)
    assert len(n.deadlines) == 2
    assert n.deadline == datetime(2027, 1, 15, 22, 59, 59, tzinfo=UTC)  # the next one ahead


def test_definition_list(crawl) -> None:
    call = crawl.by_url()[H + "jeunes-equipes-associees-jeai-2027"]
    assert call.opens_text == "2 novembre 2026"
    assert call.deadline_texts == ["1er mars 2027"]
    assert call.budget_text == "10 000 € par an pendant 3 ans"


def test_closed_call(crawl, now: datetime) -> None:
    call = crawl.by_url()[H + "gdri-sud-2026"]
    assert call.status_text == "clôturé"
    assert normalised(call, now).status == "closed"
