"""The digest's HTML and text: hostile scraped text, links, mail-client-safe HTML, i18n.

The browser test renders the HTML in headless Chromium (Debian's package) at 360 px and
1200 px. With FUNDRADAR_UPDATE_DOCS=1 it also refreshes docs/digest-360.png,
docs/digest-1200.png and docs/digest-health-360.png (a week with sources down), the screenshots
docs/digest.md shows.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from fundradar.alerts.compose import MailLinks, compose
from fundradar.alerts.i18n import CHANGE_STRINGS, STRINGS
from fundradar.alerts.render import render_html, render_text
from fundradar.pipeline import db
from tests.conftest import CHROMIUM_ARGS, chromium_path
from tests.digest_support import (
    add_call,
    add_run,
    add_verdict,
    change_call,
    recipients_config,
)

UTC = dt.UTC
MON = dt.datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parent.parent


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)


def _visible(html: str) -> str:
    """The HTML's text as a reader sees it (tags gone, entities decoded, spaces folded)."""
    p = _Text()
    p.feed(html)
    return " ".join("".join(p.chunks).replace("\xa0", " ").split())


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    p = _Tags()
    p.feed(html)
    return p.tags


def _model(lang: str = "en", **recipient):  # type: ignore[no-untyped-def]
    config = recipients_config([{"email": "officer@oecs.example", "language": lang, **recipient}])
    with db.session_scope() as s:
        return compose(s, config.recipients[0], config, now=MON, sources=[("eu_ft", "EC")])


def test_script_title_is_escaped_and_javascript_link_is_not_linked() -> None:
    add_call(
        title='<script>alert("x")</script> Resilience <b>call</b>',
        url="javascript:alert(document.cookie)",
        funder="<img src=x onerror=alert(1)>",
        reasons=['<a href="https://evil.example">click</a> eligible'],
    )
    add_call(title="Plain call", url="https://ec.europa.eu/info/call?id=1&lang=en")
    model = _model()
    html, text = render_html(model), render_text(model)
    assert "<script>" not in html and "<img" not in html and "<b>call" not in html
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Resilience &lt;b&gt;call&lt;/b&gt;"
    assert escaped in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "javascript:" not in html.lower()
    hrefs = [a.get("href") for tag, a in _tags(html) if tag == "a"]
    assert hrefs == ["https://ec.europa.eu/info/call?id=1&lang=en"]  # only the safe one
    assert 'href="https://ec.europa.eu/info/call?id=1&amp;lang=en"' in html
    assert "(link withheld: not a web address)" in html
    # the text part shows the characters as they are (nothing interprets them) and no link
    assert '<script>alert("x")</script> Resilience <b>call</b>' in text
    assert "javascript:" not in text
    assert "(link withheld: not a web address)" in text


def test_html_is_self_contained_single_column_inline_styles() -> None:
    add_call(title="Ocean call", band="high")
    add_run("eu_ft", at=MON - dt.timedelta(hours=6))
    html = render_html(_model())
    tags = _tags(html)
    names = {t for t, _ in tags}
    assert not names & {"style", "link", "img", "script", "iframe", "object", "form", "font"}
    assert "@import" not in html and "url(" not in html and "@font-face" not in html
    for tag, attrs in tags:
        assert "class" not in attrs, f"<{tag}> uses a class: styles must be inline"
        for name in ("src", "background"):
            assert name not in attrs
        if tag == "a":
            assert str(attrs["href"]).startswith(("https://", "http://"))
    widths = re.findall(r"max-width:(\d+)px", html)
    assert widths and max(int(w) for w in widths) <= 640
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html


def test_text_part_is_a_compact_block_of_what_the_html_shows() -> None:
    deadline = dt.datetime(2026, 12, 4, 3, 59, tzinfo=UTC)  # 3 Dec 23:59 in Saint Lucia
    a = add_call(title="Sustainable energy for islands", deadline=deadline, budget_min=100000,
                 url="https://funder.example.org/energy",
                 budget_max=500000, currency="EUR", budget_scope="per_project",
                 reasons=["Open to OECS member states", "Theme: renewable energy",
                          "Caribbean named", "A fourth reason"])  # fmt: skip
    add_verdict(a, "shortlist")
    add_run("eu_ft", at=MON - dt.timedelta(hours=6), seen=17)
    model = _model()
    html, text = render_html(model), render_text(model)
    seen = _visible(html)
    for expected in (
        "Sustainable energy for islands",
        "Thu 3 Dec 2026, 23:59 AST",
        "10 days left",
        "Open to OECS member states",
        "Theme: renewable energy",
        "The only source was checked.",
        "1 closing within 14 days",
        "0 new and relevant",
    ):
        assert expected in text, expected
        assert expected in seen, expected
    # the text block: title; funder and deadline; band and the two strongest reasons; a link
    start = text.index("1. Sustainable energy for islands")
    block = text[start:].split("\n\n")[0].splitlines()
    assert block == [
        "1. Sustainable energy for islands [shortlisted]",
        "   European Commission · Thu 3 Dec 2026, 23:59 AST (10 days left)",
        "   high (80) · Open to OECS member states; Theme: renewable energy",
        "   https://funder.example.org/energy",  # no public address: the funder's page
    ]
    # the HTML card has room for the programme, the budget and a third reason
    for html_only in ("European Commission · Horizon Europe", "EUR 100,000 – 500,000 per project",
                      "Caribbean named"):  # fmt: skip
        assert html_only in seen and html_only not in text
    assert "A fourth reason" not in text and "A fourth reason" not in seen  # top 3 only
    assert text.count("Sustainable energy for islands") == 1  # once per digest
    assert model.subject.endswith(": 1 new relevant call")  # new to them, though under Closing


