"""`FeedSpider` (RSS / Atom) and `WordPressSpider` (the WordPress REST API, feed as fallback).

Any funder with a feed or a WordPress site becomes a source with a config entry and nothing
else (SOURCES.md §5): `crawlers.spiders` makes a spider class for every such entry that has no
module of its own.

    - id: some_funder
      kind: feed                  # or wordpress
      funder: Some Funder
      start_urls: [https://example.org/feed/]          # wordpress: .../wp-json/wp/v2/posts
      options:
        keywords: [appel, call, convocatoria]   # keep only entries naming one (optional)
        detail: never | missing | always       # fetch the entry's page: never (default),
                                               # only when the entry has no deadline/status,
                                               # or always; read by selectors + labels
        feed: https://example.org/feed/        # wordpress only: used when the API refuses

Feeds are parsed from the response *bytes* with feedparser, whatever the Content-Type says:
SPIP sites (French embassies, `spip.php?page=backend`) serve RSS as text/html (S). Deadlines,
budgets and eligibility are read from each entry's HTML by the label reader.

Hostile or broken feeds are reported, never silently cut (issue 17):
- a feed that claims UTF-8 (or declares nothing) but holds invalid bytes is repaired before
  feedparser sees it (feedparser would re-read the *whole* feed as Windows-1252 or ISO-8859-2
  and garble every accent): `pipeline.normalise.text.decode_utf8_repairing`, counted as
  `fundradar/bad_input/encoding` and kept in quarantine as evidence (repaired, not refused);
- an entry whose link is not http(s) (`javascript:`, `data:`, `mailto:`) or that has no link
  is quarantined with the reason and counted, not dropped without a word.
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import feedparser
import scrapy
from lxml import html as lxml_html
from scrapy.http import Response
from w3lib.url import add_or_replace_parameter

from fundradar.crawlers.base import SourceSpider
from fundradar.crawlers.html import TEXT_FIELDS, DetailPages, Entry, squash
from fundradar.crawlers.known import listing_hash
from fundradar.crawlers.labels import read_labels
from fundradar.crawlers.runlog import RunLog
from fundradar.pipeline.normalise.text import decode_utf8_repairing
from fundradar.pipeline.record import Call

LABEL_FIELDS = ("deadline", *TEXT_FIELDS)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)""")
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff")  # UTF-16/32: feedparser reads those itself


def claims_utf8(body: bytes) -> bool:
    """True when the feed says UTF-8, or says nothing (XML's default is UTF-8)."""
    if body.startswith(_WIDE_BOMS):
        return False
    m = _XML_ENCODING.match(body[:400].removeprefix(b"\xef\xbb\xbf"))
    return m is None or m.group(1).lower().replace(b"_", b"-") in (b"utf-8", b"utf8")


def repaired_feed(body: bytes) -> tuple[bytes, int]:
    """The feed's bytes with invalid UTF-8 bytes repaired, and how many there were."""
    if not claims_utf8(body):
        return body, 0
    text, bad = decode_utf8_repairing(body)
    return (text.encode("utf-8"), bad) if bad else (body, 0)


def html_text(fragment: str | None) -> str:
    if not fragment or not fragment.strip():
        return ""
    try:
        return squash(lxml_html.fromstring(fragment).text_content())
    except Exception:  # a fragment lxml cannot read is still text
        return squash(fragment)


def _iso(parsed: Any) -> str | None:
    """feedparser's UTC struct_time -> ISO 8601 (RFC 822 strings vary too much between CMSs)."""
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), UTC).isoformat()


