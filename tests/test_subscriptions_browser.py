"""Acceptance, in headless Chromium with a real SMTP server: an officer saves the review
page's filters as a subscription, the next digest holds only matching calls, she unsubscribes
with the mail's link (confirm page, then the button), a colleague's mail client unsubscribes
him with the RFC 8058 one-click POST, and next week nobody gets anything.

Debian's chromium driven by Playwright; aiosmtpd on 127.0.0.1; FUNDRADAR_UPDATE_DOCS=1 also
refreshes docs/screenshots/subscribe-360.png and unsubscribe-360.png. The calls are
reconstructed — not captures.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
import urllib.request
from pathlib import Path

import pytest

from fundradar.alerts.send import send_digest
from fundradar.pipeline.models import utcnow
from fundradar.web.server import make
from tests.conftest import CHROMIUM_ARGS, chromium_path
from tests.digest_support import SmtpServer, add_call, parts, recipients_config

REPO = Path(__file__).resolve().parent.parent
OCEAN = "Blue economy for small island states"
HEALTH = "Regional health security fund"
FRENCH = "Appel à projets océans et pêche"


@pytest.mark.browser
@pytest.mark.skipif(chromium_path() is None, reason="no chromium binary (apt-get install chromium)")
def test_subscribe_from_filters_get_matching_digest_unsubscribe_twice_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playwright.sync_api import sync_playwright

    now = utcnow()
    add_call(title=OCEAN, themes=["ocean"], source="eu_ft", now=now)
    add_call(title=HEALTH, themes=["health"], source="eu_ft", now=now)
    add_call(title=FRENCH, themes=["ocean"], source="afd", language="fr", now=now)

    server = make("127.0.0.1", 0, None)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    monkeypatch.setenv("FUNDRADAR_PUBLIC_URL", base)
    monkeypatch.setenv("FUNDRADAR_SECRET_KEY", "x" * 40)
    # Ben has been on the list for years (recipients.yaml) and wants every call
    cfg = recipients_config([{"email": "ben@oecs.example", "min_band": "none"}])
    shots = {"subscribe": tmp_path / "subscribe-360.png",
             "unsubscribe": tmp_path / "unsubscribe-360.png"}  # fmt: skip
    problems: list[str] = []
    try:
        with SmtpServer() as smtp:
            monkeypatch.setenv("FUNDRADAR_SMTP_HOST", "127.0.0.1")
            monkeypatch.setenv("FUNDRADAR_SMTP_PORT", str(smtp.port))
            monkeypatch.setenv("FUNDRADAR_SMTP_SECURITY", "none")
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
                try:
                    page = browser.new_page(viewport={"width": 360, "height": 800})
                    # CSP violations and script errors; failed loads are judged by response
                    page.on("console", lambda m: m.type == "error" and not m.text.startswith(
                        "Failed to load resource") and problems.append(m.text))  # fmt: skip
                    page.on("response", lambda r: r.status >= 400 and not r.url.endswith(
                        "/favicon.ico") and problems.append(f"{r.status} {r.url}"))  # fmt: skip
                    page.goto(base + "/?theme=ocean&source=eu_ft")
                    assert page.locator("article.call").count() == 1
                    page.get_by_text("Save these filters as a subscription").click()
                    form = page.locator("form.subscribe-form")
                    form.locator("input[name=email]").fill("ana@oecs.example")
                    form.locator("input[name=name]").fill("Ana")
                    form.locator("input[name=email]").scroll_into_view_if_needed()
                    page.screenshot(path=str(shots["subscribe"]))
                    with page.expect_navigation():
                        form.get_by_role("button", name="Subscribe").click()
                    flash = page.locator(".flash-ok").inner_text()
                    assert "Subscribed ana@oecs.example" in flash and "ocean" in flash

                    report = send_digest(now=now, config=cfg)
                    assert report.ok and report.count("sent") == 2, report
                    mails = {r.rcpt_tos[0]: r.message for r in smtp.received}
                    ana_text, _ = parts(mails["ana@oecs.example"])
                    assert OCEAN in ana_text
                    assert HEALTH not in ana_text and FRENCH not in ana_text
                    ben_text, _ = parts(mails["ben@oecs.example"])
                    assert all(t in ben_text for t in (OCEAN, HEALTH, FRENCH))

                    # Ana: the mail's link, a confirmation page, then the button
                    link = mails["ana@oecs.example"]["List-Unsubscribe"].strip("<>")
                    assert link.startswith(base + "/unsubscribe/")
                    page.goto(link)
                    button = page.get_by_role("button", name="Unsubscribe ana@oecs.example")
                    assert button.is_visible()
                    page.screenshot(path=str(shots["unsubscribe"]))
                    with page.expect_navigation():
                        button.click()
                    assert "You are unsubscribed" in page.content()
                finally:
                    browser.close()

            # Ben: his mail client's server, as RFC 8058 describes (no cookie, no CSRF token)
            ben_link = mails["ben@oecs.example"]["List-Unsubscribe"].strip("<>")
            assert mails["ben@oecs.example"]["List-Unsubscribe-Post"] == (
                "List-Unsubscribe=One-Click")  # fmt: skip
            req = urllib.request.Request(
                ben_link, data=b"List-Unsubscribe=One-Click", method="POST",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )  # fmt: skip
            with urllib.request.urlopen(req, timeout=10) as resp:
                assert resp.status == 200

            smtp.received.clear()
            report = send_digest(now=now + dt.timedelta(days=7), config=cfg)
            assert smtp.received == []  # next week: nothing to either of them
            assert report.results == [] and "no recipients" in report.problems[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)

    assert problems == []
    for name, shot in shots.items():
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, name
        if os.environ.get("FUNDRADAR_UPDATE_DOCS") == "1":
            shutil.copyfile(shot, REPO / "docs" / "screenshots" / shot.name)
