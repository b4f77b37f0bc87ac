"""The scorer's general logic, one rule at a time, on calls written for these tests.

Every call here is a synthetic sentence written to exercise one rule (negation scope, country
lists, partner roles, instrument types, name matching, the high/medium tiers). None is copied
from the labelled sets: the rules must carry to calls nobody has labelled yet.
"""

from __future__ import annotations

import pytest

from fundradar.pipeline.score import ScoreResult
from fundradar.pipeline.score.profile import Profile, stem
from tests.pipeline.score.score_support import FLAGGED, reasons_text, score

# a rich OECS-priority theme, reused where the theme is not what a test is about
THEME = "disaster risk reduction, coastal resilience and sustainable fisheries"


def applicant_reason(result: ScoreResult) -> str:
    """The reason line about who may apply (not the one about OECS member states)."""
    return next(
        (
            r
            for r in result.reasons
            if r.startswith(("Open to", "Only ")) and not r.startswith("Open to OECS")
        ),
        "",
    )


# ------------------------------------------------------------------------------------------------
# A. Negation reaches back as well as forward, within its clause (en, fr, es)
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Registered companies may apply. Ministries and agencies, public agencies and NGOs are "
        "not eligible.",
        "Les entreprises peuvent candidater. Les agences publiques et les ONG ne sont pas "
        "éligibles.",
        "Pueden postular empresas. Las agencias públicas y las ONG no son elegibles.",
    ],
)
def test_applicants_named_before_a_negation_are_excluded(profile: Profile, text: str) -> None:
    result = score(profile, f"Grants in Saint Lucia for {THEME}", text)
    # only firms remain: a closed route, capped at low
    assert "governments and public bodies" not in applicant_reason(result)
    assert "Only private firms may apply" in result.reasons[0]
    assert result.band in ("low", "none")


@pytest.mark.parametrize(
    "text",
    [
        "Open to NGOs in the Caribbean, excluding government agencies.",
        "Ouvert aux ONG de la Caraïbe, à l'exception des agences publiques.",
        "Abierto a ONG del Caribe, excepto agencias públicas.",
    ],
)
def test_applicants_named_after_an_exclusion_are_excluded(profile: Profile, text: str) -> None:
    result = score(profile, "Coastal resilience grants", text)
    assert "governments and public bodies" not in applicant_reason(result)
    assert "NGOs and civil society" in applicant_reason(result)


def test_a_negation_stops_at_its_clause(profile: Profile) -> None:
    result = score(
        profile,
        f"Grenada: {THEME}",
        "Government agencies may apply, but NGOs are not eligible.",
    )
    assert "governments and public bodies" in applicant_reason(result)
    assert "NGOs" not in applicant_reason(result)
    semicolon = score(
        profile,
        f"Grenada: {THEME}",
        "Public authorities may apply; charities and CBOs are not eligible.",
    )
    assert "governments and public bodies" in applicant_reason(semicolon)


def test_not_eligible_followed_by_a_colon_points_forward(profile: Profile) -> None:
    result = score(
        profile,
        f"Grenada: {THEME}",
        "Eligible: government agencies. Not eligible: universities; NGOs; start-ups.",
    )
    assert applicant_reason(result).startswith("Open to governments")
    assert "NGOs" not in applicant_reason(result)


@pytest.mark.parametrize(
    "text",
    [
        "Grants for NGOs registered in Aruba. Organisations based in Saint Lucia are not "
        "eligible under this window.",
        "Subventions pour les ONG d'Aruba. Les structures de Sainte-Lucie ne sont pas éligibles.",
        "Subvenciones para ONG de Aruba. Las entidades de Dominica no son elegibles.",
    ],
)
def test_a_place_named_before_a_negation_is_excluded(profile: Profile, text: str) -> None:
    result = score(profile, f"Community grants: {THEME}", text)
    assert result.countries == []
    assert result.eligible is False
    assert result.band in ("low", "none")


# ------------------------------------------------------------------------------------------------
# B. An excluded OECS name does not lift the "limited elsewhere" gate
# ------------------------------------------------------------------------------------------------


