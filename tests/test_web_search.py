"""Search that finds: folded accents, stems in three languages, themes as words; applicant,
budget and deadline filters.

Calls reconstructed — not captures: realistic wording, made-up values.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from fundradar.pipeline import db
from fundradar.web import create_app
from fundradar.web.search import fold, matches_text, phrase_in
from tests.pipeline.exports.exports_factory import NOW, add_call


def found(client, query: str) -> set[str]:  # type: ignore[no-untyped-def]
    resp = client.get("/?" + query)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    html = resp.get_data(as_text=True)
    return set(
        re.findall(r'<h2 class="title">\s*<a href="/calls/\d+\?back=[^"]*">([^<]+)</a>', html)
    )


@pytest.fixture
def client():  # type: ignore[no-untyped-def]
    return create_app(clock=lambda: NOW).test_client()


@pytest.fixture
def calls() -> None:
    with db.session_scope() as s:
        seed(s)


def seed(s, **fourth: object) -> None:  # type: ignore[no-untyped-def]
    """The four calls of these tests (`fourth`: more fields for the fourth, the solar one)."""
    day = timedelta(days=1)
    add_call(s, 1, title="Blue economy and ocean governance", themes=["ocean"],
             budget_min=1e6, budget_max=3e6, deadline=NOW + 10 * day)  # fmt: skip
    add_call(s, 2, title="Pêche durable dans la Caraïbe", language="fr",
             summary="Appui aux associations de pêcheurs et à la coopération régionale.",
             themes=["ocean", "regional-cooperation"], funder="Préfecture de Martinique",
             budget_max=200000, deadline=NOW + 40 * day)  # fmt: skip
    add_call(s, 3, title="Gestión de pesquerías sostenibles", language="es",
             summary="Fondos para organizaciones de la sociedad civil.", themes=["ocean"],
             eligibility_text="Organizaciones no gubernamentales del Caribe",
             deadline=NOW + 70 * day, budget_min=50000, budget_max=150000)  # fmt: skip
    add_call(s, 4, title="Solar mini-grids for island utilities", themes=["energy"],
             summary="Utilities and governments; NGOs may join as partners.",
             deadline=None, budget_min=5e6, **fourth)  # fmt: skip


def test_ocean_finds_every_ocean_theme_call(client, calls) -> None:  # type: ignore[no-untyped-def]
    ocean = {"Blue economy and ocean governance", "Pêche durable dans la Caraïbe",
             "Gestión de pesquerías sostenibles"}  # fmt: skip
    for q in ("ocean", "Ocean", "oceans", "océans"):
        assert found(client, f"q={q}") == ocean, q


def test_accents_and_stems_in_three_languages(client, calls) -> None:  # type: ignore[no-untyped-def]
    assert found(client, "q=cooperation") == {"Pêche durable dans la Caraïbe"}
    assert found(client, "q=peche") == {"Pêche durable dans la Caraïbe"}
    assert found(client, "q=pesqueria") == {"Gestión de pesquerías sostenibles"}
    assert found(client, "q=prefecture+martinique") == {"Pêche durable dans la Caraïbe"}
    assert found(client, "q=utility") == {"Solar mini-grids for island utilities"}
    assert found(client, "q=ocean+solar") == set()  # every word must match


def test_applicant_type(client, calls) -> None:  # type: ignore[no-untyped-def]
    # NGOs in English, "associations" in French, "sociedad civil" in Spanish
    assert found(client, "applicant=ngo") == {
        "Pêche durable dans la Caraïbe", "Gestión de pesquerías sostenibles",
        "Solar mini-grids for island utilities",
    }  # fmt: skip
    assert client.get("/?applicant=aliens").status_code == 400


def test_budget_range(client, calls) -> None:  # type: ignore[no-untyped-def]
    assert found(client, "budget_min=1,000,000") == {
        "Blue economy and ocean governance", "Solar mini-grids for island utilities",
    }  # fmt: skip
    assert found(client, "budget_max=180000") == {"Gestión de pesquerías sostenibles"}
    assert found(client, "budget_min=100000&budget_max=250000") == {
        "Pêche durable dans la Caraïbe", "Gestión de pesquerías sostenibles",
    }  # fmt: skip
    assert client.get("/?budget_min=lots").status_code == 400
    assert client.get("/?budget_max=-5").status_code == 400


def test_deadline_range(client, calls) -> None:  # type: ignore[no-untyped-def]
    start = (NOW + timedelta(days=30)).date().isoformat()
    end = (NOW + timedelta(days=60)).date().isoformat()
    assert found(client, f"deadline_from={start}&deadline_to={end}") == {
        "Pêche durable dans la Caraïbe"
    }
    assert found(client, f"deadline_from={start}") == {
        "Pêche durable dans la Caraïbe", "Gestión de pesquerías sostenibles",
    }  # fmt: skip
    assert client.get("/?deadline_to=30/04/2027").status_code == 400


def test_search_combines_with_the_other_filters(client, calls) -> None:  # type: ignore[no-untyped-def]
    assert found(client, "q=ocean&theme=regional-cooperation") == {"Pêche durable dans la Caraïbe"}
    html = client.get("/?q=ocean").get_data(as_text=True)
    assert "3 calls" in html
    # the downloads give the calls found (tests/test_web_search_index.py checks they do)
    assert "Downloads give the calls found here" in html
    assert "Downloads give the calls found" not in client.get("/").get_data(as_text=True)
    # the charts count what was found
    assert (
        "ocean: 3" in html
        and "energy"
        not in html.split('class="calls"')[0].split('aria-label="Calls by theme')[1].split('"')[0]
    )


def test_helpers() -> None:
    assert fold("Océans CARAÏBES") == "oceans caraibes"
    assert matches_text("fisheries", {"fisheri"})
    assert phrase_in(["civil society"], "Civil-society groups") and not phrase_in(
        ["civil society"], "society, civil"
    )
