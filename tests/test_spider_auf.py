"""AUF spider on its reconstructed fixtures: global and Caribbean listings, labels in the body."""

from __future__ import annotations

from datetime import datetime

import pytest

from fundradar.crawlers.spiders.auf import AufSpider

from .spider_harness import assert_item_contract, normalised, offline_crawl

H = "https://www.auf.org"
MOBILITY = "/nouvelles/appels-a-candidatures/programme-mobilite-scientifique-2027/"


@pytest.fixture(scope="module")
def crawl():
    return offline_crawl(AufSpider, known={})


def test_a_call_listed_twice_is_fetched_once(crawl) -> None:
    mobility = H + "/nouvelles/appels-a-candidatures/programme-mobilite-scientifique-2027/"
    assert crawl.requested.count(mobility) == 1
    assert len(crawl.items) == 3
    for call in crawl.items:
        assert_item_contract(call, "auf")


def test_strong_labels(crawl, now: datetime) -> None:
    call = crawl.by_url()[H + MOBILITY]
    assert call.deadline_texts == ["15 janvier 2027 à 23h59 (heure de Paris)"]
    assert call.budget_text == "jusqu'à 5 000 € par mobilité"
    assert call.eligibility_text.startswith("enseignants-chercheurs")
    n = normalised(call, now)
    assert (n.budget_max, n.currency) == (5000, "EUR")


def test_br_separated_lines_and_published_meta(crawl) -> None:
    call = crawl.by_url()[H + "/nouvelles/appels-a-candidatures/innovation-pedagogique-2027/"]
    assert call.deadline_texts == ["28 février 2027"]
    assert call.budget_text == "20 000 € maximum par projet"
    # "Publié le 2 novembre 2026." has no label form; the Open Graph article time fills in
    assert call.published_text == "2026-11-02T09:00:00+00:00"
    assert call.extra["found_by"]["published"] == "metadata"


def test_caribbean_office_call(crawl) -> None:
    call = crawl.by_url()[
        H
        + "/caraibe"
        + MOBILITY.replace("programme-mobilite-scientifique-2027", "fonds-amorcage-caraibe-2027")
    ]
    assert call.deadline_texts == ["31 janvier 2027"]
    assert call.budget_text == "10 000 € maximum par projet"
    assert "la Dominique" in call.summary