def test_the_excluded_member_does_not_open_a_call_limited_elsewhere(profile: Profile) -> None:
    text = (
        "Community resilience grants for foundations registered in Sint Maarten, for projects on "
        "the Dutch side. Organisations from the French Collectivity of Saint-Martin are not "
        "eligible."
    )
    result = score(profile, "Sint Maarten resilience window", text)
    assert result.countries == []
    assert result.eligible is False
    assert any("outside the OECS" in r for r in result.reasons[:1])
    # the same call without the exclusion keeps Saint-Martin in
    both = score(profile, "Sint Maarten resilience window", text.replace(" are not", " are"))
    assert both.countries == ["Saint-Martin"]


# ------------------------------------------------------------------------------------------------
# C. A list of countries decides over a wide region that contains it
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Projects in Latin America and the Caribbean, in these countries: Bolivia, Cuba, Haiti "
        "and Peru.",
        "Projets en Amérique latine et Caraïbes : Bolivie, Haïti, Pérou et Cuba.",
        "En el Caribe, la convocatoria comprende Haití, Jamaica y la República Dominicana.",
        "Open to developing countries; the focus countries are Kenya, Peru and Viet Nam.",
    ],
)
def test_a_country_list_without_the_oecs_is_not_open_to_it(profile: Profile, text: str) -> None:
    result = score(profile, f"Climate adaptation fund: {THEME}", text + " NGOs may apply.")
    assert result.eligible is False
    assert result.band in ("low", "none")


@pytest.mark.parametrize(
    "text",
    [
        # examples are not a closed list
        "Open to Caribbean countries such as Jamaica and Haiti.",
        "Ouvert aux pays de la Caraïbe, par exemple Haïti.",
        # a list that names a member includes the OECS
        "Projects in Latin America and the Caribbean: Bolivia, Haiti and Grenada.",
        # membership groups are not narrowed by naming one more country
        "Open to public institutions of CARICOM member states and the Dominican Republic.",
    ],
)
def test_examples_members_and_membership_groups_keep_the_oecs_in(
    profile: Profile, text: str
) -> None:
    result = score(profile, f"Climate adaptation fund: {THEME}", text + " NGOs may apply.")
    assert result.eligible is not False
    assert result.band in FLAGGED


@pytest.mark.parametrize(
    "text",
    [
        "Grants for charities registered in the United Kingdom.",
        "Subvenciones para entidades con sede en Madrid.",
        "Open to firms and NGOs legally constituted in IDB borrowing member countries.",
    ],
)
def test_registration_elsewhere_restricts(profile: Profile, text: str) -> None:
    result = score(profile, f"Resilience call: {THEME}", text)
    assert result.eligible is False
    assert result.band in ("low", "none")


def test_a_donor_government_is_not_where_the_call_is_open(profile: Profile) -> None:
    result = score(
        profile,
        f"A UK Government scheme for {THEME}",
        "Projects in developing countries on the DAC list. NGOs and government agencies apply.",
    )
    assert result.eligible is True


# ------------------------------------------------------------------------------------------------
# D. "Prioritised" is not "limited to"
# ------------------------------------------------------------------------------------------------


def test_regions_given_priority_do_not_limit_the_call(profile: Profile) -> None:
    result = score(
        profile,
        "Climate finance readiness grants",
        "Every developing country may request support through its national designated "
        "authority. Small island developing states, least developed countries and African "
        "states are prioritised.",
    )
    assert result.eligible is True
    assert result.band in FLAGGED


# ------------------------------------------------------------------------------------------------
# E. Grants versus other instruments
# ------------------------------------------------------------------------------------------------


def test_the_funding_and_tenders_portal_is_not_a_tender(profile: Profile) -> None:
    result = score(
        profile,
        f"Call for proposals: {THEME} in Dominica and Saint Lucia",
        "Government agencies may apply. Submit through the Funding & Tenders Portal.",
    )
    assert result.band == "high"
    assert "procurement" not in reasons_text(result)
    tender = score(
        profile,
        f"Invitation to tender: {THEME} in Dominica and Saint Lucia",
        "Government agencies may apply.",
    )
    assert tender.band != "high"


