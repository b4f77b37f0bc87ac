"""A page per call, cards that link to it, the sort control, and changes said in words.

Calls reconstructed — not captures: realistic titles and funders, made-up values.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from fundradar.pipeline import db
from fundradar.pipeline.models import CallChange, Sighting
from fundradar.pipeline.review import record_verdict
from fundradar.web import create_app
from fundradar.web.changes import describe, span
from tests.pipeline.exports.exports_factory import NOW, add_call, add_hostile


def articles(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<article class="call[^"]*" id="call-(\d+)"', html)]


@pytest.fixture
def client():  # type: ignore[no-untyped-def]
    return create_app(clock=lambda: NOW).test_client()


@pytest.fixture
def calls() -> dict[str, int]:
    day = timedelta(days=1)
    with db.session_scope() as s:
        # band high but a lower score than `best`; the soonest deadline; seen first
        soon = add_call(s, 1, title="Soon", key="url:https://example.org/soon", score=71,
                        band="high", deadline=NOW + 3 * day, first_seen=NOW - 9 * day)  # fmt: skip
        best = add_call(s, 2, title="Best", score=93, band="high", deadline=NOW + 40 * day,
                        first_seen=NOW - 5 * day)  # fmt: skip
        mid = add_call(s, 3, title="Middling", score=55, band="medium", deadline=NOW + 20 * day,
                       first_seen=NOW - day)  # fmt: skip
        best.language = "en"
        best.sightings.append(Sighting(
            source="fcr_martinique", source_ref="FCR-2", url="https://www.martinique.gouv.fr/fcr",
            canonical_url="https://www.martinique.gouv.fr/fcr", language="fr",
            title="Fonds de coopération régionale : appel 2027"))  # fmt: skip
        best.sightings.append(Sighting(
            source="evil", url="javascript:alert(1)", canonical_url="javascript:alert(1)",
            title="<b>bold</b>"))  # fmt: skip
        # 15 April → 30 April 2027, 12:00 in Castries (16:00 UTC)
        s.add(CallChange(call_id=best.id, field="deadline", seen_at=NOW - day,
                         old_value=datetime(2027, 4, 15, 16, tzinfo=UTC).isoformat(),
                         new_value=datetime(2027, 4, 30, 16, tzinfo=UTC).isoformat()))  # fmt: skip
        s.add(CallChange(call_id=best.id, field="status", seen_at=NOW - day,
                         old_value="forthcoming", new_value="open"))  # fmt: skip
        s.flush()
        record_verdict(s, best, "shortlist", reason="fits the blue economy plan", author="Ana")
        return {"soon": soon.id, "best": best.id, "mid": mid.id}


def test_call_page_shows_copies_languages_changes_reasons_verdicts(client, calls) -> None:  # type: ignore[no-untyped-def]
    resp = client.get(f"/calls/{calls['best']}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "deadline moved from 15 to 30 April 2027 (15 days later)" in html
    assert "status changed from forthcoming to open" in html
    assert "Languages</dt><dd>en, fr</dd>" in html
    assert "Seen on (3)" in html
    assert 'href="https://www.martinique.gouv.fr/fcr"' in html
    assert "Fonds de coopération régionale : appel 2027" in html
    assert "javascript:" not in html and "link withheld" in html  # only http(s) links
    assert "<b>bold</b>" not in html
    assert "Eligible: OECS member states named" in html  # reasons
    assert "Shortlist</strong> by Ana" in html and "fits the blue economy plan" in html
    assert f'action="/calls/{calls["best"]}/verdict"' in html


def test_call_page_escapes_hostile_content(client) -> None:  # type: ignore[no-untyped-def]
    with db.session_scope() as s:
        evil = add_hostile(s).id
    html = client.get(f"/calls/{evil}").get_data(as_text=True)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "javascript:" not in html
    assert "\x00" not in html


def test_unknown_call_is_404(client, calls) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/calls/999999").status_code == 404


def test_cards_link_to_the_call_page_without_the_internal_key(client, calls) -> None:  # type: ignore[no-untyped-def]
    html = client.get("/").get_data(as_text=True)
    assert "url:https://example.org/soon" not in html
    assert f'href="/calls/{calls["soon"]}?back=/"' in html
    assert "funder&#39;s page" in html or "funder's page" in html


@pytest.mark.parametrize(
    ("sort", "order"),
    [("", ["best", "soon", "mid"]), ("score", ["best", "soon", "mid"]),
     ("deadline", ["soon", "mid", "best"]), ("newest", ["mid", "best", "soon"])],
)  # fmt: skip
def test_sort_control(client, calls, sort: str, order: list[str]) -> None:  # type: ignore[no-untyped-def]
    html = client.get(f"/?sort={sort}").get_data(as_text=True)
    assert articles(html) == [calls[n] for n in order]
    if sort:
        assert f'<option value="{sort}" selected>' in html


def test_unknown_sort_is_refused(client, calls) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/?sort=random").status_code == 400


def test_change_sentences() -> None:
    def iso(*a: int) -> str:
        return datetime(*a, 16, tzinfo=UTC).isoformat()  # noon in Castries

    assert describe("deadline", iso(2027, 4, 30), iso(2027, 4, 15)) == (
        "deadline moved from 30 to 15 April 2027 (15 days earlier)"
    )
    assert describe("deadline", iso(2027, 3, 28), iso(2027, 4, 1)).startswith(
        "deadline moved from 28 March to 1 April 2027"
    )
    assert describe("deadline", None, iso(2027, 4, 1)) == "deadline set to 1 April 2027"
    assert describe("deadline", iso(2027, 4, 1), None) == "deadline removed (was 1 April 2027)"
    same_day = datetime(2027, 4, 1, 20, tzinfo=UTC).isoformat()
    assert describe("deadline", iso(2027, 4, 1), same_day) == (
        "deadline moved from 12:00 to 16:00 AST on 1 April 2027"
    )
    # a date-only deadline is its day in the funder's zone, not Saint Lucia's
    paris = datetime(2027, 4, 15, 22, tzinfo=UTC).isoformat()  # 16 April 00:00 in Paris
    assert describe("deadline", iso(2027, 4, 1), paris, "date", "Europe/Paris").startswith(
        "deadline moved from 1 to 16 April"
    )
    assert span(datetime(2026, 12, 30).date(), datetime(2027, 1, 6).date()) == (
        "30 December 2026 to 6 January 2027"
    )
    assert describe("summary", "a", "b") == "summary rewritten"
    assert describe("budget_max", None, 50000) == "maximum budget set to 50000"