def test_updated_section_shows_what_changed_in_both_parts() -> None:
    from fundradar.alerts.send import send_digest

    call = add_call(title="Climate adaptation call", deadline=dt.datetime(2027, 3, 31, 22, 0,
                    tzinfo=UTC))  # fmt: skip
    config = recipients_config([{"email": "officer@oecs.example"}])
    send_digest(now=MON, config=config)
    change_call(call, at=MON + dt.timedelta(days=2),
                deadline=dt.datetime(2027, 4, 30, 22, 0, tzinfo=UTC))  # fmt: skip
    with db.session_scope() as s:
        model = compose(s, config.recipients[0], config, now=MON + dt.timedelta(days=7),
                        sources=[])  # fmt: skip
    html, text = render_html(model), render_text(model)
    assert "== UPDATED (1) ==" in text
    assert "deadline moved from 31 March to 30 April" in text
    assert "deadline moved from 31 March to 30 April" in html


def test_quiet_week_is_short_and_says_so() -> None:
    add_run("eu_ft", at=MON - dt.timedelta(hours=6))
    model = _model()
    text, seen = render_text(model), _visible(render_html(model))
    assert "A quiet week" in text and "SOURCE HEALTH" not in text
    assert "[ok] The only source was checked." in text
    assert "A quiet week" in seen and "The only source was checked." in seen
    assert "NEW AND RELEVANT" not in text
    assert len(text.splitlines()) <= 8


def test_a_degraded_source_makes_the_week_not_quiet() -> None:
    add_run("eu_ft", at=MON - dt.timedelta(hours=6), status="degraded", message="3 fields lost")
    text = render_text(_model())
    assert "A quiet week" not in text and "no new relevant calls" not in text
    assert text.startswith(
        "!! 1 of 1 sources could not be checked this week "
        "(EC: some details are missing from its calls). Calls from them may be missing."
    )
    assert "[!!] EC: some details are missing from its calls" in text
    assert "details: 3 fields lost" in text


def test_french_digest_words_but_call_text_as_written() -> None:
    add_call(title="Call for proposals: ocean literacy", reasons=["Open to OECS member states"],
             deadline=dt.datetime(2027, 1, 15, 4, 0, tzinfo=UTC))  # fmt: skip
    text = render_text(_model("fr"))
    assert "NOUVEAUX ET PERTINENTS" in text
    assert "   European Commission · ven. 15 janv. 2027" in text
    assert "Call for proposals: ocean literacy" in text  # the call's own words stay English
    assert "Open to OECS member states" in text


def test_commands_in_our_words_are_set_as_code_and_still_escaped() -> None:
    from fundradar.alerts.render import code_spans

    out = str(code_spans("Run `fundradar crawl` then <b>`a<b>`</b>"))
    assert out.startswith('Run <code style="font-family:')
    assert ">fundradar crawl</code> then &lt;b&gt;<code" in out
    assert ">a&lt;b&gt;</code>&lt;/b&gt;" in out
    assert "<b>" not in out


def test_every_digest_word_exists_in_both_languages() -> None:
    assert set(STRINGS["en"]) == set(STRINGS["fr"])
    assert set(CHANGE_STRINGS["en"]) == set(CHANGE_STRINGS["fr"])


# --------------------------------------------------------------------------------------------
# Headless Chromium


SHOWCASE_SOURCES = [
    ("eu_ft", "European Commission"),
    ("afd", "Agence française de développement (AFD)"),
    ("interreg_caraibes", "Interreg Caraïbes"),
    ("anr", "Agence nationale de la recherche (ANR)"),
]


