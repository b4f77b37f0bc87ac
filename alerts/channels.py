"""Alerts beyond e-mail: one message to a chat channel through Apprise.

Apprise (https://github.com/caronc/apprise) speaks to Microsoft Teams, Slack, Telegram,
Discord, Matrix, generic JSON/XML/form webhooks and about a hundred more services through one
URL each (`msteams://…`, `slack://…`, `tgram://bot-token/chat-id`, `json://host/path`), so a
subscription or the maintainer names a channel with one string and fundradar needs no code per
service. Those URLs hold the service's secret (a webhook token, a bot token): they are never
logged or shown in full (`redact`); a failure is reported with its cause, without the URL.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fundradar.alerts.subscriptions import redact_channel

log = logging.getLogger("fundradar.channels")

redact = redact_channel


@dataclass(frozen=True)
class Posted:
    ok: bool
    where: str  # the redacted channel
    error: str = ""  # why it failed, in one line

    def __bool__(self) -> bool:
        return self.ok


def post(url: str, *, title: str, body: str) -> Posted:
    """Post one message; never raises (a channel failing must not stop mail)."""
    import apprise

    where = redact(url)
    client = apprise.Apprise()
    try:
        if not client.add(url):
            return Posted(False, where, f"{where} is not an address Apprise can use")
        # Apprise says why only in its log: the warning, then the socket error or the
        # service's reply at debug level
        with apprise.LogCapture(level=logging.DEBUG, fmt="%(levelname)s\t%(message)s") as cap:
            ok = client.notify(title=title, body=body)
            said = _causes(cap.getvalue())
    except Exception as exc:  # a plugin's bug: reported, never raised into the crawl or send
        return Posted(False, where, f"{type(exc).__name__}: {_scrub(str(exc), url)}")
    if ok:
        return Posted(True, where)
    lines = [ln.strip() for ln in _scrub(said, url).splitlines() if ln.strip()]
    cause = "; ".join(dict.fromkeys(lines))[:600] or "the service refused the message"
    log.warning("channel %s: message not delivered: %s", where, cause)
    return Posted(False, where, cause)


_DETAIL = ("Socket Exception", "Response Details", "HTTP error", "Details:")


def _causes(log_text: str) -> str:
    """The warning and error lines of Apprise's log, and the debug lines that carry a cause."""
    out = []
    for line in log_text.splitlines():
        level, _, message = line.partition("\t")
        if level in ("WARNING", "ERROR", "CRITICAL") or message.startswith(_DETAIL):
            out.append(message)
    return "\n".join(out)


def _scrub(text: str, url: str) -> str:
    """The channel's URL and its path (where the tokens are) removed from a message."""
    out = text.replace(url, redact(url))
    secret = url.split("://", 1)[-1]
    for piece in {secret, secret.split("/", 1)[-1]}:
        if len(piece) >= 8:
            out = out.replace(piece, "…")
    return out
