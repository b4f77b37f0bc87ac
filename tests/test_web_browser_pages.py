"""The call page and the charts in headless Chromium (Debian's chromium driven by Playwright).

With FUNDRADAR_UPDATE_DOCS=1 the tests refresh docs/screenshots/ (review page and a call page at
390 and 1200 px). The calls are those of tests/test_web_browser.py: reconstructed — not captures.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fundradar.web.server import make
from tests.browser_support import local_page, shot, text_sizes
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


@pytest.mark.parametrize("width", [390, 1200])
def test_call_page_shows_the_moved_deadline(site, browser, tmp_path: Path, width: int) -> None:  # type: ignore[no-untyped-def]
    base, ids = site
    problems: list[str] = []
    page = local_page(browser, base, width, problems)
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
    shot(page, tmp_path, f"call-{width}.png")
    page.goto(base + "/")
    shot(page, tmp_path, f"review-{width}.png")
    assert problems == []


@pytest.mark.parametrize("width", [390, 1200])
def test_charts_readable_at_phone_and_desktop_width(site, browser, width: int) -> None:  # type: ignore[no-untyped-def]
    base, _ids = site
    problems: list[str] = []
    page = local_page(browser, base, width, problems)
    page.goto(base + "/")
    charts_fold = page.locator("details.charts-box > summary")
    if width == 390:  # folded on a phone: calls come first, the charts one tap away
        assert not page.locator(".charts").is_visible()
        charts_fold.click()
    else:
        assert not charts_fold.is_visible() and page.locator(".charts").is_visible()
    figures = page.locator(".charts figure")
    assert figures.count() == 3
    for name in ("deadlines", "themes", "funders"):
        fig = page.locator(f"figure[data-chart={name}]")
        visible = [s for s in fig.locator("svg").all() if s.is_visible()]
        assert len(visible) == 1, name  # one drawing shown per screen size
        box = visible[0].bounding_box()
        assert box is not None and box["width"] <= width
    sizes = text_sizes(page)
    assert len(sizes) > 20  # axis labels, legend, values: the check below ran on real text
    assert min(sizes) >= 12, sorted(sizes)[:5]
    # the timeline stacks bands: the seeded calls are high, medium and low
    timeline = page.locator("figure[data-chart=deadlines] svg").filter(visible=True)
    legend = timeline.locator(".legends").text_content() or ""
    assert all(b in legend for b in ("high", "medium", "low"))
    # funders: European Commission has 3 of the 7 seeded calls
    assert "European Commission: 3" in page.locator("figure[data-chart=funders]").get_attribute(
        "aria-label"
    )
    # at phone width the filters are folded: the first call shows on the first screen
    first = page.locator("article.call").first.bounding_box()
    if width == 390:
        page.goto(base + "/")
        first = page.locator("article.call").first.bounding_box()
        assert first is not None and first["y"] < 844 / 2
        assert not page.locator("select[name=theme]").is_visible()
    else:
        assert page.locator("select[name=theme]").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert problems == []


def test_search_ocean_finds_every_ocean_theme_call(site, browser) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from fundradar.pipeline import db
    from fundradar.pipeline.models import CallRow

    base, _ids = site
    with db.session_scope() as s:
        ocean = {r.id for r in s.scalars(select(CallRow)) if "ocean" in (r.themes or ())}
        worded = {r.id for r in s.scalars(select(CallRow)) if "ocean" in r.title.lower()}
    assert len(ocean) >= 2 and worded < ocean  # some say "ocean" only through their theme
    problems: list[str] = []
    page = local_page(browser, base, 1200, problems)
    page.goto(base + "/")
    page.fill("input[name=q]", "ocean")
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    shown = {int(x) for x in page.locator("article.call").evaluate_all(
        "cards => cards.map(c => c.dataset.callId)")}  # fmt: skip
    assert shown == ocean
    assert problems == []
