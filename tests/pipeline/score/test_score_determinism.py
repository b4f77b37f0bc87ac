"""One call, one score: whatever the order in which its sightings' language versions were joined
into the merged text, the score, band, eligibility, themes, countries and reasons are the same.
"""

from __future__ import annotations

import itertools
import json

import pytest

from fundradar.pipeline.record import Call
from fundradar.pipeline.score import ScoreResult, call_text, score_call
from fundradar.pipeline.score.profile import Profile
from tests.conftest import REPO

# one call in three languages (reconstructed — not a capture)
VERSIONS = {
    "en": "Grants for government agencies of Saint Lucia, Dominica and Martinique on coastal "
    "resilience and marine protected areas. NGOs may join as partners.",
    "fr": "Subventions pour les autorités publiques de Sainte-Lucie, de la Dominique et de la "
    "Martinique : résilience côtière et aires marines protégées. Entreprises non éligibles.",
    "es": "Subvenciones para instituciones públicas de Santa Lucía y Dominica sobre resiliencia "
    "costera y áreas marinas protegidas, excepto empresas.",
}
ELIGIBILITY = {
    "en": "Eligible: OECS member states and the Wider Caribbean Region.",
    "fr": "Éligibles : les États membres de l'OECO et les régions ultrapériphériques.",
    "es": "Elegibles: los países del Cariforum.",
}


def outcome(result: ScoreResult) -> tuple[object, ...]:
    return (
        result.score,
        result.band,
        result.eligible,
        tuple(result.themes),
        tuple(result.countries),
        tuple(result.reasons),
    )


def test_language_versions_in_any_order_give_one_result(profile: Profile) -> None:
    outcomes = set()
    for order in itertools.permutations(VERSIONS):
        for elig_order in itertools.permutations(ELIGIBILITY):
            call = Call(
                source="test",
                url="https://example.org/call",
                title="Coastal resilience grants",
                funder="Example Fund",
                summary="\n".join(VERSIONS[lang] for lang in order),
                eligibility_text="\n".join(ELIGIBILITY[lang] for lang in elig_order),
            )
            outcomes.add(outcome(score_call(call, profile)))
    assert len(outcomes) == 1
    (score, band, eligible, themes, countries, _reasons) = outcomes.pop()
    assert band in ("high", "medium") and eligible is True  # the call itself is a good one
    assert {"climate", "ocean"} <= set(themes)
    assert set(countries) == {"Saint Lucia", "Dominica", "Martinique"}
    assert score >= profile.bands.medium


def _records() -> list[dict[str, object]]:
    out = []
    for name in ("dev_calls.jsonl", "holdout_calls.jsonl"):
        path = REPO / "tests" / "fixtures" / "eval" / name
        out += [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return out


RECORDS = _records()


@pytest.mark.parametrize("start", range(0, len(RECORDS) - 2, 3))
def test_real_call_texts_joined_in_any_order_give_one_result(profile: Profile, start: int) -> None:
    # three labelled calls' texts stand in for three sightings of one call: a hard case, since
    # their places, themes and cues differ from one version to the next
    first = RECORDS[start]
    texts = [str(r["text"]) for r in RECORDS[start : start + 3]]
    outcomes = {
        outcome(
            score_call(
                {"title": first["title"], "summary": "\n".join(p), "funder": first["funder"]},
                profile,
            )
        )
        for p in itertools.permutations(texts)
    }
    assert len(outcomes) == 1


def test_the_title_is_read_first_and_the_funder_last() -> None:
    text, funder_at = call_text(
        {"title": "The title", "summary": "b line\nA line", "funder": "The funder"}
    )
    assert text.splitlines() == ["The title", "A line", "b line", "The funder"]
    assert text[funder_at:] == "The funder"
