"""AFD spider, field by field, on its reconstructed fixtures (crawlers/samples/afd/)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fundradar.crawlers.spiders.afd import AfdSpider

from .spider_harness import assert_item_contract, normalised, offline_crawl

FR = "https://www.afd.fr/fr/appels-a-projets/"
EN = "https://www.afd.fr/en/calls-for-projects/"


@pytest.fixture(scope="module")
def crawl():
    return offline_crawl(AfdSpider, known={})


def test_both_listings_and_the_second_page_from_zero_are_read(crawl) -> None:
    assert crawl.missing == []
    assert any("page=1" in u for u in crawl.requested), "page 0 links to ?page=1"
    listings = [u for u in crawl.requested if "/liste" in u or "/list?" in u]
    assert len(listings) == 3
    assert all("status%5Bongoing%5D=ongoing" in u and "status%5Bsoon%5D=soon" in u
               for u in listings)  # fmt: skip
    assert len(crawl.items) == 6


def test_every_item_meets_the_contract(crawl) -> None:
    for call in crawl.items:
        assert_item_contract(call, "afd")
        assert len(call.extra["listing_hash"]) == 64


def test_french_fisong_fields(crawl, now: datetime) -> None:
    call = crawl.by_url()[FR + "fisong-2026-economie-bleue-inclusive-petits-etats-insulaires"]
    assert call.title == "FISONG 2026 – Économie bleue inclusive dans les petits États insulaires"
    assert call.deadline_texts == ["26 février 2027 à 12h00 (heure de Paris)"]
    assert call.opens_text == "17 novembre 2026"
    assert call.period_text == "17 novembre 2026 - 26 février 2027"  # from the card
    assert call.status_text == "En cours"
    assert call.programme == "FISONG"
    assert call.language == "fr"
    assert "2,5 M€" in call.budget_text
    assert "Sainte-Lucie" in call.eligibility_text
    assert call.extra["found_by"]["deadline"] == "label"
    assert call.extra["timezone"] == "Europe/Paris"
    assert "tarteaucitron" not in (call.summary or ""), "the cookie banner is not the call"
    n = normalised(call, now)
    assert n.deadline == datetime(2027, 2, 26, 11, 0, tzinfo=UTC)  # 12:00 Paris = 11:00 UTC
    assert n.opens_at == datetime(2026, 11, 16, 23, 0, tzinfo=UTC)
    assert n.status == "open"
    assert (n.budget_max, n.currency) == (2_500_000, "EUR")


def test_forthcoming_and_closed_calls(crawl, now: datetime) -> None:
    osc = crawl.by_url()[FR + "initiatives-osc-2027"]
    assert osc.status_text == "Prochainement"
    assert normalised(osc, now).status == "forthcoming"  # opens 7 December 2026
    apcc = crawl.by_url()[FR + "appel-projets-crise-haiti-2026"]
    assert apcc.status_text == "Clôturé"
    assert apcc.deadline_texts == ["15 octobre 2026"]
    assert normalised(apcc, now).status == "closed"


def test_english_listing_and_labels(crawl, now: datetime) -> None:
    call = crawl.by_url()[EN + "fisp-climate-2026"]
    assert call.language == "en"
    assert call.deadline_texts == ["29 January 2027"]
    assert call.opens_text == "1 October 2026"
    assert call.status_text == "Open call"
    assert call.programme == "FISP-Climat"
    assert "Companies registered" in call.eligibility_text
    n = normalised(call, now)
    assert n.deadline == datetime(2027, 1, 29, 22, 59, 59, tzinfo=UTC)  # end of day, Paris
    fisong_en = crawl.by_url()[EN + "fisong-2026-inclusive-blue-economy-small-island-states"]
    assert fisong_en.deadline_texts == ["26 February 2027, 12:00 (Paris time)"]


def test_coreom_is_found_on_the_second_page(crawl) -> None:
    call = crawl.by_url()[FR + "coreom-2027-cooperation-regionale-outre-mer"]
    assert call.deadline_texts == ["15 janvier 2027 à 23h59"]
    assert call.programme == "CORÉOM"
