"""The call page and the charts in headless Chromium (Debian's chromium driven by Playwright).

With FUNDRADAR_UPDATE_DOCS=1 the tests refresh docs/screenshots/ (review page and a call page at
390 and 1200 px). The calls are those of tests/test_web_browser.py: reconstructed — not captures.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fundradar.web.server import make
from tests.conftest import CHROMIUM_ARGS, chromium_path
from tests.test_web_browser import HORIZON, _seed

REPO = Path(__file__).resolve().parent.parent
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        chromium_path() is None, reason="no chromium binary (apt-get install chromium)"
    ),
]


@pytest.fixture
def site() -> Iterator[tuple[str, dict[str, int]]]:
    ids = _seed()
    server = make("127.0.0.1", 0, None)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", ids
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _page(browser: Any, base: str, width: int, problems: list[str]) -> Any:
    page = browser.new_page(viewport={"width": width, "height": 844 if width < 600 else 900})

    def route(r):  # type: ignore[no-untyped-def]
        if r.request.url.startswith(base):
            r.continue_()
        else:  # nothing fetched from elsewhere
            problems.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(str(e)))
    return page


def _shot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("FUNDRADAR_UPDATE_DOCS") == "1":
        (REPO / "docs" / "screenshots").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, REPO / "docs" / "screenshots" / name)


@pytest.mark.parametrize("width", [390, 1200])
def test_call_page_shows_the_moved_deadline(site, browser, tmp_path: Path, width: int) -> None:  # type: ignore[no-untyped-def]
    base, ids = site
    problems: list[str] = []
    page = _page(browser, base, width, problems)
    page.goto(base + "/")
    card = page.locator(f"#call-{ids[HORIZON]}")
    assert "url:" not in card.inner_text()  # no internal key on the card
    with page.expect_navigation():
        card.get_by_role("link", name=HORIZON).click()
    assert page.url.startswith(f"{base}/calls/{ids[HORIZON]}")
    changes = page.locator(".change-list li").all_inner_texts()
    # seeded: deadline moved from 26 days to 40 days from now, both at noon in Castries
    assert len(changes) == 1 and changes[0].startswith("deadline moved from ")
    assert "(14 days later)" in changes[0]
    assert page.locator(".sightings a[href^='https://']").count() == 1
    assert page.get_by_role("heading", name="Why this score").is_visible()
    # nothing wider than the screen (no sideways scrolling on a phone)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    _shot(page, tmp_path, f"call-{width}.png")
    page.goto(base + "/")
    _shot(page, tmp_path, f"review-{width}.png")
    assert problems == []
