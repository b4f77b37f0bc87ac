"""The review page in headless Chromium: filter, mark a call not relevant, see the digest drop it.

Debian's chromium driven by Playwright (never `playwright install`). With FUNDRADAR_UPDATE_DOCS=1
the test also refreshes docs/review-page.png, the screenshot the README shows.

The calls are reconstructed — not captures: realistic titles and funders, made-up values.
"""

from __future__ import annotations

import os
import shutil
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from fundradar.pipeline import db
from fundradar.pipeline.models import CallChange, Verdict, utcnow
from fundradar.web.server import make
from tests.conftest import CHROMIUM_ARGS, chromium_path
from tests.pipeline.exports.exports_factory import add_call

REPO = Path(__file__).resolve().parent.parent
DISMISS = "Erasmus+ capacity building for EU universities"
HORIZON = "Horizon Europe: ocean governance and blue economy in SIDS"


def _seed() -> dict[str, int]:
    """A week of calls as officers would see it. Dates relative to the real clock, because
    `fundradar digest preview` composes this week's digest."""
    now = utcnow()
    day = timedelta(days=1)
    noon = now.replace(hour=16, minute=0, second=0, microsecond=0)  # 12:00 in Castries
    with db.session_scope() as s:
        rows = [
            add_call(s, 1, key="eu_ft:HORIZON-CL6-2027-BIODIV-01-07",
                     title=HORIZON,
                     funder="European Commission", programme="Horizon Europe", score=91,
                     band="high", themes=["ocean", "economy", "governance"],
                     deadline=noon + 40 * day, first_seen=now - day, budget_min=3e6,
                     budget_max=5e6, currency="EUR", budget_scope="per_project",
                     reasons=["Open to OECS member states (third countries associated)",
                              "Theme: blue economy, ocean governance",
                              "Names Small Island Developing States"]),
            add_call(s, 2, key="fcr_martinique:2027", source="fcr_martinique",
                     title="Fonds de coopération régionale Martinique 2027",
                     funder="Préfecture de Martinique", programme="FCR", language="fr",
                     score=88, band="high", themes=["regional-cooperation", "health"],
                     deadline=noon + 9 * day, first_seen=now - 2 * day,
                     reasons=["Martinique's cooperation area covers every OECS state",
                              "Co-financing up to 50 %"]),
            add_call(s, 3, key="afd:FISONG-2027", source="afd",
                     title="FISONG 2027: inclusive fisheries value chains",
                     funder="Agence française de développement", programme="FISONG",
                     score=64, band="medium", themes=["ocean", "agriculture", "inclusion"],
                     deadline=noon + 23 * day, first_seen=now - 3 * day, budget_max=1.5e6,
                     currency="EUR", reasons=["Caribbean eligible (CSOs lead)"]),
            add_call(s, 4, key="eu_ft:ERASMUS-EDU-2027-CBHE", title=DISMISS,
                     funder="European Commission", programme="Erasmus+", score=72,
                     band="high", themes=["education"], deadline=noon + 16 * day,
                     first_seen=now - day,
                     reasons=["Theme: education and skills",
                              "Third countries may join as partners"]),
            add_call(s, 5, key="interreg_caraibes:AAP-2027-3", source="interreg_caraibes",
                     title="Interreg Caraïbes : Caraïbe plus verte et résiliente",
                     funder="Région Guadeloupe", programme="Interreg Caraïbes",
                     language="fr", score=81, band="high",
                     themes=["climate", "biodiversity", "regional-cooperation"],
                     deadline=noon + 60 * day, first_seen=now - 4 * day,
                     reasons=["Requires partners from OECS member states",
                              "Theme: climate resilience and biodiversity"]),
            add_call(s, 6, key="eu_ft:LIFE-2027-CET", title="LIFE Clean Energy Transition",
                     funder="European Commission", programme="LIFE", score=38, band="low",
                     themes=["energy"], deadline=noon + 5 * day, first_seen=now - 5 * day,
                     reasons=["Theme: sustainable energy",
                              "Eligibility doubtful: EU member states named"]),
            add_call(s, 7, key="url:https://www.undp.org/sids/digital-2027", source="undp",
                     title="Digital transformation for SIDS: small grants", funder="UNDP",
                     programme=None, score=57, band="medium", themes=["digital"],
                     deadline=None, status="open", first_seen=now - 2 * day,
                     reasons=["SIDS-wide call; rolling deadline"]),
        ]  # fmt: skip
        first = rows[0]
        s.add(CallChange(call_id=first.id, field="deadline", seen_at=now - day,
                         old_value=(noon + 26 * day).isoformat(),
                         new_value=(noon + 40 * day).isoformat()))  # fmt: skip
        ids = {r.title: r.id for r in rows}
    return ids


