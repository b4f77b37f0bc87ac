"""A misbehaving HTTP server on 127.0.0.1, for tests of what fundradar does when a site fails.

Every route answers as told, and can be re-told between crawls (a markup change, a recovery):

    with FaultServer() as server:
        server.route("/calls", Page(LISTING))                     # a normal page
        server.route("/calls", Fail(503, times=2, then=Page(LISTING)))  # 503 twice, then fine
        server.route("/calls", RetryAfter(1, then=Page(LISTING)))  # 429 + Retry-After: 1
        server.route("/calls", Slow(2.0, Page(LISTING)))          # answers after 2 s
        server.route("/calls", Hang())                            # never answers
        server.route("/calls", ResetMidBody())                    # drops the line mid-body
        server.route("/calls", RedirectLoop())                    # 302 to itself, forever
        server.robots("Disallow: /")                              # robots.txt says keep out
        server.route("/feed", Page(b"\\xff\\xfe broken", content_type="application/rss+xml"))
        server.route("/big", LargeBody(50 * 2**20))               # 50 MB, streamed
        server.route("/bomb", GzipBomb(200 * 2**20))              # ~200 KB inflating to 200 MB
        server.url("/calls")                                      # http://127.0.0.1:<port>/calls

`server.hits` lists (path, status) of every answer, in order. `fault_server` is a pytest
fixture giving a started server (tests/conftest.py makes it available to every test).
Everything it serves is made up by the tests — reconstructed, not a capture.
"""

from __future__ import annotations

import functools
import gzip
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

import pytest

ALLOW_ALL = "User-agent: *\nDisallow:\n"


class Behaviour(Protocol):
    def answer(self, handler: Handler, hit: int) -> int:
        """Answer the request (hit = 1 for the first request to this route); return the status
        sent, or 0 when no status line was sent (hung, dropped)."""
        ...


def _send(handler: Handler, status: int, body: bytes, headers: dict[str, str]) -> int:
    handler.send_response(status)
    for k, v in headers.items():
        handler.send_header(k, v)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)
    return status


@dataclass
class Page:
    body: bytes | str
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    def answer(self, handler: Handler, hit: int) -> int:
        body = self.body.encode("utf-8") if isinstance(self.body, str) else self.body
        return _send(handler, self.status, body, {"Content-Type": self.content_type,
                                                  **self.headers})  # fmt: skip


@dataclass
class Fail:
    """`status` for the first `times` requests (None: always), then `then`."""

    status: int = 503
    times: int | None = None
    then: Behaviour | None = None

    def answer(self, handler: Handler, hit: int) -> int:
        if self.times is None or hit <= self.times or self.then is None:
            return _send(handler, self.status, f"error {self.status}".encode(),
                         {"Content-Type": "text/plain"})  # fmt: skip
        return self.then.answer(handler, hit - self.times)


@dataclass
class RetryAfter:
    """429 (or 503) with `Retry-After: seconds` for the first `times` requests, then `then`."""

    seconds: float | str = 1
    times: int | None = 1
    then: Behaviour | None = None
    status: int = 429

    def answer(self, handler: Handler, hit: int) -> int:
        if self.times is None or hit <= self.times or self.then is None:
            handler.server.retry_after_sent.append(time.monotonic())  # type: ignore[attr-defined]
            return _send(handler, self.status, b"slow down", {
                "Content-Type": "text/plain", "Retry-After": str(self.seconds)})  # fmt: skip
        return self.then.answer(handler, hit - self.times)


@dataclass
class Slow:
    delay: float
    then: Behaviour

    def answer(self, handler: Handler, hit: int) -> int:
        time.sleep(self.delay)
        return self.then.answer(handler, hit)


@dataclass
class Hang:
    """Reads the request and never answers (until `seconds`, then drops the connection)."""

    seconds: float = 30

    def answer(self, handler: Handler, hit: int) -> int:
        handler.server.stopping.wait(self.seconds)  # type: ignore[attr-defined]
        handler.close_connection = True
        return 0


def _reset(handler: Handler) -> None:
    # SO_LINGER 0: close() sends a TCP RST, as a crashing proxy or a dropped line would
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.close_connection = True


