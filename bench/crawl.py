"""Crawl speed against the politeness bound, and the cost of re-crawls (issue 16 items 1-3).

    python bench/crawl.py                         # 20 sources x 100 pages, 200 ms, medians of 3
    python bench/crawl.py --sources 5 --pages 40 --repeat 1 --reference-repeat 0   # quick look

A local mirror on 127.0.0.1 (reconstructed pages — not captures): N sources, each on a port of
its own, each a listing (9 calls a page, `rel=next` pagination) and one detail page per call,
M pages in all per source, every answer after `--latency` seconds. Pages carry an ETag and a
Last-Modified (with `max-age=0`, as CMSs that want revalidation send) and a matching
If-None-Match gets a 304, so Scrapy's RFC 2616 cache can revalidate instead of downloading.

The REAL spiders crawl it: one config-only HTML source per mirror site in a generated
sources.yaml (FUNDRADAR_CONFIG), a fresh FUNDRADAR_HOME per repeat whose database is created
before timing (as for every crawl after the first), `fundradar.crawling.crawl` as `fundradar
crawl` calls it. The delay between requests to one site is lowered for the mirror
(`--delay`, default 0.25 s, written in the generated config only; the product's default stays
2 s): politeness still holds per source, each crawler keeping its own delay.

Printed, medians of `--repeat` runs:

1. pages per second (mirror pages, robots.txt left out, over the whole `crawl()` call: process
   start, leases, run records, CSV feed included) beside the politeness bound in the same run:
   sources x one request per delay. Target: >= 80 % of the bound. For the product's number of
   crawl processes (config `defaults.crawl_processes`, 1) and one per core (up to 2) beside it,
   run in turn (`--processes 1,2` to choose). Reference, same run: the old layout, one child
   process per source, 2 at a time (`--isolate`), `--reference-repeat` times.
2. (with the first number of processes) re-crawl of the unchanged mirror: requests answered in
   full, answered 304, detail pages not asked for at all (listing entry unchanged). Target:
   full requests <= 10 % of run 1's.
3. after changing 5 % of the calls (card and page): detail pages fetched again. Target: only
   those of the changed calls.

Nothing is asserted here (tests assert; benchmarks report).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

CARDS_PER_PAGE = 9
WORDS_A = ("Coastal", "Blue", "Green", "Digital", "Rural", "Youth", "Island", "Regional",
           "Climate", "Marine", "Urban", "Cultural", "Health", "Energy", "Water", "Heritage",
           "Disaster", "Mobility", "Research", "Innovation")  # fmt: skip
WORDS_B = ("resilience", "fisheries", "tourism", "schools", "clinics", "farming", "reefs",
           "mangroves", "startups", "archives", "roads", "ports", "forests", "housing", "music",
           "sport", "museums", "laboratories", "cooperatives", "libraries")  # fmt: skip
WORDS_C = ("Saint Lucia", "Grenada", "Dominica", "Montserrat", "Antigua", "Martinique",
           "Guadeloupe", "the OECS", "Saint Vincent", "Saint Kitts", "Nevis")  # fmt: skip
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip


def title_of(source: int, call: int) -> str:
    """Titles that differ in words, not only in a number: deduplication keeps them apart."""
    h = hashlib.sha256(f"{source}/{call}".encode()).digest()
    return (f"{WORDS_A[h[0] % len(WORDS_A)]} {WORDS_B[h[1] % len(WORDS_B)]} grants for "
            f"{WORDS_C[h[2] % len(WORDS_C)]} {source}-{call}")  # fmt: skip


class Site:
    """One funder's site of the mirror: listing pages and detail pages, with validators."""

    def __init__(self, index: int, pages: int) -> None:
        self.index = index
        self.listing_pages = max(1, -(-pages // (CARDS_PER_PAGE + 1)))
        self.calls = max(0, pages - self.listing_pages)
        self.changed: set[int] = set()  # calls whose deadline moved (card and page)
        self.modified = formatdate(time.time() - 86400, usegmt=True)

    def deadline(self, call: int) -> str:
        day, month = 1 + (call * 7 + self.index) % 28, (call + self.index) % 12
        if call in self.changed:
            day = 1 + (day + 13) % 28
        return f"{day} {MONTHS[month]} 2027"

    def listing(self, page: int) -> str | None:
        if not 1 <= page <= self.listing_pages:
            return None
        first = (page - 1) * CARDS_PER_PAGE
        cards = "".join(
            f'<li class="call"><h2><a href="/calls/{c}">{title_of(self.index, c)}</a></h2>'
            f'<p class="deadline">Deadline: {self.deadline(c)}</p></li>'
            for c in range(first, min(first + CARDS_PER_PAGE, self.calls))
        )
        more = f'<a rel="next" href="/list?page={page + 1}">next</a>' if (
            page < self.listing_pages) else ""  # fmt: skip
        return (f"<html><head><title>Calls</title></head><body><main><h1>Open calls</h1>"
                f"<ul>{cards}</ul>{more}</main></body></html>")  # fmt: skip

    def detail(self, call: int) -> str | None:
        if not 0 <= call < self.calls:
            return None
        text = " ".join(
            f"<p>Paragraph {n}: eligible applicants from {WORDS_C[(call + n) % len(WORDS_C)]} "
            f"may apply for support to {WORDS_B[(call * n) % len(WORDS_B)]} projects, with "
            "co-financing up to 80 % and a budget of EUR 50,000 to 200,000.</p>"
            for n in range(8)
        )
        return (f"<html><head><title>{title_of(self.index, call)}</title></head><body><main>"
                f"<h1>{title_of(self.index, call)}</h1><p class='deadline'>Deadline: "
                f"{self.deadline(call)}</p>{text}</main></body></html>")  # fmt: skip


class Mirror:
    """N sites, one ThreadingHTTPServer each on its own 127.0.0.1 port; counts every answer."""

    def __init__(self, sources: int, pages: int, latency: float) -> None:
        self.latency = latency
        self.sites = [Site(i, pages) for i in range(sources)]
        self.counts: Counter[tuple[str, int]] = Counter()  # (kind, status) -> answers
        self.times: list[float] = []
        self.lock = threading.Lock()
        self.servers = [self._server(site) for site in self.sites]
        self.threads = [threading.Thread(target=s.serve_forever, daemon=True)
                        for s in self.servers]  # fmt: skip

    def _server(self, site: Site) -> ThreadingHTTPServer:
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                time.sleep(mirror.latency)
                kind, body = mirror.page(site, self.path)
                status = 404 if body is None else 200
                data = (body or "not found").encode("utf-8")
                etag = '"' + hashlib.sha256(data).hexdigest()[:20] + '"'
                if body is not None and self.headers.get("If-None-Match") == etag:
                    status, data = 304, b""
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if kind == "robots"
                                 else "text/html; charset=utf-8")  # fmt: skip
                if body is not None:
                    self.send_header("ETag", etag)
                    self.send_header("Last-Modified", site.modified)
                    self.send_header("Cache-Control", "max-age=0")  # revalidate every time
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                with mirror.lock:
                    mirror.counts[(kind, status)] += 1
                    mirror.times.append(time.monotonic())

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        return server

    @staticmethod
    def page(site: Site, path: str) -> tuple[str, str | None]:
        if path == "/robots.txt":
            return "robots", "User-agent: *\nAllow: /\n"
        if path.startswith("/list?page="):
            return "listing", site.listing(int(path.split("=", 1)[1] or 0))
        if path.startswith("/calls/") and path[7:].isdigit():
            return "detail", site.detail(int(path[7:]))
        return "other", None

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.servers[index].server_address[1]}/list?page=1"

    def __enter__(self) -> Mirror:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for s in self.servers:
            s.shutdown()
            s.server_close()

    def take(self) -> tuple[Counter[tuple[str, int]], list[float]]:
        """The answers since the last call (then counting starts again)."""
        with self.lock:
            counts, times = self.counts, self.times
            self.counts, self.times = Counter(), []
        return counts, times

    def change(self, share: float) -> int:
        """Move the deadline of `share` of all calls (spread over every site); how many."""
        step = max(1, round(1 / share))
        n = 0
        for site in self.sites:
            for call in range(site.index % step, site.calls, step):
                site.changed.add(call)
                n += 1
        return n


