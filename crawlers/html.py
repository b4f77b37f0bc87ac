"""`HtmlListSpider`: a listing page of calls → each call's detail page, with pagination.

Everything site-specific lives in config/sources.yaml, so a maintainer repairs a redesigned site
without a release:

    selectors:            # CSS, or XPath when the value starts with / or (
      item: div.card.appel            # one listing entry
      link: h2 a::attr(href)          # its detail link (default: the entry's first link)
      next_page: a.next::attr(href)   # pagination (default: rel=next links)
      title / deadline / opens / period / status / budget / eligibility / programme /
      published / summary / body      # read on the DETAIL page
    options:
      card: {title: ..., period: ..., status: ...}   # read inside each LISTING entry
      detail: true          # false: the listing entry is the whole call (no detail request)
      keywords: [appel, call]   # keep only entries whose text names one (news listings)

Each field comes from, in order: the detail page's selector; the **label reader**
(`crawlers.labels`: "Date limite", "Closing date", "Fecha límite"...); the listing card; the
page's JSON-LD / Open Graph metadata. The label reader is what keeps a source alive after a
redesign that changes classes but keeps the words. Where each field came from is kept in
`extra["found_by"]`, so `fundradar sources check` can show which selectors have gone stale.

Thrift: each listing entry's text is hashed (`extra["listing_hash"]`); an entry whose hash is
the one stored last time is not fetched again (see `crawlers.known`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import scrapy
from parsel import Selector, SelectorList
from scrapy.http import Response
from twisted.python.failure import Failure

from fundradar.crawlers.base import SourceSpider
from fundradar.crawlers.known import KnownCall, canonical, listing_hash, load_known
from fundradar.crawlers.labels import read_labels, read_metadata
from fundradar.pipeline.record import Call

# Fields a selector / label / card can fill, and the Call attribute each one feeds.
TEXT_FIELDS = {
    "opens": "opens_text", "period": "period_text", "status": "status_text",
    "budget": "budget_text", "eligibility": "eligibility_text", "programme": "programme",
    "published": "published_text",
}  # fmt: skip
DEFAULT_BODY = ("main", "article", "[role=main]", "#content", ".content", "body")
SUMMARY_MAX = 20000  # characters of body HTML kept as the summary (the scorer reads it)
LANG_IN_PATH = re.compile(r"/(fr|en|es|nl)(?:/|$|-)")


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in text if not unicodedata.combining(c))


def squash(text: str | None) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def select(node: Selector | Response, selector: str) -> SelectorList:
    """CSS, or XPath when the selector starts with / or ( (as in config/sources.yaml)."""
    selector = selector.strip()
    if selector.startswith(("/", "(", "./")):
        return node.xpath(selector)
    return node.css(selector)


def texts(node: Selector | Response, selector: str | None) -> list[str]:
    """One string per match: the attribute for ::attr()/@attr, else the element's text."""
    if not selector:
        return []
    out = []
    for match in select(node, selector):
        if isinstance(match.root, str):
            value = squash(match.root)
        else:
            value = squash(" ".join(match.xpath(".//text()").getall()))
        if value:
            out.append(value)
    return out


def first_text(node: Selector | Response, selector: str | None) -> str | None:
    got = texts(node, selector)
    return got[0] if got else None


@dataclass
class Entry:
    """One listing entry (a card, a feed item, a WordPress post) before its detail page."""

    url: str
    title: str | None
    card: dict[str, list[str]] = field(default_factory=dict)  # field -> values from the listing
    hash: str = ""
    summary: str | None = None
    source_ref: str | None = None
    language: str | None = None

    def value(self, name: str) -> str | None:
        got = self.card.get(name)
        return got[0] if got else None


class DetailPages:
    """What HTML listings and feeds share: thrift, the detail request, and building the call."""

    follow_details: ClassVar[bool] = True
    _known: dict[str, KnownCall] | None = None

    # --- thrift ----------------------------------------------------------------------------
    @property
    def known(self) -> dict[str, KnownCall]:
        if self._known is None:
            self._known = load_known(self.name)  # type: ignore[attr-defined]
        return self._known

    @known.setter
    def known(self, value: dict[str, KnownCall]) -> None:
        self._known = value

    def keep(self, text: str) -> bool:
        """`options.keywords`: news listings mix calls with other news; keep the calls."""
        words = self.option("keywords")  # type: ignore[attr-defined]
        if not words:
            return True
        folded = fold(text)
        # at a word start, so "AMI" keeps "AMI n°3" but not "Jamaïque"; "appel" keeps "appels"
        return any(re.search(r"(?<!\w)" + re.escape(fold(w)), folded) for w in words)

    def follow(self, entry: Entry, *, detail: bool | None = None) -> Iterator[Any]:
        """The stored call if the entry is unchanged, else its detail request (or the call)."""
        stats = self.crawler.stats  # type: ignore[attr-defined]
        stats.inc_value("fundradar/listing_entries")
        known = self.known.get(canonical(entry.url))
        if known is not None and known.listing_hash and known.listing_hash == entry.hash:
            stats.inc_value("fundradar/detail_skipped_unchanged")
            yield known.to_call(self.name, entry.url, entry.hash)  # type: ignore[attr-defined]
            return
        if detail if detail is not None else self.follow_details:
            yield scrapy.Request(
                entry.url,
                callback=self.parse_detail,
                errback=self.detail_failed,
                cb_kwargs={"entry": entry},
            )
        else:
            yield self.build_call(entry, None)

    def detail_failed(self, failure: Failure) -> Iterator[Call]:
        """A detail page that cannot be fetched costs its extra fields, not the call."""
        entry: Entry = failure.request.cb_kwargs["entry"]  # type: ignore[attr-defined]
        self.crawler.stats.inc_value("fundradar/errors/detail")  # type: ignore[attr-defined]
        self.logger.warning("%s: detail page failed (%s): %s", self.name,  # type: ignore[attr-defined]
                            entry.url, failure.getErrorMessage())  # fmt: skip
        if entry.title:
            yield self.build_call(entry, None)

    # --- detail pages ----------------------------------------------------------------------
    def parse_detail(self, response: Response, entry: Entry) -> Iterator[Call]:
        yield self.build_call(entry, response)

    def body_of(self, response: Response) -> Selector | None:
        sel = self.source.selectors  # type: ignore[attr-defined]
        for candidate in ([sel.body] if sel.body else []) + list(DEFAULT_BODY):
            got = select(response, candidate)
            if got:
                return got[0]
        return None

    def detail_values(self, response: Response) -> tuple[dict[str, list[str]], dict[str, str]]:
        """field -> values from the detail page, and field -> how it was found."""
        sel = self.source.selectors  # type: ignore[attr-defined]
        values: dict[str, list[str]] = {}
        how: dict[str, str] = {}
        for name in ("title", "deadline", *TEXT_FIELDS, "summary"):
            got = texts(response, getattr(sel, name, None))
            if got:
                values[name], how[name] = got, "selector"
        body = self.body_of(response)
        labels = read_labels(body.root if body is not None else response.text)
        whole = None
        for name in ("deadline", *TEXT_FIELDS):
            if name in values:
                continue
            found = labels.get(name)
            if not found and body is not None:
                # a label outside the main block (a sidebar "Deadline" box)
                whole = whole if whole is not None else read_labels(response.text)
                found = whole.get(name)
            if found:
                values[name], how[name] = found, "label"
        return values, how

    def build_call(self, entry: Entry, response: Response | None) -> Call:
        values: dict[str, list[str]] = {}
        how: dict[str, str] = {}
        meta: dict[str, str] = {}
        body_html: str | None = None
        if response is not None:
            values, how = self.detail_values(response)
            meta = read_metadata(response.text)
            body = self.body_of(response)
            if body is not None and "summary" not in values:
                body_html = clean_body(body)
        for name, card_values in entry.card.items():
            if name not in values and card_values:
                values[name], how[name] = card_values, "listing"
        for name in ("deadline", "opens", "published"):
            if name not in values and meta.get(name):
                values[name], how[name] = [meta[name]], "metadata"

        def one(name: str) -> str | None:
            got = values.get(name)
            return got[0] if got else None

        title = (one("title") if how.get("title") == "selector" else None) or entry.title
        title = title or one("title") or meta.get("title")
        if not title and response is not None:
            title = first_text(response, "h1") or first_text(response, "title")
        summary = (one("summary") if how.get("summary") == "selector" else None) or body_html
        summary = summary or entry.summary or one("summary") or meta.get("summary")
        language = entry.language or self.language_of(entry.url, meta.get("language"))
        call = self.make_call(  # type: ignore[attr-defined]
            url=entry.url,
            title=squash(title) or None,
            source_ref=entry.source_ref,
            summary=summary,
            deadline_texts=list(dict.fromkeys(values.get("deadline", []))),
            language=language,
            **{attr: one(name) for name, attr in TEXT_FIELDS.items() if one(name)},
        )
        if entry.hash:
            call.extra["listing_hash"] = entry.hash
        call.extra["found_by"] = dict(sorted(how.items()))
        if response is None:
            call.extra["detail_fetched"] = False
        return call

    def language_of(self, url: str, page_lang: str | None) -> str | None:
        if self.source.language:  # type: ignore[attr-defined]
            return self.source.language  # type: ignore[attr-defined]
        # the page's own lang first: a Spanish call can sit in a site's /fr/ section
        if page_lang and page_lang.split("-")[0].isalpha():
            return page_lang.split("-")[0].lower()[:2]
        m = LANG_IN_PATH.search(url.split("?")[0])
        return m.group(1) if m else None


def clean_body(body: Selector) -> str:
    """The detail page's main block as HTML, without scripts, menus or forms."""
    import copy

    from lxml import html as lxml_html

    root = copy.deepcopy(body.root)
    for bad in list(root.iter("script", "style", "noscript", "nav", "form", "footer", "iframe")):
        if bad.getparent() is not None:
            bad.drop_tree()
    text = lxml_html.tostring(root, encoding="unicode") if isinstance(root.tag, str) else ""
    return text[:SUMMARY_MAX]


class HtmlListSpider(DetailPages, SourceSpider):
    """Listing → detail pages. Configured entirely by `selectors` and `options` in config."""

    kind = "html"

    @property
    def follow_details(self) -> bool:  # type: ignore[override]
        return bool(self.option("detail", True))

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.start_urls:
            yield scrapy.Request(url, callback=self.parse, cb_kwargs={"page": 1})

    def parse(self, response: Response, page: int = 1) -> Iterator[Any]:
        entries = list(self.listing_entries(response))
        if not entries:
            self.crawler.stats.inc_value("fundradar/empty_listing_pages")
            self.logger.warning("%s: no listing entries on %s", self.name, response.url)
        for entry in entries:
            yield from self.follow(entry)
        next_url = self.next_page(response)
        if next_url and page < self.source.max_pages:
            yield scrapy.Request(next_url, callback=self.parse, cb_kwargs={"page": page + 1})

    def cards(self, response: Response) -> Iterable[Selector]:
        sel = self.source.selectors
        if sel.item:
            return select(response, sel.item)
        # no item selector: every <article>, else every list item holding a link
        return response.css("article") or response.xpath("//main//li[.//a[@href]]")

    def listing_entries(self, response: Response) -> Iterator[Entry]:
        sel = self.source.selectors
        card_selectors: dict[str, str] = dict(self.option("card", {}) or {})
        seen: set[str] = set()
        for card in self.cards(response):
            href = first_text(card, sel.link) if sel.link else None
            href = href or card.css("a::attr(href)").get()
            if not href:
                continue
            url = response.urljoin(href.strip())
            # an item selector listing two layouts may match a card and its inner <article>
            if not url.startswith(("http://", "https://")) or url in seen:
                continue
            seen.add(url)
            text = squash(" ".join(card.xpath(".//text()").getall()))
            if not self.keep(text):
                self.crawler.stats.inc_value("fundradar/listing_entries_filtered")
                continue
            values = {name: texts(card, s) for name, s in card_selectors.items()}
            values = {k: v for k, v in values.items() if v}
            title = (values.pop("title", None) or [None])[0]
            if not title:
                link_text = card.xpath(".//a[@href][normalize-space()][1]//text()").getall()
                title = squash(" ".join(link_text)) or None
            summary = (values.pop("summary", None) or [None])[0]
            yield Entry(url=url, title=title, card=values, hash=listing_hash(text),
                        summary=summary)  # fmt: skip

    def next_page(self, response: Response) -> str | None:
        sel = self.source.selectors
        candidates = [sel.next_page] if sel.next_page else []
        candidates += ['a[rel="next"]::attr(href)', 'link[rel="next"]::attr(href)']
        for candidate in candidates:
            href = first_text(response, candidate)
            if href:
                url = response.urljoin(href)
                if url.startswith(("http://", "https://")) and url != response.url:
                    return url
        return None