@dataclass
class ResetMidBody:
    """Announces `length` bytes, sends a few, then resets the connection."""

    length: int = 100_000
    sent: int = 1_000

    def answer(self, handler: Handler, hit: int) -> int:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(self.length))
        handler.end_headers()
        handler.wfile.write(b"<html><body>" + b"x" * self.sent)
        handler.wfile.flush()
        _reset(handler)
        return 0


@dataclass
class RedirectLoop:
    """302 to `target` (default: the same path), forever."""

    target: str | None = None

    def answer(self, handler: Handler, hit: int) -> int:
        where = self.target or handler.path
        return _send(handler, 302, b"", {"Location": where})


@dataclass
class LargeBody:
    """`size` bytes of HTML, streamed in chunks (not held in memory)."""

    size: int = 50 * 2**20

    def answer(self, handler: Handler, hit: int) -> int:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(self.size))
        handler.end_headers()
        chunk = b"<p>" + b"x" * 65_530 + b"</p>"
        left = self.size
        try:
            while left > 0:
                handler.wfile.write(chunk[: min(left, len(chunk))])
                left -= len(chunk)
        except (BrokenPipeError, ConnectionResetError):  # the client cut it: as it should
            pass
        return 200


@lru_cache(maxsize=4)
@functools.cache
def gzip_bomb(size: int) -> bytes:
    """`size` bytes of zeros, gzipped (200 MB -> about 200 KB). Made once per size: compressing
    200 MB takes seconds on a busy machine, which a crawl's short test timeout would report as
    "unreachable" instead of the bomb it is."""
    return gzip.compress(b"\0" * size, compresslevel=9)


@dataclass
class GzipBomb:
    size: int = 200 * 2**20

    def __post_init__(self) -> None:
        gzip_bomb(self.size)  # before the crawl starts, not while its request waits

    def answer(self, handler: Handler, hit: int) -> int:
        return _send(handler, 200, gzip_bomb(self.size), {
            "Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"})  # fmt: skip


class Handler(BaseHTTPRequestHandler):
    server: _Server  # type: ignore[assignment]
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.server.answer(self)

    do_HEAD = do_GET

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.routes: dict[str, Behaviour] = {
            "/robots.txt": Page(ALLOW_ALL, content_type="text/plain")
        }
        self.counts: dict[str, int] = {}
        self.hits: list[tuple[str, int]] = []
        self.retry_after_sent: list[float] = []
        self.hit_times: list[tuple[str, float]] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def answer(self, handler: Handler) -> None:
        path = handler.path
        route = self.routes.get(path) or self.routes.get(path.split("?")[0])
        with self.lock:
            self.counts[path] = hit = self.counts.get(path, 0) + 1
            self.hit_times.append((path, time.monotonic()))
        if route is None:
            status = _send(handler, 404, b"not found", {"Content-Type": "text/plain"})
        else:
            try:
                status = route.answer(handler, hit)
            except (BrokenPipeError, ConnectionResetError):
                status = 0
        with self.lock:
            self.hits.append((path, status))


class FaultServer:
    def __init__(self) -> None:
        self._server = _Server()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def hits(self) -> list[tuple[str, int]]:
        return list(self._server.hits)

    def hits_on(self, path: str) -> list[int]:
        return [status for p, status in self.hits if p == path]

    @property
    def retry_after_sent(self) -> list[float]:
        return list(self._server.retry_after_sent)

    def times_of(self, path: str) -> list[float]:
        return [t for p, t in list(self._server.hit_times) if p == path]

    def route(self, path: str, behaviour: Behaviour) -> None:
        """Serve `path` (with or without its query) this way from now on; counts restart."""
        self._server.routes[path] = behaviour
        self._server.counts.pop(path, None)

    def robots(self, rules: str) -> None:
        self.route("/robots.txt", Page("User-agent: *\n" + rules + "\n", content_type="text/plain"))

    def start(self) -> FaultServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def fault_server() -> Iterator[FaultServer]:
    """A started FaultServer on 127.0.0.1, stopped after the test (import this fixture)."""
    with FaultServer() as server:
        yield server
