"""Region groupings and who they bring in: each grouping of the profile on synthetic sentences
(reconstructed — not a capture), in English, French and Spanish where the grouping has words in
each, and the rule that protocol members and associate members are never confused.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fundradar.pipeline.score import ScoreResult, load_profile
from fundradar.pipeline.score.profile import Profile, ProfileError
from tests.pipeline.score.score_support import PACKAGED, reasons_text, score

THEME_EN = "for government agencies working on coastal resilience and disaster risk reduction"
THEME_FR = "pour les autorités publiques, sur la résilience côtière et la gestion des risques"
THEME_ES = "para instituciones públicas, sobre resiliencia costera y gestión del riesgo"

ALL_PROTOCOL = "all 7 OECS member states"
ALL_ASSOCIATES = "all 5 OECS associate members"
INDEPENDENT_SIX = (
    "OECS member states Antigua and Barbuda, Dominica, Grenada, Saint Kitts and Nevis, "
    "Saint Lucia and Saint Vincent and the Grenadines"
)


def region_reason(result: ScoreResult, label: str) -> str:
    found = [r for r in result.reasons if r.startswith(f"Covers {label}")]
    assert found, f"no reason for {label!r} in {result.reasons}"
    return found[0]


@pytest.mark.parametrize(
    ("label", "text", "included", "left_out"),
    [
        # UNEP Cartagena Convention / SPAW: every OECS island lies in the Wider Caribbean Region
        ("the Wider Caribbean Region", f"Grants across the Wider Caribbean Region {THEME_EN}.",
         [ALL_PROTOCOL, ALL_ASSOCIATES], []),
        ("the Wider Caribbean Region", f"Appel à projets dans la Grande Caraïbe {THEME_FR}.",
         [ALL_PROTOCOL, ALL_ASSOCIATES], []),
        ("the Wider Caribbean Region", f"Convocatoria para el Caribe insular {THEME_ES}.",
         [ALL_PROTOCOL, ALL_ASSOCIATES], []),
        # UK government: Anguilla, the BVI and Montserrat are British Overseas Territories
        ("the UK Overseas Territories",
         f"Open to the UK Overseas Territories {THEME_EN}.",
         ["OECS member state Montserrat",
          "OECS associate members British Virgin Islands and Anguilla"],
         ["member states"]),
        ("the UK Overseas Territories",
         f"Appel ouvert aux territoires britanniques d'outre-mer {THEME_FR}.",
         ["OECS member state Montserrat"], []),
        ("the UK Overseas Territories",
         f"Abierta a los territorios británicos de ultramar {THEME_ES}.",
         ["OECS member state Montserrat"], []),
        # CDB: the seven protocol members and two associates borrow from the bank
        ("the CDB's borrowing member countries",
         f"Open to CDB borrowing member countries {THEME_EN}.",
         [ALL_PROTOCOL, "OECS associate members British Virgin Islands and Anguilla"],
         ["Martinique"]),
        # CARIFORUM: the six independent members and Montserrat, no associate
        ("CARIFORUM", f"Open to CARIFORUM states {THEME_EN}.", [ALL_PROTOCOL], ["associate"]),
        ("CARIFORUM", f"Ouvert aux États du Cariforum {THEME_FR}.", [ALL_PROTOCOL], ["associate"]),
        ("CARIFORUM", f"Abierta a los países del Cariforum {THEME_ES}.", [ALL_PROTOCOL],
         ["associate"]),
        # OACPS: sovereign states only, so the six independent members, not Montserrat
        ("the ACP / OACPS group", f"Open to ACP countries {THEME_EN}.", [INDEPENDENT_SIX],
         ["Montserrat", "associate"]),
        ("the ACP / OACPS group", f"Ouvert aux pays de l'OEACP {THEME_FR}.", [INDEPENDENT_SIX],
         ["Montserrat"]),
        # TFEU art. 349: Guadeloupe, Martinique and Saint-Martin are outermost regions
        ("the EU outermost regions", f"Open to the EU outermost regions {THEME_EN}.",
         ["OECS associate members Martinique, Guadeloupe and Saint-Martin"], ["member state"]),
        ("the EU outermost regions", f"Ouvert aux régions ultrapériphériques {THEME_FR}.",
         ["OECS associate members Martinique, Guadeloupe and Saint-Martin"], ["member state"]),
        ("the EU outermost regions", f"Abierta a las regiones ultraperiféricas {THEME_ES}.",
         ["OECS associate members Martinique, Guadeloupe and Saint-Martin"], ["member state"]),
        # Commonwealth Secretariat: sovereign members only
        ("the Commonwealth", f"Open to Commonwealth member countries {THEME_EN}.",
         [INDEPENDENT_SIX], ["Montserrat"]),
    ],
)  # fmt: skip
def test_each_grouping_names_the_oecs_members_it_brings_in(
    profile: Profile, label: str, text: str, included: list[str], left_out: list[str]
) -> None:
    result = score(profile, "Call for proposals", text)
    reason = region_reason(result, label)
    assert reason.startswith(f"Covers {label}: includes ")
    for words in included:
        assert words in reason
    for words in left_out:
        assert words not in reason
    assert result.eligible is True  # open to the OECS, with governments as applicants


@pytest.mark.parametrize(
    "text",
    [
        f"Open to organisations in the UK Overseas Territories {THEME_EN}. Applicants based in "
        "the UK may join as partners.",
        f"The UK Government invites UK Overseas Territory governments to apply {THEME_EN}.",
    ],
)
def test_a_uk_overseas_territories_call_is_not_europe_only(profile: Profile, text: str) -> None:
    result = score(profile, "Overseas Territories resilience fund", text)
    assert result.eligible is not False
    assert "Limited to places outside the OECS" not in reasons_text(result)
    assert result.band in ("medium", "high")


@pytest.mark.parametrize(
    "text",
    [
        f"Open to the overseas countries and territories (OCTs) of the EU {THEME_EN}.",
        f"Appel à projets pour les pays et territoires d'outre-mer (PTOM) {THEME_FR}.",
        f"Convocatoria para los países y territorios de ultramar {THEME_ES}.",
    ],
)
def test_an_oct_only_call_takes_the_oecs_only_as_a_partner(profile: Profile, text: str) -> None:
    result = score(profile, "Call for proposals", text)
    reason = region_reason(result, "the EU overseas countries and territories (OCTs)")
    assert "no OECS member belongs to it, so the OECS only as a partner" in reason
    assert result.score <= profile.scoring.partner_only_region_cap
    assert result.band != "high"
    assert "the OECS at most as a partner" in reasons_text(result)


def test_the_month_oct_is_not_an_overseas_territory(profile: Profile) -> None:
    result = score(profile, "Grants", f"Deadline 15 Oct 2025. Caribbean grants {THEME_EN}.")
    assert "overseas countries and territories" not in reasons_text(result)
    assert "at most as a partner" not in reasons_text(result)


# ------------------------------------------------------------------------------------------------
# Protocol members and associate members, kept apart
# ------------------------------------------------------------------------------------------------


def test_protocol_members_and_associates_named_apart(profile: Profile) -> None:
    result = score(profile, "Grants", f"Open to Saint Lucia and Martinique {THEME_EN}.")
    text = reasons_text(result)
    assert "Open to OECS member states: Saint Lucia; and to OECS associate members: Martinique" in (
        text
    )
    assert "member states: Saint Lucia, Martinique" not in text


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (f"Open to applicants from Anguilla {THEME_EN}.", "Anguilla"),
        (f"Open to the British Virgin Islands and Anguilla {THEME_EN}.",
         "British Virgin Islands, Anguilla"),
        (f"Appel à projets en Martinique {THEME_FR}.", "Martinique"),
    ],
)  # fmt: skip
def test_associates_alone_are_never_called_member_states(
    profile: Profile, text: str, names: str
) -> None:
    result = score(profile, "Grants", text)
    joined = reasons_text(result)
    assert f"Open to OECS associate members (names {names})" in joined
    assert "member state" not in joined


def test_every_grouping_with_members_cites_its_source(profile: Profile) -> None:
    cited = [r for r in profile.regions.values() if r.members or r.oecs_role == "partner"]
    assert {r.id for r in cited} >= {
        "wider_caribbean", "uk_overseas_territories", "cdb_borrowing_members", "cariforum",
        "acp", "outermost_regions", "eu_octs",
    }  # fmt: skip
    for region in cited:
        assert region.source and "as known, not fetched" in region.source, region.id
        assert "\n" not in region.source.strip()


def test_a_grouping_member_must_be_a_listed_member(tmp_path: Path) -> None:
    text = PACKAGED.read_text(encoding="utf-8")
    bad = text.replace(
        "members: [Montserrat, Anguilla, British Virgin Islands]", "members: [Montserrat, Anguila]"
    )
    assert bad != text
    path = tmp_path / "priorities.yaml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert "uk_overseas_territories).members" in str(info.value)
    assert "Anguila" in str(info.value)


def test_anguilla_alone_counts_but_the_spanish_eel_does_not(profile: Profile) -> None:
    # "Anguila" (an eel in Spanish) is ambiguous; the stemmer gives "Anguilla" the same key
    assert "Anguilla" in score(profile, "Grants", f"Open to Anguilla {THEME_EN}.").countries
    eel = score(profile, "Pesca", f"Gestión de la anguila europea {THEME_ES}.")
    assert "Anguilla" not in eel.countries
