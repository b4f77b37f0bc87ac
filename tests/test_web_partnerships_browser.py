"""The partnerships pages in headless Chromium (Debian's chromium driven by Playwright).

Acceptance of issue 15: shortlist a call on the review page, turn it into an application with
two partners, move it to submitted, see it in the dashboard's funnel and in the downloaded
workbook (opened with openpyxl). Then the dashboard's labels are measured in the DOM at 390
and 1200 px (never under 12 px) and nothing is wider than the screen.

With FUNDRADAR_UPDATE_DOCS=1 the tests refresh docs/screenshots/dashboard-390.png,
dashboard-1200.png, application-390.png and partner-390.png. The calls are those of
tests/test_web_browser.py and the applications and partners below: reconstructed — not
captures (real funders' and partners' names, made-up values).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from fundradar.pipeline import db
from fundradar.pipeline.models import (
    Application,
    CallOrganisation,
    Organisation,
    PastProject,
    Verdict,
    utcnow,
)
from fundradar.web.server import make
from tests.browser_support import local_page, shot, text_sizes
from tests.conftest import CHROMIUM_ARGS, chromium_path
from tests.test_web_browser import DISMISS, HORIZON, _seed

REPO = Path(__file__).resolve().parent.parent
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        chromium_path() is None, reason="no chromium binary (apt-get install chromium)"
    ),
]
FCR = "Fonds de coopération régionale Martinique 2027"
INTERREG = "Interreg Caraïbes : Caraïbe plus verte et résiliente"
FISONG = "FISONG 2027: inclusive fisheries value chains"
LIFE = "LIFE Clean Energy Transition"

PARTNERS = [  # name, kind, territory
    ("Agence française de développement", "public_agency", "France"),
    ("Collectivité territoriale de Martinique", "government", "Martinique"),
    ("Région Guadeloupe", "government", "Guadeloupe"),
    ("Université des Antilles", "university_research", "Guadeloupe"),
    ("Institut de recherche pour le développement", "university_research", "France"),
    ("CNRS", "university_research", "France"),
    ("Caribbean Natural Resources Institute", "ngo", "Trinidad and Tobago"),
    ("Blue Caribbean Ventures", "private", "Saint Lucia"),
    ("OECS Commission", "regional_body", "Saint Lucia"),
    ("Government of Dominica", "government", "Dominica"),
]


def _seed_partnerships() -> dict[str, int]:
    """The calls of the review page's tests, the partner directory and three applications
    at different stages (the one the acceptance test makes is the fourth)."""
    from fundradar.pipeline.partnerships import applications, organisations

    ids = _seed()
    with db.session_scope() as s:
        orgs = {
            n: organisations.find_or_create(s, n, kind=k, country=c, author="seed").id
            for n, k, c in PARTNERS
        }
        for title in (FCR, FISONG, LIFE):
            s.add(Verdict(call_id=ids[title], verdict="shortlist", author="seed"))
        s.flush()
        fcr = applications.create_from_call(s, ids[FCR], author="seed", owner="M. Joseph")
        applications.add_partner(
            s, fcr.id, orgs["Collectivité territoriale de Martinique"], role="lead", author="seed"
        )
        for stage in ("preparing", "submitted", "awarded"):
            applications.move(s, fcr.id, stage, author="seed")
        applications.update(
            s,
            fcr.id,
            author="seed",
            amount_requested="180000",
            amount_awarded="150000",
            currency="EUR",
        )
        fis = applications.create_from_call(s, ids[FISONG], author="seed", owner="A. Charles")
        applications.move(s, fis.id, "preparing", author="seed")
        applications.update(s, fis.id, author="seed", amount_requested="600000", currency="EUR")
        applications.add_partner(
            s, fis.id, orgs["Agence française de développement"], role="partner", author="seed"
        )
        applications.create_from_call(s, ids[LIFE], author="seed")
    return {**ids, **orgs}


@pytest.fixture
def site() -> Iterator[tuple[str, dict[str, int]]]:
    ids = _seed_partnerships()
    server = make("127.0.0.1", 0, None)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", ids
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def test_shortlist_to_submitted_application_in_funnel_and_workbook(site, browser, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import openpyxl

    base, ids = site
    problems: list[str] = []
    page = local_page(browser, base, 1200, problems, accept_downloads=True)
    page.goto(base + "/")
    card = page.locator(f"#call-{ids[HORIZON]}")
    assert card.get_by_role("button", name="Make an application").count() == 0
    with page.expect_navigation():
        card.get_by_role("button", name="Shortlist").click()
    card = page.locator(f"#call-{ids[HORIZON]}")
    with page.expect_navigation():
        card.get_by_role("button", name="Make an application").click()
    assert "/applications/" in page.url
    app_id = int(page.url.rsplit("/", 1)[1])
    assert page.locator("h1").inner_text() == HORIZON
    assert "Application made" in page.locator(".flash-ok").inner_text()

    # two partners: a lead from the directory, a partner typed in
    page.select_option("select[name=organisation_id]", str(ids["Université des Antilles"]))
    page.select_option(".partner-add select[name=role]", "lead")
    with page.expect_navigation():
        page.get_by_role("button", name="Add partner").click()
    page.fill(".partner-add input[name=name]", "Institut Pasteur de la Guadeloupe")
    page.select_option(".partner-add select[name=kind]", "university_research")
    with page.expect_navigation():
        page.get_by_role("button", name="Add partner").click()
    partners = page.locator(".partner-list li").all_inner_texts()
    assert len(partners) == 2
    assert partners[0].startswith("LEAD") or partners[0].lower().startswith("lead")
    assert "Université des Antilles" in partners[0]
    assert "Institut Pasteur de la Guadeloupe" in partners[1]

    page.fill(".details-form input[name=amount_requested]", "2500000")
    page.fill(".details-form input[name=currency]", "EUR")
    with page.expect_navigation():
        page.get_by_role("button", name="Save details").click()
    for stage in ("preparing", "submitted"):
        page.select_option(".stage-form select[name=stage]", stage)
        with page.expect_navigation():
            page.get_by_role("button", name="Change stage").click()
    assert page.locator(".stage-badge").first.inner_text().lower() == "submitted"
    history = page.locator(".history li").all_inner_texts()
    assert "preparing → submitted" in history[0]

    # the dashboard's funnel counts it: seeded one submitted-then-awarded, now one submitted
    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_url("**/dashboard")
    funnel = page.locator("figure[data-chart=funnel]").get_attribute("aria-label") or ""
    assert "submitted: 1" in funnel and "awarded: 1" in funnel and "preparing: 1" in funnel
    amounts = page.locator("figure[data-chart=amounts-funder]").get_attribute("aria-label")
    assert "European Commission · EUR: 2.5 M requested" in (amounts or "")

    # ...and so does the workbook, downloaded from the dashboard's link
    with page.expect_download() as info:
        page.get_by_role("link", name="workbook (Excel)").click()
    path = tmp_path / "partnerships.xlsx"
    info.value.save_as(path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[0] == "Applications"
    sheet = book["Applications"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)]
    (ours,) = [r for r in rows if r["title"] == HORIZON]
    assert ours["stage"] == "submitted" and ours["amount requested"] == 2500000
    assert ours["currency"] == "EUR" and ours["lead"] == "Université des Antilles"
    assert "Institut Pasteur de la Guadeloupe" in ours["partners"]
    # the print pages for the partnership meeting: one A4 sheet each (print CSS, no forms),
    # also for a partner with many calls, projects and long notes (lists are cut, not spilled)
    uag = ids["Université des Antilles"]
    with db.session_scope() as s:
        s.add_all(
            CallOrganisation(call_id=ids[t], organisation_id=uag, role="operator")
            for t in (HORIZON, FCR, FISONG, INTERREG, LIFE, DISMISS)
        )
        s.add_all(
            PastProject(
                organisation_id=uag,
                title=f"Joint project {n}: coastal monitoring and training of island technicians",
                year=2010 + n,
            )
            for n in range(15)
        )
        s.get(Organisation, uag).notes = "Long notes. " * 200  # type: ignore[union-attr]
    for path in (
        f"/calls/{ids[HORIZON]}/print",
        f"/partners/{ids['Université des Antilles']}/print",
    ):
        page.goto(base + path)
        pdf = page.pdf(format="A4")
        assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") == 1, path
    page.goto(f"{base}/calls/{ids[HORIZON]}/print")
    assert "Université des Antilles (lead)" in page.inner_text("main")
    with db.session_scope() as s:
        assert s.get(Application, app_id).stage == "submitted"  # type: ignore[union-attr]
        shortlisted = s.scalars(select(Verdict).where(Verdict.call_id == ids[HORIZON])).all()
        assert [v.verdict for v in shortlisted] == ["shortlist"]
    assert DISMISS  # the other calls stay as they were
    assert problems == []


@pytest.mark.parametrize("width", [390, 1200])
def test_dashboard_readable_at_phone_and_desktop_width(site, browser, tmp_path, width) -> None:  # type: ignore[no-untyped-def]
    base, ids = site
    problems: list[str] = []
    page = local_page(browser, base, width, problems)
    page.goto(base + "/dashboard")
    names = [
        "funnel",
        "amounts-funder",
        "amounts-theme",
        "amounts-year",
        "partners-kind",
        "partners-country",
        "weeks",
    ]
    for name in names:
        fig = page.locator(f"figure[data-chart={name}]")
        visible = [s for s in fig.locator("svg").all() if s.is_visible()]
        assert len(visible) == 1, name  # one drawing shown per screen size
        box = visible[0].bounding_box()
        assert box is not None and box["width"] <= width, name
    sizes = text_sizes(page, page_text=True)
    assert len(sizes) > 40  # axis labels, legends, values, the deadline list: real text
    assert min(sizes) >= 12, sorted(sizes)[:5]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # the seeded figures: 3 applications (idea, preparing, awarded); 10 partners
    funnel = page.locator("figure[data-chart=funnel]").get_attribute("aria-label") or ""
    assert "idea: 1; preparing: 1; submitted: 0; awarded: 1" in funnel
    kinds = page.locator("figure[data-chart=partners-kind]").get_attribute("aria-label") or ""
    assert "university or research: 3" in kinds and "government: 3" in kinds
    deadlines = page.locator(".deadline-list li").all_inner_texts()
    assert any("Internal deadline" in d for d in deadlines)  # FISONG: 13 days ahead
    assert any("Funder's deadline" in d for d in deadlines)
    shot(page, tmp_path, f"dashboard-{width}.png")
    if width == 390:
        with db.session_scope() as s:
            fis = s.scalars(select(Application.id).where(Application.title == FISONG)).one()
        page.goto(f"{base}/applications/{fis}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert min(text_sizes(page, page_text=True)) >= 12
        shot(page, tmp_path, "application-390.png")
        page.goto(f"{base}/partners/{ids['Agence française de développement']}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot(page, tmp_path, "partner-390.png")
    assert problems == []
    assert utcnow()  # dates in the seed are relative to the real clock