def _digest_preview() -> str:
    from fundradar.cli import cli

    result = CliRunner().invoke(cli, ["digest", "preview"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.browser
@pytest.mark.skipif(chromium_path() is None, reason="no chromium binary (apt-get install chromium)")
def test_review_page_filter_and_dismiss_in_chromium(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    ids = _seed()
    before = _digest_preview()
    assert DISMISS in before  # the digest would carry it: the assertion below can fail
    assert "Horizon Europe: ocean governance" in before

    server = make("127.0.0.1", 0, None)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    outside: list[str] = []
    problems: list[str] = []
    shot = tmp_path / "review-page.png"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})

                def route(r):  # type: ignore[no-untyped-def]
                    if r.request.url.startswith(base):
                        r.continue_()
                    else:  # nothing may be fetched from elsewhere (no CDN, fonts, scripts)
                        outside.append(r.request.url)
                        r.abort()

                page.route("**/*", route)
                # CSP violations and script errors show up here
                page.on("console", lambda m: m.type == "error" and problems.append(m.text))
                page.on("pageerror", lambda e: problems.append(str(e)))

                page.goto(base + "/")
                assert page.locator("article.call").count() == len(ids)
                assert page.locator(".charts figure").count() == 3  # deadlines, themes, funders
                # the stylesheet loaded under the CSP: header painted in the accent colour
                colour = page.evaluate(
                    "getComputedStyle(document.querySelector('header.top')).backgroundColor"
                )
                assert colour == "rgb(11, 110, 105)"
                page.locator(f"#call-{ids[HORIZON]} summary").click()  # show its versions
                page.screenshot(path=str(shot), full_page=True)

                # filter: theme education
                page.select_option("select[name=theme]", "education")
                page.get_by_role("button", name="Filter").click()
                page.wait_for_url("**/?*theme=education*")
                cards = page.locator("article.call")
                assert cards.count() == 1
                card = page.locator(f"#call-{ids[DISMISS]}")
                assert DISMISS in card.inner_text()

                # not relevant without a reason: the browser refuses to submit
                card.get_by_role("button", name="Not relevant").click()
                assert card.locator("input[name=reason]").evaluate("e => e.validity.valueMissing")
                with db.session_scope() as s:
                    assert s.scalars(select(Verdict)).all() == []

                card.locator("input[name=reason]").fill("Only EU universities may lead")
                with page.expect_navigation():
                    card.get_by_role("button", name="Not relevant").click()
                assert "theme=education" in page.url  # back to the same filtered view
                assert "Marked not relevant" in page.locator(".flash-ok").inner_text()
                assert page.locator(f"#call-{ids[DISMISS]}").count() == 0
                assert "No calls match these filters." in page.content()
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)

    assert outside == []
    assert problems == []
    with db.session_scope() as s:
        (v,) = s.scalars(select(Verdict)).all()
        assert (v.call_id, v.verdict, v.reason) == (
            ids[DISMISS], "not-relevant", "Only EU universities may lead"
        )  # fmt: skip

    after = _digest_preview()
    assert DISMISS not in after  # gone from the next digest
    assert "Horizon Europe: ocean governance" in after  # the others are still there

    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    if os.environ.get("FUNDRADAR_UPDATE_DOCS") == "1":
        shutil.copyfile(shot, REPO / "docs" / "review-page.png")
