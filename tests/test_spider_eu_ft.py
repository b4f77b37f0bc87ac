"""EU Funding & Tenders spider on the real recorded SEDIA response (crawlers/samples/eu_ft/)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email import message_from_bytes

import pytest
from scrapy import Request
from scrapy.http import TextResponse

from fundradar.crawlers.spiders.eu_ft import EuFtSpider

from .conftest import SAMPLES, file_response, make_spider
from .spider_harness import assert_item_contract, normalised

SEARCH = ("https://api.tech.ec.europa.eu/search-api/prod/rest/search?apiKey=SEDIA&text=***"
          "&pageSize=100&pageNumber=1")  # fmt: skip
PORTAL = "https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/"


@pytest.fixture
def spider() -> EuFtSpider:
    return make_spider(EuFtSpider)


def parse(
    spider: EuFtSpider, data: dict | None = None, name: str = "eu_sedia_search_response.json"
):
    if data is None:
        return list(spider.parse(file_response(SAMPLES / "eu_ft" / name, SEARCH), page=1))
    body = json.dumps(data).encode()
    return list(spider.parse(TextResponse(SEARCH, body=body, encoding="utf-8",
                                          request=Request(SEARCH)), page=1))  # fmt: skip


def calls_by_ref(spider: EuFtSpider) -> dict:
    return {c.source_ref: c for c in parse(spider) if not isinstance(c, Request)}


def test_nine_rows_give_eight_topics(spider: EuFtSpider) -> None:
    out = parse(spider)
    assert not any(isinstance(o, Request) for o in out), "9 results, one page: no paging"
    refs = [c.source_ref for c in out]
    assert len(refs) == 8 and len(set(refs)) == 8
    assert refs.count("HORIZON-INFRA-2024-EOSC-01-03") == 1  # the legacy duplicate row
    assert spider.crawler.stats.get_value("fundradar/eu_ft/duplicate_rows") == 1
    for call in out:
        assert_item_contract(call, "eu_ft")
        assert call.language == "en"
        assert call.programme == "Horizon Europe"  # frameworkProgramme 43108390
        assert call.extra["timezone"] == "Europe/Brussels"


def test_two_stage_deadlines_are_kept(spider: EuFtSpider, now: datetime) -> None:
    call = calls_by_ref(spider)["HORIZON-MISS-2027-05-SOIL-01-two-stage"]
    assert call.deadline_texts == ["2027-04-08T00:00:00.000+0000", "2027-09-14T00:00:00.000+0000"]
    n = normalised(call, now)
    assert n.deadlines == [datetime(2027, 4, 8, tzinfo=UTC), datetime(2027, 9, 14, tzinfo=UTC)]
    assert n.deadline == datetime(2027, 4, 8, tzinfo=UTC)


def test_budget_only_from_the_topics_own_entry(spider: EuFtSpider) -> None:
    calls = calls_by_ref(spider)
    governance = calls["HORIZON-CL6-2026-04-GOVERNANCE-01"]  # its entry survives whole
    assert (governance.budget_min, governance.budget_max) == (60_000_000, 60_000_000)
    assert governance.currency == "EUR" and governance.budget_scope == "per_project"
    assert governance.extra["budget_total"] == 60_000_000  # 23M (2026) + 37M (2027)
    # ECCC-01's own entry is cut mid-object; ECCC-03's (another topic) is whole: take nothing
    eccc = calls["HORIZON-CL3-2026-02-CS-ECCC-01"]
    assert eccc.budget_min is None and eccc.budget_max is None
    assert "budget_total" not in eccc.extra
    assert calls["HORIZON-CL4-2027-04-DIGITAL-EMERGING-10"].budget_max is None


def test_legacy_rows_point_at_the_portal_page(spider: EuFtSpider) -> None:
    calls = calls_by_ref(spider)
    legacy = calls["HORIZON-CL2-2024-TRANSFORMATIONS-01-08"]
    assert legacy.extra["datasource"] == "SEDIA_PRD_CENTRICITY"
    assert legacy.url == PORTAL + "topic-details/HORIZON-CL2-2024-TRANSFORMATIONS-01-08"
    assert all("topicDetails" not in c.url for c in calls.values())


def test_stale_status_codes_lose_to_the_dates(spider: EuFtSpider, now: datetime) -> None:
    legacy = calls_by_ref(spider)["HORIZON-CL2-2024-TRANSFORMATIONS-01-08"]
    assert legacy.status_text == "forthcoming"  # what the API says (31094501)
    assert normalised(legacy, now).status == "closed"  # deadline 7 February 2024


def test_search_request_is_multipart_with_json_parts(spider: EuFtSpider) -> None:
    request = spider.search_request(1)
    assert request.method == "POST"
    assert "pageSize=100" in request.url and "pageNumber=1" in request.url
    assert "text=***" in request.url and "apiKey=SEDIA" in request.url
    ctype = request.headers[b"Content-Type"].decode()
    assert ctype.startswith("multipart/form-data")
    message = message_from_bytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + request.body)
    parts = {p.get_param("name", header="content-disposition"): p for p in message.get_payload()}
    assert set(parts) == {"query", "languages", "sort"}
    for part in parts.values():
        assert part.get_content_type() == "application/json"
    assert json.loads(parts["languages"].get_payload()) == ["en"]
    query = json.loads(parts["query"].get_payload())
    assert {"terms": {"type": ["1", "2"]}} in query["bool"]["must"]
    assert {"terms": {"status": ["31094501", "31094502"]}} in query["bool"]["must"]


def test_paging_when_total_exceeds_page_size(spider: EuFtSpider) -> None:
    data = json.loads((SAMPLES / "eu_ft/eu_sedia_search_response.json").read_text())
    data["totalResults"], data["pageSize"] = 250, 100
    requests = [o for o in parse(spider, data) if isinstance(o, Request)]
    assert len(requests) == 1 and "pageNumber=2" in requests[0].url
    assert requests[0].cb_kwargs == {"page": 2}


def test_non_english_rows_are_dropped(spider: EuFtSpider) -> None:
    out = parse(spider, name="eu_sedia_language_rows_excerpt.json")
    assert [c.source_ref for c in out] == ["HORIZON-MSCA-2024-DN-01-01"]
    assert out[0].deadline_texts == ["2024-11-27T17:00:00.000+0000"]  # the English row's
    assert spider.crawler.stats.get_value("fundradar/eu_ft/other_language_rows") == 2
