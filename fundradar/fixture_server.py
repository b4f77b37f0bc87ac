"""A local HTTP server that answers with the bundled fixture pages.

Used by `fundradar demo`, `fundradar sources check` and the end-to-end tests. It listens on
127.0.0.1 only. The pages are package data of `fundradar.crawlers` (`crawlers/samples/<source>/`
in a checkout, read with importlib.resources so an installed wheel finds them too); a capture
that `fundradar sources record` saved into $FUNDRADAR_HOME/samples/<source>/ (an installed
package's own folder is not the place for it) is served instead of the bundled pages.
Each folder's `index.json` lists the responses of that source:

    {"source": "eu_ft", "origin": "capture" | "reconstructed", "captured_at": "2026-...",
     "note": "where it came from",
     "responses": [{"url": "https://host/path?query", "file": "page.html",
                    "content_type": "text/html; charset=utf-8", "status": 200,
                    "method": "GET", "headers": {"ETag": "..."}}]}

`crawlers.middlewares.FixtureRedirectMiddleware` sends a crawl's requests here with the original
host in the `X-Fundradar-Host` header; a request is matched on host, path and query (query
order ignored). `/robots.txt` is served from an entry for it if there is one, else allows all.
An ETag or Last-Modified in an entry's headers is honoured (304 on a matching conditional
request), so the tests can show that unchanged pages are not downloaded again.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fundradar import settings
from fundradar.exceptions import FundradarError

HOST_HEADER = "X-Fundradar-Host"
INDEX = "index.json"


def bundled_samples() -> Path:
    """The sample pages shipped with the package, one folder per source."""
    root = files("fundradar.crawlers") / "samples"
    if not isinstance(root, Path):  # pip always unpacks a wheel; a zipped import is not served
        raise FundradarError(f"the sample pages are not on disk ({root}): reinstall with pip")
    return root


def recorded_samples(home: Path | None = None) -> Path:
    """Where `sources record` saves captures when the package's own folder is not for writing."""
    return (home or settings.load().home) / "samples"


def _source_folders(root: Path) -> dict[str, Path]:
    # dot-folders are a recording's staging copies and set-aside old fixtures, never served
    if not root.is_dir():
        return {}
    return {
        p.name: p
        for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (p / INDEX).is_file()
    }


def sample_folders(home: Path | None = None) -> list[Path]:
    """One folder per source: a capture in $FUNDRADAR_HOME/samples/ wins over the bundled pages.

    Read it before switching FUNDRADAR_HOME to a throwaway folder (demo, sources check)."""
    found = _source_folders(bundled_samples())
    found.update(_source_folders(recorded_samples(home)))
    return [found[name] for name in sorted(found)]


def in_checkout(folder: Path) -> bool:
    """Is this bundled samples folder part of a source checkout (crawlers/samples/)?"""
    return (folder.parent.parent / "pyproject.toml").is_file()


def record_folder(source_id: str, home: Path | None = None) -> Path:
    """Where `sources record` saves SOURCE: crawlers/samples/<id> in a writable checkout (the
    capture is committed with the code), else $FUNDRADAR_HOME/samples/<id> (an installed
    package's files are replaced by the next upgrade, and may not be writable at all)."""
    bundled = bundled_samples()
    if in_checkout(bundled) and os.access(bundled, os.W_OK):
        return bundled / source_id
    return recorded_samples(home) / source_id


def _key(host: str, path: str, query: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    return (host.lower(), path or "/", tuple(sorted(parse_qsl(query, keep_blank_values=True))))


@dataclass
class Entry:
    file: Path
    content_type: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def load_index(folder: Path) -> list[tuple[str, Entry]]:
    index = folder / INDEX
    if not index.is_file():
        return []
    data = json.loads(index.read_text(encoding="utf-8"))
    out = []
    for r in data.get("responses", []):
        out.append(
            (
                r["url"],
                Entry(
                    file=folder / r["file"],
                    content_type=r.get("content_type", "text/html; charset=utf-8"),
                    status=int(r.get("status", 200)),
                    headers=dict(r.get("headers", {})),
                ),
            )
        )
    return out


class FixtureServer:
    """`with FixtureServer([...folders]) as server: server.url` — serves until the block ends.

    No folders: every source's samples (`sample_folders()`)."""

    def __init__(self, folders: list[Path] | None = None, host: str = "127.0.0.1", port: int = 0):
        folders = folders if folders is not None else sample_folders()
        self.routes: dict[Any, Entry] = {}
        self.by_path: dict[tuple[str, str], Entry] = {}
        for folder in folders:
            for url, entry in load_index(folder):
                parts = urlsplit(url)
                self.routes[_key(parts.netloc, parts.path, parts.query)] = entry
                self.by_path.setdefault((parts.netloc.lower(), parts.path or "/"), entry)
        self.requests: list[tuple[str, str, int]] = []  # (host, path?query, status) for tests
        self._httpd = ThreadingHTTPServer((host, port), self._handler())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the test output stays readable; requests are kept in server.requests

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                host = self.headers.get(HOST_HEADER) or self.headers.get("Host", "")
                parts = urlsplit(self.path)
                entry = server.routes.get(_key(host, parts.path, parts.query))
                if entry is None and parts.path == "/robots.txt":
                    self._send(200, b"User-agent: *\nAllow: /\n", "text/plain", {})
                    server.requests.append((host, self.path, 200))
                    return
                if entry is None:
                    self._send(404, b"not in the fixtures", "text/plain", {})
                    server.requests.append((host, self.path, 404))
                    return
                etag = entry.headers.get("ETag")
                if etag and self.headers.get("If-None-Match") == etag:
                    self._send(304, b"", entry.content_type, entry.headers)
                    server.requests.append((host, self.path, 304))
                    return
                body = entry.file.read_bytes()
                self._send(entry.status, body, entry.content_type, entry.headers)
                server.requests.append((host, self.path, entry.status))

            def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304 and self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_HEAD = _answer

        return Handler

    def start(self) -> FixtureServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FixtureServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