@pytest.mark.parametrize(
    ("title", "text"),
    [
        (
            "Recruitment: individual consultant for the OECS waste strategy",
            "Send your CV by 1 March. Solid waste management in Grenada and Dominica.",
        ),
        (
            "L'agence recrute un expert court terme",
            "Mission dans les États de l'OECO : gestion des déchets. CV et lettre de motivation.",
        ),
    ],
)
def test_a_job_for_an_individual_is_not_a_grant(profile: Profile, title: str, text: str) -> None:
    result = score(profile, title, text)
    assert result.band in ("low", "none")


def test_authorities_designated_by_the_member_states_are_the_eu(profile: Profile) -> None:
    result = score(
        profile,
        "Joint action on vaccination registries",
        "Open to the competent authorities designated by the Member States. Public health.",
    )
    assert result.eligible is False
    assert result.reasons[0].startswith("Restricted to EU Member States")


# ------------------------------------------------------------------------------------------------
# F. "High" needs OECS geography, a real theme and a public applicant; caps keep the rest medium
# ------------------------------------------------------------------------------------------------


def test_high_needs_oecs_geography_theme_and_public_applicants(profile: Profile) -> None:
    oecs = score(profile, f"Grants for {THEME} in Grenada and Dominica", "Ministries and agencies.")
    assert oecs.band == "high"

    wider = score(profile, f"Grants for {THEME} in the Caribbean", "Ministries and agencies.")
    assert wider.band == "medium"
    assert wider.score <= profile.scoring.wider_region_cap
    assert wider.score < oecs.score

    ngo_only = score(profile, f"Grants for {THEME} in Grenada and Dominica", "NGOs only.")
    assert ngo_only.band == "medium"
    assert ngo_only.score <= profile.scoring.partner_route_cap

    off_priority = score(
        profile,
        "Grants for opera and ballet in Grenada and Dominica",
        "Ministries and agencies may apply.",
    )
    assert off_priority.band == "medium", "off-priority but OECS: medium, never high"
    assert off_priority.themes == []
    # however rich the rest, a call without a priority theme is never high
    many_places = score(
        profile,
        "Grants for opera and ballet in the OECS: Grenada, Dominica, Saint Lucia, Montserrat",
        "Regional organisations, ministries and agencies may apply. Interreg Caraïbes.",
    )
    assert many_places.score <= profile.scoring.no_theme_cap
    assert "No clear OECS priority theme" in reasons_text(many_places)


def test_the_funder_name_is_not_the_call_geography(profile: Profile) -> None:
    funder = "U.S. Embassy (Barbados, the Eastern Caribbean and the OECS)"
    with_places = score(profile, "Heritage grants", "Museums in Jamaica may apply.", funder=funder)
    assert with_places.eligible is False, "the embassy's area does not open a Jamaica call"
    funder_only = score(profile, "Heritage grants", "Museums may apply.", funder=funder)
    assert funder_only.band in ("low", "none")
    assert "Only the funder's name places the call" in reasons_text(funder_only)


def test_a_local_call_of_a_french_associate_is_medium_but_a_cooperation_call_is_high(
    profile: Profile,
) -> None:
    local = score(
        profile,
        "Appel à projets : économie circulaire et déchets en Martinique",
        "Collectivités et établissements publics de Martinique ; recyclage et réemploi.",
    )
    assert local.band == "medium"
    cooperation = score(
        profile,
        "Fonds de coopération régionale : appel à projets avec les pays de la Caraïbe",
        "Coopération régionale entre la Martinique et ses voisins : économie circulaire, "
        "déchets, recyclage. Collectivités et établissements publics de Martinique.",
    )
    assert cooperation.band == "high"
    assert cooperation.score > local.score


def test_an_eu_wide_call_open_to_the_outermost_regions_is_low(profile: Profile) -> None:
    result = score(
        profile,
        "Nature restoration projects",
        f"{THEME}. Applicants established in EU Member States, including the outermost "
        "regions, are eligible.",
    )
    assert result.band in ("low", "none")
    assert "French associate members may enter" in reasons_text(result)


# ------------------------------------------------------------------------------------------------
# G. Applicants: proper names and partner roles
# ------------------------------------------------------------------------------------------------


def test_an_organisation_name_is_not_an_applicant_type(profile: Profile) -> None:
    result = score(
        profile,
        "La Asociación de Estados del Caribe abre su fondo",
        "Los ministerios y agencias de los Estados miembros presentan proyectos de turismo "
        "sostenible y reducción del riesgo de desastres.",
    )
    assert "NGOs" not in reasons_text(result)
    assert "governments and public bodies" in applicant_reason(result)