class FeedSpider(DetailPages, SourceSpider):
    kind = "feed"

    @property
    def detail_mode(self) -> str:
        mode = str(self.option("detail", "never")).lower()
        return mode if mode in ("never", "missing", "always") else "never"

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.start_urls:
            yield scrapy.Request(url, callback=self.parse_feed)

    def parse_feed(self, response: Response) -> Iterator[Any]:
        body, bad = repaired_feed(response.body)
        if bad:
            self.report_bad_encoding(response, bad)
        parsed = feedparser.parse(body)  # bytes: the Content-Type may lie (SPIP)
        if not parsed.entries:
            self.crawler.stats.inc_value("fundradar/empty_listing_pages")
            self.logger.warning("%s: no feed entries at %s (%s)", self.name, response.url,
                                parsed.get("bozo_exception") or "empty feed")  # fmt: skip
            return
        feed_language = parsed.feed.get("language")
        for item in parsed.entries:
            entry = self.feed_entry(item, response, feed_language)
            if entry is not None:
                yield from self.follow_entry(entry)

    def report_bad_encoding(self, response: Response, bad: int) -> None:
        reason = (f"encoding: feed declared UTF-8 but held {bad} invalid byte(s); repaired "
                  "(read as Windows-1252), check the accents")  # fmt: skip
        self.crawler.stats.inc_value("fundradar/bad_input/encoding")
        self.logger.warning("%s: %s at %s", self.name, reason, response.url)
        RunLog.of(self.crawler).quarantine(None, reason, url=response.url, refused=False)

    def refuse_entry(self, response: Response, reason: str, title: str | None,
                     link: str, html: str) -> None:  # fmt: skip
        """An entry we cannot use is kept in quarantine with its reason and counted."""
        self.logger.warning("%s: entry %r refused: %s", self.name, (title or "")[:80], reason)
        # seen and refused, as the pipelines count theirs: calls = seen - dropped stays true
        self.crawler.stats.inc_value("fundradar/items_seen")
        evidence = Call(source=self.name, url=link[:2000], title=title, summary=html or None)
        RunLog.of(self.crawler).quarantine(evidence, reason, url=response.url)

    def feed_entry(
        self, item: Any, response: Response, feed_language: str | None = None
    ) -> Entry | None:
        link = (item.get("link") or "").strip()
        content = item.get("content") or []
        html = content[0].get("value") if content else None
        html = html or item.get("summary") or item.get("description") or ""
        title = squash(item.get("title")) or None
        if not link:
            self.refuse_entry(response, "feed entry has no link", title, "", html)
            return None
        url = response.urljoin(link)
        if not url.startswith(("http://", "https://")):
            reason = f"link is not http(s): {url[:80]!r}"
            self.refuse_entry(response, reason, title, url, html)
            return None
        # dict.get: feedparser's own get() maps a missing "updated" to "published" with a warning
        published = _iso(dict.get(item, "published_parsed") or dict.get(item, "updated_parsed"))
        return self.entry_from(
            url=url, title=title, html=html, published=published,
            stamp=str(dict.get(item, "updated") or dict.get(item, "published") or ""),
            ref=None, language=self.entry_language(item, feed_language),
        )  # fmt: skip

    def entry_language(self, item: Any, feed_language: str | None) -> str | None:
        """dc:language, then the item's xml:lang, then the channel's (SPIP sets all three)."""
        if self.source.language:
            return self.source.language
        lang = item.get("language") or (item.get("title_detail") or {}).get("language")
        lang = lang or feed_language
        return str(lang).split("-")[0].lower()[:2] if lang else None

    def entry_from(
        self, *, url: str, title: str | None, html: str, published: str | None, stamp: str,
        ref: str | None, language: str | None,
    ) -> Entry | None:  # fmt: skip
        text = f"{title or ''} {html_text(html)}"
        if not self.keep(text):
            self.crawler.stats.inc_value("fundradar/listing_entries_filtered")
            return None
        labels = read_labels(html) if html.strip() else {}
        card = {name: labels[name] for name in LABEL_FIELDS if labels.get(name)}
        if published and "published" not in card:
            card["published"] = [published]
        return Entry(
            url=url, title=title, card=card, hash=listing_hash(f"{text} {stamp}"),
            summary=html or None, source_ref=ref, language=language,
        )  # fmt: skip

    def follow_entry(self, entry: Entry) -> Iterator[Any]:
        mode = self.detail_mode
        needs = mode == "always" or (
            mode == "missing" and not (entry.card.get("deadline") or entry.card.get("status")
                                       or entry.card.get("period"))
        )  # fmt: skip
        yield from self.follow(entry, detail=needs)


class WordPressSpider(FeedSpider):
    """WordPress REST API (`/wp-json/wp/v2/<type>`), paged by X-WP-TotalPages; feed fallback."""

    kind = "wordpress"
    # many WordPress sites switch the REST API off or put it behind a login: fall back to the feed
    api_refusals = [401, 403, 404, 410]

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.start_urls:
            yield self.api_request(url, 1)

    def api_request(self, url: str, page: int) -> scrapy.Request:
        if page > 1:
            url = add_or_replace_parameter(url, "page", str(page))
        return scrapy.Request(
            url, callback=self.parse_api, cb_kwargs={"page": page, "first": url},
            meta={"handle_httpstatus_list": self.api_refusals},
            headers={"Accept": "application/json"},
        )  # fmt: skip

    def parse_api(self, response: Response, page: int, first: str) -> Iterator[Any]:
        posts: Any = None
        if response.status < 400:
            try:
                posts = json.loads(response.text)
            except (ValueError, AttributeError):
                posts = None
        if not isinstance(posts, list):
            yield from self.fallback(response)
            return
        for post in posts:
            entry = self.post_entry(post, response)
            if entry is not None:
                yield from self.follow_entry(entry)
        try:
            total = int(response.headers.get(b"X-WP-TotalPages", b"1") or 1)
        except ValueError:
            total = 1
        if page < min(total, self.source.max_pages):
            yield self.api_request(response.url, page + 1)

    def fallback(self, response: Response) -> Iterator[scrapy.Request]:
        feed = self.option("feed")
        self.crawler.stats.inc_value("fundradar/wordpress_api_refused")
        if not feed:
            self.logger.error("%s: WordPress API refused (%s) at %s and no feed configured",
                              self.name, response.status, response.url)  # fmt: skip
            return
        self.logger.warning("%s: WordPress API refused (%s); reading the feed %s",
                            self.name, response.status, feed)  # fmt: skip
        yield scrapy.Request(feed, callback=self.parse_feed)

    def post_entry(self, post: Any, response: Response) -> Entry | None:
        if not isinstance(post, dict):
            return None
        link = str(post.get("link") or "")

        def rendered(key: str) -> str:
            value = post.get(key)
            return str(value.get("rendered") or "") if isinstance(value, dict) else str(value or "")

        title = html_text(rendered("title")) or None
        html = rendered("content") or rendered("excerpt")
        if not link.startswith(("http://", "https://")):
            reason = f"link is not http(s): {link[:80]!r}" if link else "post has no link"
            self.refuse_entry(response, reason, title, link, html)
            return None
        published = post.get("date_gmt") or post.get("date")
        if published and post.get("date_gmt"):
            published = f"{published}+00:00"  # date_gmt is UTC without saying so
        return self.entry_from(
            url=link, title=title, html=html, published=published,
            stamp=str(post.get("modified_gmt") or post.get("modified") or ""),
            ref=None, language=None,
        )  # fmt: skip