def _showcase(*, troubled: bool = False) -> None:
    """A week with something in every section (reconstructed calls, not captures).

    `troubled`: three of the four sources could not be checked (reconstructed runs).
    """
    base = MON - dt.timedelta(days=7)
    old = add_call(title="Interreg Caraïbes 2021-2027 : appel à projets « Caraïbe plus verte »",
                   funder="Région Guadeloupe", programme="Interreg Caraïbes", language="fr",
                   deadline=dt.datetime(2027, 2, 27, 3, 59, tzinfo=UTC), band="high", score=84,
                   reasons=["Requires partners from OECS member states",
                            "Theme: climate resilience and biodiversity"], now=base)  # fmt: skip
    soon = add_call(title="Fonds de coopération régionale Martinique 2026",
                    funder="Préfecture de Martinique", programme="FCR",
                    deadline=MON + dt.timedelta(days=9, hours=16), band="high", score=88,
                    reasons=["Martinique's cooperation area covers every OECS state"],
                    now=base)  # fmt: skip
    short = add_call(title="FISONG 2026: inclusive fisheries value chains in SIDS",
                     funder="Agence française de développement", programme="FISONG",
                     deadline=MON + dt.timedelta(days=2, hours=12), band="medium", score=58,
                     reasons=["Caribbean eligible (CSOs lead)"], now=base)  # fmt: skip
    from fundradar.alerts.send import send_digest

    send_digest(now=base, config=recipients_config([{"email": "dcrm@oecs.example"}]))
    change_call(old, at=MON - dt.timedelta(days=2),
                deadline=dt.datetime(2027, 3, 31, 3, 59, tzinfo=UTC))  # fmt: skip
    add_verdict(short, "shortlist")
    del soon
    add_call(title="Horizon Europe: Blue economy and ocean governance in Small Island "
             "Developing States (HORIZON-CL6-2027-FARM2FORK-01-05)",
             url="https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/"
             "opportunities/topic-details/HORIZON-CL6-2027-FARM2FORK-01-05",
             deadline=dt.datetime(2027, 4, 15, 15, 0, tzinfo=UTC), band="high", score=91,
             budget_min=3_000_000, budget_max=5_000_000, currency="EUR",
             budget_scope="per_project",
             reasons=["Open to OECS member states (third countries associated)",
                      "Theme: blue economy, ocean governance",
                      "Names Small Island Developing States"])  # fmt: skip
    add_call(title="Youth employment and digital skills in the Eastern Caribbean",
             funder="European Union Delegation to Barbados and the OECS",
             programme="EuropeAid", deadline=MON + dt.timedelta(days=40), band="medium",
             score=61, budget_max=750_000, currency="EUR",
             reasons=["Eastern Caribbean named", "Theme: youth, digital skills"])  # fmt: skip
    add_call(title='<script>alert("hostile")</script> A call with a javascript: link',
             url="javascript:alert(1)", band="medium", score=40, funder="Aggregator copy",
             reasons=["Shown escaped and without a link"])  # fmt: skip
    add_run("eu_ft", at=MON - dt.timedelta(hours=6), seen=214)
    add_run("interreg_caraibes", at=MON - dt.timedelta(days=20), seen=12)
    if not troubled:
        add_run("afd", at=MON - dt.timedelta(hours=6), seen=31)
        add_run("interreg_caraibes", at=MON - dt.timedelta(hours=6), seen=9)
        add_run("anr", at=MON - dt.timedelta(hours=6), seen=17)
        return
    # AFD unreachable, ANR answering 503, Interreg Caraïbes read but empty
    add_run("afd", at=MON - dt.timedelta(days=13), status="unreachable", seen=0,
            message="DNSLookupError: DNS lookup failed: no results for hostname lookup "
            "www.afd.fr")  # fmt: skip
    add_run("afd", at=MON - dt.timedelta(hours=6), status="unreachable", seen=0,
            message="DNSLookupError: DNS lookup failed: no results for hostname lookup "
            "www.afd.fr")  # fmt: skip
    add_run("anr", at=MON - dt.timedelta(hours=6), status="http-error", seen=0,
            message="HTTP 503 on https://anr.fr/fr/appels-en-cours/ after 3 retries")  # fmt: skip
    add_run("interreg_caraibes", at=MON - dt.timedelta(hours=6), status="empty", seen=0,
            message="4 pages read, 0 calls: selectors may need repair")  # fmt: skip


