"""Bad input never stops a run: the corpus in tests/fixtures/bad_input/ through the real item
pipeline classes (crawler from `scrapy.utils.test.get_crawler`).

Each bad page is counted in the crawl statistics (`fundradar/bad_input/<kind>`) and kept in the
quarantine table with its source, URL and reason; the good pages around them are stored.
"""

from __future__ import annotations

import re
from pathlib import Path

import scrapy
from scrapy.http import HtmlResponse
from sqlalchemy import select

from fundradar.pipeline import db, store
from fundradar.pipeline.models import CallRow, CrawlRun, Quarantine
from fundradar.pipeline.record import Call
from tests.conftest import FIXTURES
from tests.pipeline_harness import run_pipelines

CORPUS = FIXTURES / "bad_input"
SITE = "https://bad.example.org/calls/"
CHARSETS = {
    "latin1-declared-utf8.html": "utf-8",  # the lie under test
    "mojibake-utf8-declared-cp1252.html": "windows-1252",
}


class BadInputSpider(scrapy.Spider):
    """A naive spider: the page's h1 (as HTML) is the title, its main block the summary, a
    `.deadline` the deadline. Naive on purpose, so the pipeline meets the input as it is."""

    name = "bad_input"

    def page_call(self, response: HtmlResponse) -> Call:
        title = response.css("h1").get()
        status = re.search(r"Status:\s*(\w+)", response.text) if response.text else None
        return Call(
            source=self.name, url=response.url, title=title,
            summary=response.css("main").get() or response.text or None,
            deadline_texts=response.css(".deadline::text").getall(),
            status_text=status.group(1) if status else None,
        )  # fmt: skip

    def listing_calls(self, response: HtmlResponse) -> list[Call]:
        return [
            Call(source=self.name, url=response.urljoin(li.css("a::attr(href)").get()),
                 title=li.css("a::text").get(), deadline_texts=li.css(".deadline::text").getall())
            for li in response.css("li")
        ]  # fmt: skip


def response(name: str, body: bytes | None = None) -> HtmlResponse:
    body = (CORPUS / name).read_bytes() if body is None else body
    charset = CHARSETS.get(name, "utf-8")
    return HtmlResponse(url=SITE + name, body=body,
                        headers={"Content-Type": f"text/html; charset={charset}"})  # fmt: skip


