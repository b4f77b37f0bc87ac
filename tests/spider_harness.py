"""Run a spider over its fixture folder without a reactor or a network.

`offline_crawl(SpiderClass)` plays Scrapy's part in miniature: it takes the spider's start
requests, answers each from `crawlers/samples/<id>/index.json` (matched on host, path and query as
the fixture server does), builds the response class Scrapy would pick from the Content-Type
(or, like Scrapy, a plain TextResponse for JSON), calls the callback (or the errback with a 404),
follows the requests it yields, drops duplicate requests as Scrapy's duplicate filter does, and
returns the items and the URLs requested. The spider's methods are the real ones; only the
downloader is replaced by files.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from scrapy import Request
from scrapy.http import HtmlResponse, Response, TextResponse, XmlResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from fundradar.pipeline.record import Call

from .conftest import SAMPLES, make_spider


def _key(url: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    p = urlsplit(url)
    query = tuple(sorted(parse_qsl(p.query, keep_blank_values=True)))
    return (p.netloc.lower(), p.path or "/", query)


def load_index(folder: Path) -> dict[Any, dict[str, Any]]:
    data = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    return {_key(r["url"]): r for r in data["responses"]}


def response_for(folder: Path, entry: dict[str, Any], request: Request) -> Response:
    ctype = entry.get("content_type", "text/html; charset=utf-8")
    body = (folder / entry["file"]).read_bytes()
    headers = {"Content-Type": ctype, **entry.get("headers", {})}
    low = ctype.lower()
    cls: type[Response]
    if "html" in low:
        cls = HtmlResponse
    elif "xml" in low or "rss" in low or "atom" in low:
        cls = XmlResponse
    else:
        cls = TextResponse
    return cls(url=request.url, body=body, headers=headers, status=int(entry.get("status", 200)),
               request=request, encoding=None if cls is not TextResponse else "utf-8")  # fmt: skip


@dataclass
class OfflineCrawl:
    spider: Any
    items: list[Call] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def by_url(self) -> dict[str, Call]:
        return {c.url: c for c in self.items}


def offline_crawl(spider_cls: type, *, folder: Path | None = None, known: dict | None = None,
                  spider: Any = None, max_requests: int = 200) -> OfflineCrawl:  # fmt: skip
    spider = spider or make_spider(spider_cls)
    if known is not None:
        spider.known = known
    folder = folder or SAMPLES / spider.name
    index = load_index(folder)

    async def starts() -> list[Request]:
        return [r async for r in spider.start()]

    queue: list[Request] = asyncio.run(starts())
    result = OfflineCrawl(spider)
    seen: set[Any] = set()
    while queue and len(result.requested) < max_requests:
        request = queue.pop(0)
        key = (request.method, _key(request.url))
        if key in seen and not request.dont_filter:
            continue
        seen.add(key)
        result.requested.append(request.url)
        entry = index.get(_key(request.url))
        callback = request.callback or spider.parse
        if entry is None:
            result.missing.append(request.url)
            allowed = request.meta.get("handle_httpstatus_list") or []
            if 404 in allowed:
                response = TextResponse(url=request.url, status=404, body=b"not found",
                                        request=request, encoding="utf-8")  # fmt: skip
                outputs = callback(response, **request.cb_kwargs)
            elif request.errback:
                response = TextResponse(url=request.url, status=404, body=b"", request=request)
                failure = Failure(HttpError(response, "404"))
                failure.request = request  # type: ignore[attr-defined]
                outputs = request.errback(failure)
            else:
                continue
        else:
            response = response_for(folder, entry, request)
            outputs = callback(response, **request.cb_kwargs)
        for out in outputs or []:
            if isinstance(out, Request):
                queue.append(out)
            elif isinstance(out, Call):
                result.items.append(out)
    return result


def normalised(call: Call, now: Any) -> Call:
    """A normalised copy (the pipeline's first stage), leaving the spider's item untouched."""
    import copy

    from fundradar.pipeline.normalise import normalise

    return normalise(copy.deepcopy(call), now=now)


def assert_item_contract(call: Call, source: str) -> None:
    """What every spider item must carry before the pipeline (raw fields, real URLs)."""
    assert call.source == source
    assert call.url.startswith(("http://", "https://")), call.url
    assert call.title and call.title == call.title.strip() and "<" not in call.title
    assert call.deadline_texts or call.status_text or call.period_text, call.title
    assert call.extra.get("timezone"), "the source's time zone travels with the item"
    assert call.funder