@pytest.mark.parametrize(
    "text",
    [
        "Led by universities in CARICOM states; teams should include policy partners from "
        "government ministries.",
        "Universities lead; government agencies may take part only as partners.",
        "Portés par des universités de la Caraïbe, en partenariat avec des autorités publiques.",
    ],
)
def test_governments_named_as_partners_are_not_the_applicant(profile: Profile, text: str) -> None:
    result = score(profile, f"Research call: {THEME}", text)
    assert applicant_reason(result).startswith("Only universities")
    assert "Named as partners, not as the applicant" in reasons_text(result)
    assert result.band in ("medium", "low")


def test_a_partner_cue_reaches_only_a_few_words(profile: Profile) -> None:
    result = score(
        profile,
        f"Caribbean call: {THEME}",
        "In partnership with the regional fisheries network, which has worked across the "
        "islands for two decades, government agencies may apply.",
    )
    assert "governments and public bodies" in applicant_reason(result)


def test_french_public_applicant_terms(profile: Profile) -> None:
    result = score(
        profile,
        "Appel à propositions : santé publique dans les États de l'OECO",
        "Sont éligibles les ministères et agences de santé ainsi que tout établissement de "
        "recherche public.",
    )
    assert "governments and public bodies" in applicant_reason(result)


# ------------------------------------------------------------------------------------------------
# H. Name matching: no short-word stemming accidents, no themes inside names
# ------------------------------------------------------------------------------------------------


def test_short_words_keep_their_last_letter() -> None:
    assert stem("sante") != stem("santa") != stem("santo")
    assert stem("portes") != stem("port")
    assert stem("ports") == stem("port")
    assert stem("caribeennes") == stem("caribeen")
    assert stem("jeunes") == stem("jeune")


@pytest.mark.parametrize(
    ("text", "theme"),
    [
        ("La oficina en Santo Domingo recibe las propuestas.", "health"),
        ("Proyectos en Santa Lucía y Granada.", "health"),
        ("La Secretaría en Puerto España recibe los perfiles.", "transport"),
        ("Les projets sont portés par des associations de Guadeloupe.", "transport"),
        ("Conservation of historic buildings and museum collections in Grenada.", "biodiversity"),
        ("Capacity building for choirs in Dominica.", "governance"),
    ],
)
def test_no_theme_from_names_or_loose_words(profile: Profile, text: str, theme: str) -> None:
    assert theme not in score(profile, "Call", text).themes


def test_themes_still_found_in_their_own_words(profile: Profile) -> None:
    result = score(profile, "Call", "Santé publique, ports et transport maritime, biodiversity.")
    assert {"health", "transport", "biodiversity"} <= set(result.themes)


# ------------------------------------------------------------------------------------------------
# I. ODA wording in French and Spanish is global development geography
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Projets dans les pays bénéficiaires de l'aide publique au développement (liste du CAD).",
        "Projets dans les pays éligibles à l'APD.",
        "Proyectos en países receptores de AOD (lista del CAD).",
        "Proyectos en países receptores de ayuda oficial al desarrollo.",
    ],
)
def test_french_and_spanish_oda_wording(profile: Profile, text: str) -> None:
    result = score(profile, f"Call: {THEME}", text + " ONG.")
    assert any("developing countries worldwide" in r for r in result.reasons)
    assert result.band in FLAGGED


def test_socially_excluded_is_not_an_exclusion(profile: Profile) -> None:
    result = score(
        profile,
        f"Grants for {THEME}",
        "In Dominica, socially excluded youth and women; en Martinique, les jeunes exclus.",
    )
    assert result.countries == ["Dominica", "Martinique"]


@pytest.mark.parametrize(
    "text",
    [
        "Le ministère de l'Europe et des Affaires étrangères lance un appel aux associations.",
        "Submit through the Horizon Europe portal; in line with the Paris Agreement.",
    ],
)
def test_a_place_inside_a_proper_name_is_no_place(profile: Profile, text: str) -> None:
    result = score(profile, "Call for proposals", text)
    assert result.eligible is not False
    assert not any("outside the OECS" in r for r in result.reasons)