def huge_page() -> bytes:
    para = "<p>Regional statistics and open data for small island states. </p>\n"
    body = para * (5_000_000 // len(para) + 1)
    end = "<p class='deadline'>Deadline: 20 April 2027</p></main></body></html>"
    return f"<html><body><main><h1>Regional data grants</h1>{body}{end}".encode()


def crawl_corpus() -> tuple[object, BadInputSpider]:
    spider = BadInputSpider()
    items = [spider.page_call(response("good-1.html"))]
    for name in ("empty.html", "no-title.html", "latin1-declared-utf8.html",
                 "mojibake-utf8-declared-cp1252.html", "script.html"):  # fmt: skip
        items.append(spider.page_call(response(name)))
    items += spider.listing_calls(response("listing-javascript-link.html"))
    items.append(spider.page_call(response("huge.html", huge_page())))
    items += [spider.page_call(response(n)) for n in ("date-1900.html", "date-2200.html")]
    items.append(spider.page_call(response("good-2.html")))
    return run_pipelines(BadInputSpider, items), spider


def test_bad_input_is_counted_quarantined_and_the_good_pages_stored() -> None:
    run, _ = crawl_corpus()
    stats = run.stats  # type: ignore[attr-defined]
    bad = {k.removeprefix("fundradar/bad_input/"): v for k, v in stats.items()
           if k.startswith("fundradar/bad_input/")}  # fmt: skip
    # one count per page and kind of trouble
    assert bad == {"empty": 1, "no_title": 1, "encoding": 2, "script": 1, "unsafe_link": 1,
                   "huge_text": 1, "bad_date": 2}  # fmt: skip

    stored_urls = sorted(c.url.removeprefix(SITE) for c in run.stored)  # type: ignore[attr-defined]
    assert stored_urls == sorted([
        "good-1.html", "latin1-declared-utf8.html", "mojibake-utf8-declared-cp1252.html",
        "script.html", "huge.html", "date-1900.html", "date-2200.html", "good-2.html",
    ])  # fmt: skip
    assert stats["fundradar/stored/new"] == 8
    # empty, no title, javascript:; 1900 and Latin-1 ("28 f�vrier 2027" cannot be read) are
    # kept without a deadline ("not found — check the page") and counted
    assert stats["fundradar/dropped"] == 3
    assert stats["fundradar/no_deadline"] == 3  # with date-2200
    assert stats["fundradar/duplicates_in_run"] == 1  # good-2 from the listing, then its page

    with db.session_scope() as s:
        rows = {r.url.removeprefix(SITE): r for r in s.scalars(select(CallRow))}
        kept = s.scalars(select(Quarantine).order_by(Quarantine.id)).all()
        run_row = s.scalars(select(CrawlRun)).one()
        counts = store.quarantine_counts(s)

    by_url: dict[str, list[str]] = {}
    for q in kept:
        assert q.source == "bad_input" and q.run_id == run_row.id and q.url
        by_url.setdefault(q.url.removeprefix(SITE), []).append(q.reason)
    assert by_url["empty.html"] == ["empty page: no title, no text, no date"]
    assert by_url["no-title.html"] == ["no title"]
    assert by_url["javascript:void(window.open('/call/7'))"] == [
        "javascript: link, not http(s)"]  # fmt: skip
    assert by_url["latin1-declared-utf8.html"] == [
        "repaired: title has 4 undecodable character(s): the page's declared encoding is wrong; "
        "summary has 7 undecodable character(s): the page's declared encoding is wrong",
    ]
    assert by_url["mojibake-utf8-declared-cp1252.html"][0].startswith(
        "repaired: title was UTF-8 read as Latin-1")  # fmt: skip
    assert by_url["script.html"] == [
        "repaired: script or event handler in title, removed; script or event handler in "
        "summary, removed"
    ]
    assert by_url["huge.html"] == ["repaired: summary of 5.0 MB cut to 1.0 MB"]
    assert by_url["date-1900.html"][0].startswith("repaired: deadline rejected: '1 janvier "
                                                  "1900': year 1900 is out of range")  # fmt: skip
    assert len(by_url["date-1900.html"]) == 1  # repaired and stored, not refused
    assert by_url["date-2200.html"][0].startswith("repaired: deadline rejected: "
                                                  "'31/12/2200': year 2200")  # fmt: skip
    assert "good-1.html" not in by_url and "good-2.html" not in by_url
    assert counts == {"bad_input": len(kept)}  # what `fundradar sources list` shows

    # what was stored is clean
    assert rows["mojibake-utf8-declared-cp1252.html"].title == (
        "Appel à projets : économie bleue et pêche durable")  # fmt: skip
    script = rows["script.html"]
    assert script.title == "Blue economy call for island states"
    assert "alert" not in (script.summary or "") and "evil.example" not in (script.summary or "")
    assert "<" not in script.title and "onerror" not in (script.summary or "")
    assert len(rows["huge.html"].summary or "") <= 20_001
    assert rows["date-2200.html"].status == "open" and rows["date-2200.html"].deadline is None
    assert rows["good-1.html"].deadline is not None and rows["good-2.html"].deadline is not None
    for name in ("date-1900.html", "latin1-declared-utf8.html"):
        assert (rows[name].deadline, rows[name].deadline_kind) == (None, "not_found")

    # the run is finished and reports what it refused, not failed
    assert run_row.status == "ok" and run_row.items_dropped == 3
    assert "3 item(s) quarantined" in (run_row.message or "")
    assert run_row.stats["fundradar/no_deadline"] == 3


def test_a_refused_page_that_is_still_listed_stays_listed(tmp_path: Path) -> None:
    """A call stored last week whose page is broken this week is not a call withdrawn."""
    spider = BadInputSpider()
    run_pipelines(BadInputSpider, [spider.page_call(response("good-1.html")),
                                   spider.page_call(response("good-2.html"))])  # fmt: skip
    broken = spider.page_call(response("good-1.html", b""))  # same URL, empty this time
    second = run_pipelines(BadInputSpider, [broken, spider.page_call(response("good-2.html"))])
    assert second.stats["fundradar/bad_input/empty"] == 1
    with db.session_scope() as s:
        assert all(r.listed for r in s.scalars(select(CallRow)))
