"""The digest's one-click verdict links (fundradar.web.mail_links), on the real application
and a real SQLite database; the last test opens a link from a mail received by aiosmtpd in
headless Chromium.

A GET only shows a confirm page (mail scanners follow links); the POST from that page, with
the session's CSRF token, records the verdict with the recipient as author. Altered, expired
or other-purpose links are refused with a page saying why, and nothing is recorded. The
signature is the authorisation: FUNDRADAR_WEB_TOKEN is not asked for on these two routes only.

The calls are reconstructed — not captures.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import threading
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from freezegun import freeze_time
from sqlalchemy import select

from fundradar import tokens
from fundradar.alerts.compose import verdict_url
from fundradar.pipeline import db
from fundradar.pipeline.models import Verdict
from fundradar.web.app import create_app
from tests.conftest import CHROMIUM_ARGS, chromium_path
from tests.digest_support import add_call

REPO = Path(__file__).resolve().parent.parent
SECRET = "s3cret-key-for-signing-mail-links-0123456789"
WEB_TOKEN = "web-token-for-the-review-page-0123456789abcdef"
OFFICER = "officer@oecs.example"
NOW = dt.datetime(2026, 11, 24, 14, 0, tzinfo=dt.UTC)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("FUNDRADAR_SECRET_KEY", SECRET)
    return SECRET


def _client(token: str | None = None) -> FlaskClient:
    return create_app(token=token, clock=lambda: NOW).test_client()


def _path(call: int, verdict: str, email: str = OFFICER, secret: str = SECRET) -> str:
    token = tokens.sign(secret, "verdict", {"call": call, "verdict": verdict, "email": email})
    return verdict_url("", token)


def _verdicts() -> list[tuple[int, str, str | None, str]]:
    with db.session_scope() as s:
        rows = s.scalars(select(Verdict).order_by(Verdict.id)).all()
        return [(v.call_id, v.verdict, v.reason, v.author) for v in rows]


def _confirm(client: FlaskClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return CSRF.search(page.text)[1]  # type: ignore[index]


def test_get_only_asks_and_the_post_records_with_the_recipient_as_author(secret: str) -> None:
    call = add_call(title="Blue economy <b>call</b>")
    client, path = _client(), _path(call, "shortlist")
    page = client.get(path)
    assert page.status_code == 200
    assert "Mark this call shortlisted?" in page.text
    assert "Blue economy &lt;b&gt;call&lt;/b&gt;" in page.text  # escaped
    assert f"Recorded as {OFFICER}" in page.text
    assert client.get(path).status_code == 200 and client.head(path).status_code == 200
    assert _verdicts() == []  # a GET (a mail scanner, a preview) changes nothing
    csrf = CSRF.search(page.text)[1]  # type: ignore[index]
    done = client.post(path, data={"csrf_token": csrf})
    assert done.status_code == 200 and "is marked <strong>shortlisted</strong>" in done.text
    assert _verdicts() == [(call, "shortlist", None, OFFICER)]
    # the same link confirmed again (a double click): recorded once
    again = client.post(path, data={"csrf_token": csrf})
    assert again.status_code == 200 and "Already recorded" in again.text
    assert len(_verdicts()) == 1


def test_not_relevant_asks_for_a_reason(secret: str) -> None:
    call = add_call(title="Erasmus+ for EU universities")
    client, path = _client(), _path(call, "not-relevant")
    csrf = _confirm(client, path)
    assert 'name="reason"' in client.get(path).text
    refused = client.post(path, data={"csrf_token": csrf, "reason": "  "})
    assert refused.status_code == 400 and "say why the call is not relevant" in refused.text
    assert _verdicts() == []
    client.post(path, data={"csrf_token": csrf, "reason": "EU universities only"})
    assert _verdicts() == [(call, "not-relevant", "EU universities only", OFFICER)]


def test_a_post_without_the_pages_csrf_token_is_refused(secret: str) -> None:
    call = add_call()
    client, path = _client(), _path(call, "relevant")
    _confirm(client, path)
    assert client.post(path, data={}).status_code == 403
    assert client.post(path, data={"csrf_token": "forged"}).status_code == 403
    fresh = _client()  # a POST straight from elsewhere, no page seen: no session at all
    assert fresh.post(path, data={"csrf_token": "x"}).status_code == 403
    assert _verdicts() == []


def test_tampered_other_purpose_and_foreign_key_links_are_refused(secret: str) -> None:
    call = add_call()
    client = _client()
    good = _path(call, "relevant")
    token = good.rsplit("/", 1)[1]
    rest = token.split(".", 1)[1]
    # the payload swapped for one naming another verdict, the signature kept
    other = _path(call, "not-relevant").rsplit("/", 1)[1].split(".", 1)[0]
    tampered = [
        verdict_url("", f"{other}.{rest}"),
        good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),  # signature altered
        good[:-20],  # cut short by a mail client
        verdict_url(
            "",
            tokens.sign(
                SECRET, "unsubscribe", {"call": call, "verdict": "relevant", "email": OFFICER}
            ),
        ),
        _path(call, "relevant", secret="another-key-that-is-long-enough-000000000"),
        verdict_url("", tokens.sign(SECRET, "verdict", {"call": "1; drop", "verdict": "x"})),
    ]
    csrf = _confirm(client, good)
    for path in tampered:
        page = client.get(path)
        assert page.status_code == 400, path
        assert "This link cannot be used" in page.text and "Nothing was recorded" in page.text
        assert client.post(path, data={"csrf_token": csrf}).status_code == 400
    assert "not valid" in client.get(tampered[0]).text
    assert _verdicts() == []


def test_an_expired_link_is_refused_with_410(secret: str) -> None:
    call = add_call()
    with freeze_time(dt.datetime.now(dt.UTC) - dt.timedelta(days=31)):
        old = _path(call, "shortlist")  # a digest read five weeks late
    client = _client()
    page = client.get(old)
    assert page.status_code == 410
    assert "has expired" in page.text and "use the link in a newer mail" in page.text
    csrf = _confirm(client, _path(call, "relevant"))
    assert client.post(old, data={"csrf_token": csrf}).status_code == 410
    assert _verdicts() == []


def test_the_signed_link_works_without_the_web_token_and_only_these_routes(secret: str) -> None:
    call = add_call()
    client, path = _client(WEB_TOKEN), _path(call, "relevant")
    assert client.get("/").status_code == 401  # the review page still asks for the token
    assert client.get(f"/calls/{call}").status_code == 401
    # the page's stylesheet comes through the link, not /static (which asks for the token)
    assert client.get("/static/review.css").status_code == 401
    css = client.get(f"{path}/style.css")
    assert css.status_code == 200 and css.mimetype == "text/css" and b".mail-link" in css.data
    assert client.get(f"{path[:-3]}xyz/style.css").status_code == 404
    csrf = _confirm(client, path)
    assert client.post(path, data={"csrf_token": csrf}).status_code == 200
    assert _verdicts() == [(call, "relevant", None, OFFICER)]
    # the session a signed link opened is not a login: the rest still asks for the token
    assert client.get("/").status_code == 401
    assert client.post(f"/calls/{call}/verdict", data={"csrf_token": csrf,
                       "verdict": "shortlist"}).status_code == 401  # fmt: skip
    assert len(_verdicts()) == 1


def test_without_a_secret_key_no_link_is_accepted() -> None:
    call = add_call()
    path = _path(call, "relevant")
    page = _client().get(path)
    assert page.status_code == 404 and "FUNDRADAR_SECRET_KEY" in page.text
    assert _verdicts() == []


def test_a_link_to_a_call_removed_since_is_a_404(secret: str) -> None:
    assert _client().get(_path(987654, "relevant")).status_code == 404


# --------------------------------------------------------------------------------------------
# From a received mail, in headless Chromium


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, secret: str) -> Iterator[str]:
    """The review app on 127.0.0.1 behind a web token; its address is the public one."""
    from fundradar.web.server import make

    server = make("127.0.0.1", 0, WEB_TOKEN)
    base = f"http://127.0.0.1:{server.server_port}"
    monkeypatch.setenv("FUNDRADAR_PUBLIC_URL", base)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.browser
@pytest.mark.skipif(chromium_path() is None, reason="no chromium binary (apt-get install chromium)")
def test_mark_not_relevant_from_a_received_mail_in_chromium(
    served: str, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    from fundradar.alerts.send import send_digest
    from fundradar.config.loader import load_sources
    from tests.digest_support import SmtpServer, add_run, parts, recipients_config

    now = dt.datetime.now(dt.UTC)
    keep = add_call(title="Horizon Europe: ocean governance in SIDS", score=91,
                    deadline=now + dt.timedelta(days=40), now=now)  # fmt: skip
    drop = add_call(title="Erasmus+ capacity building for EU universities", score=72,
                    deadline=now + dt.timedelta(days=30), now=now)  # fmt: skip
    for source in load_sources().sources:
        add_run(source.id, at=now - dt.timedelta(hours=2))
    with SmtpServer() as smtp:
        for name, value in (("HOST", "127.0.0.1"), ("PORT", str(smtp.port)),
                            ("SECURITY", "none"), ("TIMEOUT", "5")):  # fmt: skip
            monkeypatch.setenv(f"FUNDRADAR_SMTP_{name}", value)
        assert send_digest(now=now, config=recipients_config([{"email": OFFICER}])).ok
    [mail] = smtp.received
    _, html = parts(mail.message)
    hrefs = [unescape(h) for h in re.findall(r'href="([^"]+)"', html)]
    mine = [h for h in hrefs if h.startswith(f"{served}/mail/verdict/")]
    assert len(mine) == 6  # three per call
    links = {
        (p["call"], p["verdict"]): h
        for h in mine
        if (p := tokens.verify(SECRET, "verdict", h.rsplit("/", 1)[1]))
    }
    link = links[(drop, "not-relevant")]
    assert links.keys() == {(c, v) for c in (keep, drop)
                            for v in ("relevant", "not-relevant", "shortlist")}  # fmt: skip

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 360, "height": 740})
            page.goto(link)  # no ?token=: the signature is enough for this one action
            assert page.get_by_role("heading", name="Mark this call not relevant?").is_visible()
            assert page.get_by_text("Erasmus+ capacity building for EU universities").is_visible()
            assert _verdicts() == []  # opening the link recorded nothing
            # styled: the stylesheet loads without the web token too
            button = page.get_by_role("button", name="Confirm: not relevant")
            assert button.evaluate("e => getComputedStyle(e).color") == "rgb(164, 38, 44)"
            shot = tmp_path / "mail-verdict-confirm-360.png"
            page.screenshot(path=str(shot), full_page=True)
            if os.environ.get("FUNDRADAR_UPDATE_DOCS") == "1":
                shutil.copyfile(shot, REPO / "docs" / "screenshots" / shot.name)
            page.get_by_label("Why is it not relevant?").fill("EU universities only")
            page.get_by_role("button", name="Confirm: not relevant").click()
            page.wait_for_load_state()
            assert page.get_by_role("heading", name="Recorded").is_visible()
            page.screenshot(path=str(tmp_path / "done-360.png"), full_page=True)
            assert _verdicts() == [(drop, "not-relevant", "EU universities only", OFFICER)]

            # the same link altered by hand: refused, nothing more recorded
            resp = page.goto(link[:-4] + ("xxxx" if not link.endswith("xxxx") else "yyyy"))
            assert resp is not None and resp.status == 400
            assert page.get_by_role("heading", name="This link cannot be used").is_visible()
            assert len(_verdicts()) == 1
        finally:
            browser.close()