def _screenshots(
    html: str, tmp_path: Path, name: str, links: int, heading: str = "Source health"
) -> dict[int, Path]:
    """The HTML at 360 and 1200 px in headless Chromium, checked for what breaks on a phone."""
    from playwright.sync_api import sync_playwright

    requested: list[str] = []
    shots: dict[int, Path] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            for width in (360, 1200):
                page = browser.new_page(viewport={"width": width, "height": 800})
                # nothing may be fetched: no external CSS, fonts or images
                page.route("**/*", lambda route: (requested.append(route.request.url),
                                                  route.abort()))  # fmt: skip
                page.set_content(html, wait_until="load")
                scroll_width = page.evaluate("document.documentElement.scrollWidth")
                assert scroll_width <= width, f"horizontal scroll at {width}px: {scroll_width}"
                card = page.evaluate(
                    "document.querySelector('table table').getBoundingClientRect().width"
                )
                assert card <= min(width, 640) + 1
                # every heading, link and cell is laid out on screen, none wider than the card
                for box in page.evaluate(
                    "[...document.querySelectorAll('h1,h2,a,td')].map(e => {"
                    "const r = e.getBoundingClientRect(); return [r.left, r.right, r.height]})"
                ):
                    assert box[0] >= 0 and box[1] <= width + 0.5 and box[2] > 0
                assert page.get_by_text(heading).is_visible()
                assert page.locator("a").count() == links  # a javascript: one is not a link
                font = page.evaluate("getComputedStyle(document.querySelector('td')).fontSize")
                assert float(font.removesuffix("px")) >= 14  # readable without zooming
                shot = tmp_path / f"{name}-{width}.png"
                page.screenshot(path=str(shot), full_page=True)
                shots[width] = shot
                page.close()
        finally:
            browser.close()
    assert requested == []
    for width, shot in shots.items():
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000, width
    return shots


@pytest.mark.browser
@pytest.mark.skipif(chromium_path() is None, reason="no chromium binary (apt-get install chromium)")
def test_html_digest_renders_in_chromium_at_360_and_1200(tmp_path: Path) -> None:
    _showcase()
    config = recipients_config([{"email": "dcrm@oecs.example"}])
    links = MailLinks("https://fundradar.oecs.example", "a-secret-key-signing-the-verdict-links-00")
    with db.session_scope() as s:
        model = compose(s, config.recipients[0], config, now=MON, sources=SHOWCASE_SOURCES,
                        links=links)  # fmt: skip
    assert [sec.key for sec in model.sections] == ["closing", "new", "updated", "reminders"]
    assert model.checked_all
    # 6 calls: each title to its review page and 3 verdict links (2 for the shortlisted one:
    # not "shortlist" again); the 5 with a safe URL also link to the funder's page (the
    # javascript: one does not)
    shots = _screenshots(render_html(model), tmp_path, "digest", links=6 * 4 - 1 + 5,
                         heading="Closing within 14 days (1)")  # fmt: skip
    if os.environ.get("FUNDRADAR_UPDATE_DOCS") == "1":
        for width, shot in shots.items():
            shutil.copyfile(shot, REPO / "docs" / f"digest-{width}.png")


@pytest.mark.browser
@pytest.mark.skipif(chromium_path() is None, reason="no chromium binary (apt-get install chromium)")
def test_health_warning_is_the_first_thing_seen_in_chromium(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    _showcase(troubled=True)
    config = recipients_config([{"email": "dcrm@oecs.example"}])
    with db.session_scope() as s:
        model = compose(s, config.recipients[0], config, now=MON, sources=SHOWCASE_SOURCES)
    html = render_html(model)
    shots = _screenshots(html, tmp_path, "digest-health", links=5)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 360, "height": 640})
            page.route("**/*", lambda route: route.abort())
            page.set_content(html, wait_until="load")
            banner = page.get_by_text("3 of 4 sources could not be checked this week")
            first_call = page.get_by_role("link").first
            # on a phone the warning is on the first screen, above the first call
            box, call_box = banner.bounding_box(), first_call.bounding_box()
            assert box is not None and call_box is not None
            assert box["y"] + box["height"] <= 640 and box["y"] < call_box["y"]
            # and it is red on pink, not grey small print
            colour = banner.evaluate("e => getComputedStyle(e).color")
            assert colour == "rgb(143, 29, 20)"
        finally:
            browser.close()
    if os.environ.get("FUNDRADAR_UPDATE_DOCS") == "1":
        shutil.copyfile(shots[360], REPO / "docs" / "digest-health-360.png")


@pytest.mark.browser
@pytest.mark.skipif(chromium_path() is None, reason="no chromium binary (apt-get install chromium)")
def test_could_not_reach_mail_renders_in_chromium(tmp_path: Path) -> None:
    for source, _ in SHOWCASE_SOURCES:
        add_run(source, at=MON - dt.timedelta(hours=6), status="unreachable", seen=0,
                message=f"TimeoutError: connecting to {source} took longer than 180 s")  # fmt: skip
    config = recipients_config([{"email": "dcrm@oecs.example"}])
    with db.session_scope() as s:
        model = compose(s, config.recipients[0], config, now=MON, sources=SHOWCASE_SOURCES)
    assert model.outage
    _screenshots(render_html(model), tmp_path, "outage", links=0, heading="What to check")
