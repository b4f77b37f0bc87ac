"""fundsforNGOs spider: WordPress RSS, deadline lines in the post body."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fundradar.crawlers.spiders.fundsforngos import FundsforngosSpider

from .spider_harness import assert_item_contract, normalised, offline_crawl

H = "https://www2.fundsforngos.org/"
LATEST = H + "latest-funds-for-ngos/"


@pytest.fixture(scope="module")
def crawl():
    return offline_crawl(FundsforngosSpider, known={})


def test_one_request_three_calls(crawl) -> None:
    assert crawl.requested == [H + "feed/"]
    assert len(crawl.items) == 3
    for call in crawl.items:
        assert_item_contract(call, "fundsforngos")
        assert call.language == "en"


def test_fields(crawl, now: datetime) -> None:
    call = crawl.by_url()[LATEST + "caribbean-climate-resilience-small-grants-eastern-caribbean/"]
    assert call.title == (
        "Call for Proposals: Caribbean Climate Resilience Small Grants (Eastern Caribbean)"
    )
    assert call.deadline_texts == ["15-Jan-2027"]
    assert call.published_text == "2026-11-26T07:30:00+00:00"
    assert "Saint Lucia" in call.summary
    n = normalised(call, now)
    assert n.deadline == datetime(2027, 1, 16, 4, 59, 59, tzinfo=UTC)  # end of day, New York
    assert (n.budget_max, n.currency) == (50_000, "USD")


def test_long_date_form(crawl) -> None:
    call = crawl.by_url()[LATEST + "youth-employment-small-island-developing-states/"]
    assert call.deadline_texts == ["February 28, 2027"]