def write_config(folder: Path, mirror: Mirror, delay: float) -> list[str]:
    """The packaged config with the mirror's sites as the only sources; the bench's delay."""
    shutil.copytree(REPO / "config", folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    data = yaml.safe_load((folder / "sources.yaml").read_text(encoding="utf-8"))
    # bench only: the mirror is ours, so a shorter wait than the 2 s the product keeps
    data["defaults"].update(download_delay=delay, http_cache=True, download_timeout=30)
    data["sources"] = [
        {
            "id": f"mirror_{site.index:02d}", "kind": "html",
            "funder": f"Mirror Funder {site.index}", "language": "en",
            "timezone": "America/St_Lucia", "start_urls": [mirror.url(site.index)],
            "max_pages": site.listing_pages + 5,
            "selectors": {"item": "li.call", "link": "h2 a::attr(href)", "title": "h1",
                          "deadline": ".deadline"},
        }
        for site in mirror.sites
    ]  # fmt: skip
    (folder / "sources.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return [s["id"] for s in data["sources"]]


def use_home(root: Path, name: str) -> None:
    from fundradar.pipeline import db

    home = root / name
    os.environ["FUNDRADAR_HOME"] = str(home)
    os.environ.pop("FUNDRADAR_DATABASE_URL", None)
    db.reset_caches()
    db.init()  # the database exists, as for every crawl after the first (not timed)


def timed_crawl(
    ids: list[str], mirror: Mirror, *, isolate: bool, processes: int | None = None
) -> dict[str, Any]:
    from fundradar.crawling import crawl

    mirror.take()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    summaries = crawl(ids, isolate=isolate, processes=processes)
    seconds = time.monotonic() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    counts, times = mirror.take()
    pages = sum(n for (kind, _s), n in counts.items() if kind in ("listing", "detail"))
    return {
        "seconds": seconds, "pages": pages, "counts": counts, "cpu": cpu,
        "window": (max(times) - min(times)) if len(times) > 1 else 0.0,
        # before the first request (processes starting, database) and after the last one
        "lead": (min(times) - started) if times else 0.0,
        "tail": (started + seconds - max(times)) if times else 0.0,
        "ok": sum(s.status == "ok" for s in summaries), "sources": len(summaries),
        "calls": sum(s.calls for s in summaries),
        "skipped": sum(s.skipped for s in summaries),
        "revalidated": sum(s.revalidated for s in summaries),
    }  # fmt: skip


def one_repeat(args: argparse.Namespace, root: Path, n: int, procs: int,
               full: bool) -> dict[str, Any]:  # fmt: skip
    with Mirror(args.sources, args.pages, args.latency) as mirror:
        name = f"{n}-{procs}"
        os.environ["FUNDRADAR_CONFIG"] = str(root / f"config-{name}")
        ids = write_config(root / f"config-{name}", mirror, args.delay)
        use_home(root, f"home-{name}")
        first = timed_crawl(ids, mirror, isolate=False, processes=procs)
        if not full:
            return {"first": first}
        second = timed_crawl(ids, mirror, isolate=False, processes=procs)
        changed = mirror.change(args.change)
        third = timed_crawl(ids, mirror, isolate=False, processes=procs)
    return {"first": first, "second": second, "third": third, "changed": changed}


def reference(args: argparse.Namespace, root: Path, n: int) -> dict[str, Any]:
    with Mirror(args.sources, args.pages, args.latency) as mirror:
        os.environ["FUNDRADAR_CONFIG"] = str(root / f"config-ref-{n}")
        ids = write_config(root / f"config-ref-{n}", mirror, args.delay)
        use_home(root, f"home-ref-{n}")
        return timed_crawl(ids, mirror, isolate=True)


def requests_of(run: dict[str, Any], status: int | None = None, kind: str | None = None) -> int:
    return sum(
        count for (k, s), count in run["counts"].items()
        if (status is None or s == status) and (kind is None or k == kind)
    )  # fmt: skip


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sources", type=int, default=20)
    ap.add_argument("--pages", type=int, default=100, help="listing + detail pages per source")
    ap.add_argument("--latency", type=float, default=0.2, help="seconds before each answer")
    ap.add_argument(
        "--delay",
        type=float,
        default=0.25,
        help="DOWNLOAD_DELAY for the mirror (bench only; the default stays 2 s)",
    )
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--reference-repeat",
        type=int,
        default=1,
        help="runs of the old one-process-per-source layout (slow: 0 to skip)",
    )
    ap.add_argument("--change", type=float, default=0.05, help="share of calls changed")
    ap.add_argument(
        "--processes",
        default=None,
        help="crawl processes, comma-separated counts to compare (default: the product's, "
        "config defaults.crawl_processes, and one per core up to 2)",
    )
    args = ap.parse_args()
    os.environ["FUNDRADAR_MAINTAINER_ALERTS"] = "0"
    bound = args.sources / args.delay
    print(f"mirror: {args.sources} sources x {args.pages} pages, {args.latency * 1000:.0f} ms "
          f"latency, delay {args.delay:g} s per site; politeness bound {bound:.1f} pages/s "
          f"({args.sources} x 1/{args.delay:g} s)")  # fmt: skip
    from fundradar.config.loader import CrawlDefaults

    default = CrawlDefaults().crawl_processes  # the product's
    if args.processes:
        counts = [int(x) for x in args.processes.split(",")]
    else:  # the product's default, and one process per core (up to 2) beside it
        counts = list(dict.fromkeys([default, min(2, os.cpu_count() or 1)]))
    root = Path(tempfile.mkdtemp(prefix="fundradar-bench-crawl-"))
    try:
        by_count: dict[int, list[dict[str, Any]]] = {c: [] for c in counts}
        for n in range(args.repeat):
            for c in counts:  # interleaved: a slow spell of the machine hits every count
                got = one_repeat(args, root, n, c, full=c == counts[0])
                by_count[c].append(got)
                f = got["first"]
                print(f"  run {n + 1}, {c} process(es): {f['pages']} pages in "
                      f"{f['seconds']:.1f} s ({f['pages'] / f['seconds']:.1f} pages/s; mirror "
                      f"busy {f['window']:.1f} s); {f['ok']}/{f['sources']} ok, "
                      f"{f['calls']} calls")  # fmt: skip
        runs = by_count[counts[0]]
        refs = []
        for n in range(args.reference_repeat):
            r = reference(args, root, n)
            refs.append(r)
            print(f"  reference run {n + 1} (--isolate): {r['pages']} pages in "
                  f"{r['seconds']:.1f} s ({r['pages'] / r['seconds']:.1f} pages/s)")  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)

    print()
    for n_line, c in enumerate(counts):
        rs = by_count[c]
        rate = med([r["first"]["pages"] / r["first"]["seconds"] for r in rs])
        what = "the product's default" if c == default else "one per core"
        print(f"{'1.' if n_line == 0 else '  '} all sources, {c} crawl process(es) ({what}): "
              f"{rate:.1f} pages/s = {rate / bound:.0%} of the bound {bound:.1f} (target >= "
              f"80 %), median of {len(rs)}")  # fmt: skip
        ms = med([r["first"]["cpu"] / r["first"]["pages"] * 1000 for r in rs])
        print(f"   seconds: {med([r['first']['seconds'] for r in rs]):.1f} "
              f"(the mirror busy {med([r['first']['window'] for r in rs]):.1f}, "
              f"{med([r['first']['lead'] for r in rs]):.1f} before its first request, "
              f"{med([r['first']['tail'] for r in rs]):.1f} after its last); CPU of the crawl "
              f"processes {med([r['first']['cpu'] for r in rs]):.1f} s, {ms:.1f} ms a page "
              f"(CPU, not slowed by other load): one core does at most {1000 / ms:.0f} pages/s;"
              f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip
    rate = med([r["first"]["pages"] / r["first"]["seconds"] for r in runs])
    if refs:
        ref_rate = med([r["pages"] / r["seconds"] for r in refs])
        print(f"   reference, one process per source (2 at a time): {ref_rate:.1f} pages/s = "
              f"{ref_rate / bound:.0%} of the bound, {med([r['seconds'] for r in refs]):.1f} s "
              f"(median of {len(refs)}); shared: {rate / ref_rate:.1f}x faster")  # fmt: skip

    first = med([requests_of(r["first"]) for r in runs])
    full2 = med([requests_of(r["second"], 200) for r in runs])
    cheap2 = med([requests_of(r["second"], 304) for r in runs])
    skipped2 = med([r["second"]["skipped"] for r in runs])
    print(f"2. unchanged re-crawl: run 1 made {first:.0f} requests; run 2: {full2:.0f} answered "
          f"in full ({full2 / first:.1%}; target <= 10 %), {cheap2:.0f} answered 304 "
          f"({cheap2 / first:.1%}), {skipped2:.0f} detail pages not asked for")  # fmt: skip
    print(f"   run 2 as the crawl reports it: {med([r['second']['revalidated'] for r in runs]):.0f}"
          f" revalidated (304), {skipped2:.0f} skipped; "
          f"{med([r['second']['seconds'] for r in runs]):.1f} s, CPU "
          f"{med([r['second']['cpu'] for r in runs]):.1f} s")  # fmt: skip
    changed = med([r["changed"] for r in runs])
    details3 = med([requests_of(r["third"], 200, "detail") for r in runs])
    lists3 = med([requests_of(r["third"], 200, "listing") for r in runs])
    cheap3 = med([requests_of(r["third"], 304) for r in runs])
    total_calls = sum(Site(i, args.pages).calls for i in range(args.sources))
    print(f"3. after changing {changed:.0f} of {total_calls} calls ({args.change:.0%}): "
          f"{details3:.0f} detail pages fetched again (target: {changed:.0f}, only theirs), "
          f"{lists3:.0f} listing pages in full, {cheap3:.0f} answered 304, "
          f"{med([r['third']['skipped'] for r in runs]):.0f} skipped")  # fmt: skip


if __name__ == "__main__":
    main()
