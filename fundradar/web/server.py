"""Run the review page: loopback by default, token-protected beyond it, secrets kept out of logs.

Werkzeug's threaded server is enough for a handful of officers on one machine or an intranet
host; a maintainer who wants TLS puts a reverse proxy in front (the app needs nothing else).
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from fundradar import settings
from fundradar.exceptions import WebConfigError
from fundradar.web.app import create_app

log = logging.getLogger(__name__)
_TOKEN_IN_QUERY = re.compile(r"([?&]token=)[^&\s\"]*", re.IGNORECASE)


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and "localhost" reach only this machine; anything else may not."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to a public address


# a signed mail link's token unsubscribes or edits someone: not for the log either
_SIGNED_IN_PATH = re.compile(r"(/(?:unsubscribe|subscription)/)[^\s?\"/]+")


def redact(line: str) -> str:
    return _SIGNED_IN_PATH.sub(r"\1[redacted]", _TOKEN_IN_QUERY.sub(r"\1[redacted]", line))


class RedactingHandler(WSGIRequestHandler):
    """Werkzeug's request log prints the query string; a feed URL carries the token there."""

    def log(self, type: str, message: str, *args: object) -> None:
        super().log(type, redact(message % args if args else message))


def check_binding(host: str, token: str | None) -> None:
    """Refuse to start: beyond loopback without a token, or with a token too short to guess."""
    if not is_loopback(host) and not token:
        raise WebConfigError(
            f"refusing to listen on {host} without an access token: set FUNDRADAR_WEB_TOKEN "
            f"to a long random string ({settings.MAKE_WEB_TOKEN}) or serve on 127.0.0.1"
        )
    settings.check_web_token(token)


def make(host: str, port: int, token: str | None) -> BaseWSGIServer:
    """A ready server (port 0 picks a free one: tests read `server.server_port`)."""
    check_binding(host, token)
    app = create_app(token=token)
    return make_server(host, port, app, threaded=True, request_handler=RedactingHandler)


def serve(
    host: str = "127.0.0.1", port: int = 8000, token: str | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:  # fmt: skip
    """Serve until interrupted."""
    server = make(host, port, token)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{server.server_port}/"
    if on_ready:
        on_ready(url)
    try:
        server.serve_forever()
    finally:
        server.server_close()
