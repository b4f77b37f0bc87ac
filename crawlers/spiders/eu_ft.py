"""EU Funding & Tenders portal, through the SEDIA search API.

Source: POST https://api.tech.ec.europa.eu/search-api/prod/rest/search?apiKey=SEDIA&text=***
    &pageSize=100&pageNumber=N (N from 1). The body is multipart/form-data whose `query`,
    `languages` and `sort` parts are each JSON with Content-Type application/json.
Caveats:
    - plain form fields give HTTP 500 and a `query` in the URL is silently ignored, so the
      parts must be JSON parts;
    - without `languages: ["en"]` one row per language comes back (we also drop non-English
      rows in case the API ignores it);
    - every metadata value is an array; `deadlineDate` holds two dates for two-stage calls;
      `actions` and `budgetOverview` are JSON inside strings, and the recorded sample shows
      them cut short, so a budget is read only when the topic's own entry survives;
    - the legacy index (DATASOURCE SEDIA_PRD_CENTRICITY) returns exact duplicate rows and a
      topicDetails JSON url instead of the portal page;
    - the status code is stale (topics still "forthcoming" years after their deadline), so the
      code is only a fallback: the pipeline derives status from the dates.
Fixture: crawlers/samples/eu_ft/eu_sedia_search_response.json — a real recorded response (9
    results) from a public repository's test fixture; see crawlers/samples/eu_ft/README.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import scrapy
from scrapy.http import Response
from urllib3.fields import RequestField
from urllib3.filepost import encode_multipart_formdata

from fundradar.crawlers.base import ApiSpider
from fundradar.pipeline.record import Call

PORTAL_TOPIC = (
    "https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/"
    "topic-details/{id}"
)
PORTAL_TENDER = (
    "https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/opportunities/"
    "tender-details/{id}"
)
STATUS = {"31094501": "forthcoming", "31094502": "open", "31094503": "closed"}
# frameworkProgramme codes seen in real responses (V) and documented ones (S)
PROGRAMMES = {
    "43108390": "Horizon Europe",
    "43152860": "Digital Europe",
    "43251567": "LIFE",
    "43252405": "Erasmus+",
    "43251589": "Creative Europe",
    "43298916": "NDICI – Global Europe",
    "43353764": "Interreg",
}
BOUNDARY = "fundradar-sedia-boundary"  # fixed so identical searches hit the HTTP cache


def first(meta: dict[str, Any], key: str) -> Any:
    """SEDIA wraps every metadata value in an array (V); take the first, or None."""
    value = meta.get(key)
    if isinstance(value, list):
        return value[0] if value else None
    return value


def fold(text: str | None) -> str | None:
    return re.sub(r"\s+", " ", text).strip() if text else text


def json_part(name: str, value: Any) -> RequestField:
    field = RequestField(name=name, data=json.dumps(value), filename="blob")
    field.make_multipart(content_type="application/json")
    return field


def search_body(
    query: dict[str, Any], languages: list[str], sort: dict[str, Any]
) -> tuple[bytes, str]:
    return encode_multipart_formdata(
        [json_part("query", query), json_part("languages", languages), json_part("sort", sort)],
        boundary=BOUNDARY,
    )


def with_params(url: str, **params: Any) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update({k: str(v) for k, v in params.items()})
    # the API wants the literal *** for "everything"; urlencode would escape it harmlessly
    return urlunsplit(parts._replace(query=urlencode(query, safe="*")))


def topic_budget(raw: str | None, identifier: str) -> dict[str, Any] | None:
    """Per-project contribution and total for *this* topic from the budgetOverview string.

    The string is JSON in a string (V) and may be cut short (V in the recording). Entries of
    other topics of the same call sit in the same map: never take theirs.
    """
    if not raw:
        return None
    entries: list[dict[str, Any]] = []
    try:
        data = json.loads(raw)
        for actions in (data.get("budgetTopicActionMap") or {}).values():
            entries.extend(a for a in actions if isinstance(a, dict))
    except (ValueError, AttributeError):
        # truncated JSON: read each complete action object on its own
        for m in re.finditer(r"\{\"action\":\"[^{}]*?\"budgetYearMap\":\{[^{}]*\}[^{}]*\}", raw):
            try:
                entries.append(json.loads(m.group(0)))
            except ValueError:
                continue
    prefix = identifier.lower() + " "
    for entry in entries:
        action = str(entry.get("action", "")).lower()
        if action.startswith(prefix) or action == identifier.lower():
            years = entry.get("budgetYearMap") or {}
            total = sum(float(v) for v in years.values() if str(v).replace(".", "").isdigit())
            return {
                "min": entry.get("minContribution"),
                "max": entry.get("maxContribution"),
                "total": total or None,
                "expected_grants": entry.get("expectedGrants"),
            }
    return None


class EuFtSpider(ApiSpider):
    name = "eu_ft"
    allowed_domains = ["api.tech.ec.europa.eu", "ec.europa.eu"]

    def query(self) -> dict[str, Any]:
        return {
            "bool": {
                "must": [
                    {"terms": {"type": list(self.option("types", ["1", "2"]))}},
                    {"terms": {"status": list(self.option("statuses", ["31094501", "31094502"]))}},
                ]
            }
        }

    def search_request(self, page: int) -> scrapy.Request:
        size = int(self.option("page_size", 100))
        body, content_type = search_body(
            self.query(), ["en"], {"field": "sortStatus", "order": "ASC"}
        )
        url = with_params(self.start_urls[0], pageSize=size, pageNumber=page)
        return scrapy.Request(
            url,
            method="POST",
            body=body,
            headers={"Content-Type": content_type, "Accept": "application/json"},
            callback=self.parse,
            cb_kwargs={"page": page},
        )

    async def start(self) -> AsyncIterator[scrapy.Request]:
        yield self.search_request(1)

    def parse(self, response: Response, page: int = 1) -> Any:
        data = self.load_json(response)
        if not isinstance(data, dict):
            return
        results = data.get("results") or []
        seen: set[str] = set()
        for record in results:
            call = self.parse_record(record, response)
            if call is None:
                continue
            # the legacy index repeats rows verbatim (V): one item per identifier per page
            if call.source_ref in seen:
                self.crawler.stats.inc_value("fundradar/eu_ft/duplicate_rows")
                continue
            seen.add(call.source_ref or call.url)
            yield call
        total = int(data.get("totalResults") or 0)
        size = int(data.get("pageSize") or self.option("page_size", 100))
        limit = int(self.option("max_results", 5000))
        if results and page * size < min(total, limit):
            yield self.search_request(page + 1)

    def parse_record(self, record: dict[str, Any], response: Response) -> Call | None:
        meta = record.get("metadata") or {}
        language = first(meta, "language") or record.get("language")
        if language and language != "en":
            self.crawler.stats.inc_value("fundradar/eu_ft/other_language_rows")
            return None
        identifier = first(meta, "identifier") or first(meta, "callIdentifier")
        title = first(meta, "title") or record.get("summary")
        if not identifier or not title:
            self.crawler.stats.inc_value("fundradar/eu_ft/rows_without_id")
            return None
        kind = first(meta, "type")
        url = first(meta, "url") or record.get("url") or ""
        if "/portal/screen/" not in url:
            # legacy rows point at topicDetails/<ID>.json; officers need the human page
            template = PORTAL_TENDER if kind == "2" else PORTAL_TOPIC
            url = template.format(id=identifier)
        budget = topic_budget(first(meta, "budgetOverview"), identifier)
        call = self.make_call(
            url=url,
            source_ref=identifier,
            title=fold(title),
            summary=first(meta, "descriptionByte"),
            programme=PROGRAMMES.get(str(first(meta, "frameworkProgramme")))
            or fold(first(meta, "callTitle")),
            instrument=fold(first(meta, "typesOfAction")),
            opens_text=first(meta, "startDate"),
            deadline_texts=[d for d in meta.get("deadlineDate") or [] if d],
            status_text=STATUS.get(str(first(meta, "status"))),
            language="en",
        )
        if budget:
            call.budget_min = budget["min"]
            call.budget_max = budget["max"]
            call.currency = "EUR"
            call.budget_scope = "per_project"
            call.extra["budget_total"] = budget["total"]
        call.extra.update(
            {
                "eu_type": kind,
                "status_code": first(meta, "status"),
                "call_identifier": first(meta, "callIdentifier"),
                "call_title": fold(first(meta, "callTitle")),
                "datasource": first(meta, "DATASOURCE"),
                "deadline_model": first(meta, "deadlineModel"),
                "keywords": [k for k in (meta.get("keywords") or [])][:20],
            }
        )
        return call
