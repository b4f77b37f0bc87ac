"""The relevance scorer: traps, gates, reasons, the profile file, and the dev-set targets.

Every assertion here can fail: each test names a call the scorer could get wrong (Dominica read
in "Dominican Republic", a Pacific-only call passing on its perfect theme, ...).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

from fundradar.exceptions import ConfigError
from fundradar.pipeline.record import Call
from fundradar.pipeline.score import load_profile, score_call
from fundradar.pipeline.score.profile import Profile, ProfileError, stem
from tests.conftest import FIXTURES, REPO
from tests.pipeline.score.score_support import FLAGGED, PACKAGED, reasons_text, score

DEV_SET = FIXTURES / "eval" / "dev_calls.jsonl"
HOLDOUT_SET = FIXTURES / "eval" / "holdout_calls.jsonl"


# ------------------------------------------------------------------------------------------------
# Names: traps, accents, inflections
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Grants for NGOs in the Dominican Republic on coastal resilience.",
        "Subventions pour les ONG de la République dominicaine : résilience côtière.",
        "Subvenciones para ONG de la República Dominicana sobre resiliencia costera.",
        "Open to organisations of the DOMINICAN REPUBLIC.",
    ],
)
def test_dominican_republic_is_never_dominica(profile: Profile, text: str) -> None:
    result = score(profile, "Coastal resilience grants", text)
    assert "Dominica" not in result.countries
    assert result.eligible is False  # a non-OECS Caribbean country only
    assert result.band not in FLAGGED


@pytest.mark.parametrize(
    "text",
    [
        "Open to government agencies of Dominica.",
        "Ouvert aux institutions publiques de la Dominique.",
        "Abierto a instituciones públicas de Dominica.",
        "Open to the Commonwealth of Dominica and the Dominican Republic.",
    ],
)
def test_dominica_is_found_in_three_languages(profile: Profile, text: str) -> None:
    result = score(profile, "Climate resilience grants", text)
    assert result.countries == ["Dominica"]
    assert result.eligible is True
    if "la Dominique" in text:
        assert "“la Dominique”" in reasons_text(result)  # the quote keeps the article


def test_dominique_as_a_first_name_is_not_dominica(profile: Profile) -> None:
    result = score(profile, "Appel à projets", "Contact : Dominique Martin, chargée de mission.")
    assert result.countries == []


def test_saint_martin_is_not_sint_maarten(profile: Profile) -> None:
    dutch = score(
        profile, "Sint Maarten Trust Fund: NGO grants", "For NGOs registered in Sint Maarten."
    )
    assert dutch.countries == []
    assert dutch.eligible is False
    assert dutch.band not in FLAGGED

    french = score(profile, "Appel à projets de la Collectivité de Saint-Martin", "Déchets.")
    assert french.countries == ["Saint-Martin"]
    assert french.band in FLAGGED  # an OECS associate member: medium at least

    both = score(profile, "Interreg Saint-Martin / Sint Maarten", "Cross-border cooperation.")
    assert both.countries == ["Saint-Martin"]
    assert both.eligible is True


def test_a_french_town_called_saint_martin_is_not_the_associate_member(profile: Profile) -> None:
    result = score(profile, "Culture à Saint-Martin-d'Hères", "Pour les associations locales.")
    assert result.countries == []


@pytest.mark.parametrize(
    "name", ["Saint Lucia", "St. Lucia", "St Lucia", "Sainte-Lucie", "SAINTE LUCIE", "Ste-Lucie",
             "sainte lucie", "Sainte Lucie", "Saint Lucian", "saint-lucienne"],
)  # fmt: skip
def test_saint_lucia_whatever_the_case_accents_and_abbreviation(
    profile: Profile, name: str
) -> None:
    result = score(profile, f"Call for proposals in {name}")
    assert result.countries == ["Saint Lucia"]
    quoted = f"“{name}”"
    assert quoted in reasons_text(result), "the reason quotes the call's own spelling"


def test_ambiguous_names_need_caribbean_context(profile: Profile) -> None:
    spain = score(profile, "Ayudas en Granada y Málaga", "Economía circular en Andalucía.")
    assert spain.countries == []
    caribbean = score(profile, "Convocatoria", "Abierta a Granada, Santa Lucía y Dominica.")
    assert caribbean.countries == ["Grenada", "Saint Lucia", "Dominica"]


@pytest.mark.parametrize(
    ("text", "theme"),
    [
        ("Support for marine protected area management.", "ocean"),
        ("Gestion des aires marines protégées.", "ocean"),
        ("Gestion d'une aire marine protégée.", "ocean"),
        ("Pêcheurs et pêcheries artisanales.", "ocean"),
        ("Projects on energies and renewable energies.", "energy"),
        ("Énergies renouvelables dans les îles.", "energy"),
        ("Energía renovable y energías renovables.", "energy"),
        ("Adaptation aux changements climatiques.", "climate"),
        ("Economía circular y gestión de residuos.", "waste"),
        ("Seguridad alimentaria y sistemas alimentarios.", "agriculture"),
    ],
)
def test_themes_match_inflections(profile: Profile, text: str, theme: str) -> None:
    assert theme in score(profile, "Call", text).themes


def test_inflected_geography_and_applicants(profile: Profile) -> None:
    result = score(
        profile,
        "Appel à projets",
        "Projets caribéennes avec des organisations régionales et des autorités publiques.",
    )
    assert any("Caribbean" in r for r in result.reasons)
    assert any("regional and intergovernmental organisations" in r for r in result.reasons)


def test_stemmer_folds_inflections_but_keeps_names_apart() -> None:
    assert stem("caribeennes") == stem("caribeen")
    assert stem("regionaux") == stem("regional")
    assert stem("agencies") == stem("agency")
    assert stem("dominica") != stem("dominican")
    assert stem("dominicana") != stem("dominica")


# ------------------------------------------------------------------------------------------------
# Gates: eligibility decides, themes rank
# ------------------------------------------------------------------------------------------------

PERFECT_THEME = (
    "Projects on climate change adaptation, disaster risk reduction, marine protected areas, "
    "sustainable fisheries, the blue economy, renewable energy and circular economy."
)


@pytest.mark.parametrize(
    ("where", "first_reason"),
    [
        ("Open to government agencies of Fiji, Samoa, Tonga and Vanuatu.", "outside the OECS"),
        ("Only legal entities established in EU Member States are eligible.", "EU Member States"),
        ("Ouvert aux laboratoires de recherche français.", "French laboratories"),
        ("For 501(c)(3) nonprofits in California.", "United States"),
        ("For community organisations in Jamaica, building on Caribbean practice.", "outside"),
        ("Open to small island states of the Pacific.", "outside the OECS"),
    ],
)
def test_restricted_elsewhere_with_perfect_theme_is_not_flagged(
    profile: Profile, where: str, first_reason: str
) -> None:
    result = score(profile, "Ocean and climate resilience call", f"{PERFECT_THEME} {where}")
    assert result.eligible is False
    assert result.band in ("low", "none")
    assert result.score < profile.bands.medium
    assert first_reason in result.reasons[0], "the gate is the first reason"
    assert "not eligible" in result.reasons[0]


def test_oecs_call_with_modest_theme_is_medium_at_least(profile: Profile) -> None:
    result = score(
        profile,
        "OECS Commission: call for nominations",
        "The OECS Commission invites Member States to nominate officials to a workshop.",
    )
    assert result.band in FLAGGED
    assert result.eligible is True


def test_gate_outranks_theme(profile: Profile) -> None:
    pacific = score(profile, "Ocean call", PERFECT_THEME + " Pacific Island Countries only.")
    oecs = score(profile, "Workshop", "For officials of the Eastern Caribbean states.")
    assert oecs.score > pacific.score


def test_wider_region_listed_with_other_regions_is_not_a_restriction(profile: Profile) -> None:
    result = score(
        profile,
        "UN call: community-based adaptation",
        "Government agencies in Africa, Asia, Latin America, the Caribbean and the Pacific "
        "may apply for grants on disaster risk reduction.",
    )
    assert result.eligible is True
    assert result.band in FLAGGED


def test_excluded_applicants_are_not_read_as_eligible(profile: Profile) -> None:
    result = score(
        profile,
        "Export grants",
        "Eligible: firms registered in a CARIFORUM state. Not eligible: NGOs; government agencies.",
    )
    assert not any("governments and public bodies" in r and "Open to" in r for r in result.reasons)
    assert result.score <= profile.scoring.closed_group_cap


def test_a_call_naming_no_place_is_at_most_low(profile: Profile) -> None:
    # a perfect theme and public applicants, but it could be a domestic call anywhere
    result = score(profile, "Coastal resilience call", PERFECT_THEME + " Public authorities apply.")
    assert result.band == "low"
    assert result.eligible is None
    assert "No place or region named" in result.reasons[-1]
    # the same call for the Caribbean region is flagged
    caribbean = score(
        profile, "Coastal resilience call", PERFECT_THEME + " Public authorities of the Caribbean."
    )
    assert caribbean.band in FLAGGED


def test_closed_group_caps_at_low(profile: Profile) -> None:
    result = score(
        profile,
        "Alumni small grants",
        "Open only to alumni of exchange programs living in Saint Lucia and Dominica, "
        "for climate resilience and youth projects.",
    )
    assert result.band in ("low", "none")
    assert "alumni" in result.reasons[0]


# Calls written to exercise the domain logic (not taken from the dev set), with the bands a
# DCRM officer would accept for each.
SYNTHETIC: list[tuple[str, dict[str, str], tuple[str, ...], bool | None]] = [
    (
        "pacific_only_fcr",
        {
            "title": "Fonds Pacifique 2025 : appel à projets de coopération régionale",
            "text": "Coopération régionale entre la Nouvelle-Calédonie, la Polynésie française et "
            "les États insulaires du Pacifique (Fidji, Vanuatu). Priorités : adaptation au "
            "changement climatique, économie bleue, aires marines protégées. Éligibles : "
            "collectivités, associations, établissements publics.",
        },
        ("none", "low"),
        False,
    ),
    (
        "anr_french_labs",
        {
            "title": "Appel à projets ANR « Biodiversité marine et changement climatique »",
            "text": "Appel sur la biodiversité marine et les récifs coralliens, ouvert aux "
            "laboratoires de recherche français.",
            "funder": "ANR",
        },
        ("none", "low"),
        False,
    ),
    (
        "dominican_republic",
        {
            "title": "Convocatoria 2024: resiliencia climática en la República Dominicana",
            "text": "Apoyo a organizaciones de la sociedad civil dominicanas en adaptación al "
            "cambio climático y conservación de manglares en la República Dominicana.",
        },
        ("none", "low"),
        False,
    ),
    (
        "interreg_caraibes",
        {
            "title": "Interreg Caraïbes : 3e appel à projets 2021-2027",
            "text": "Projets de coopération entre la Guadeloupe, la Martinique, la Guyane et "
            "Saint-Martin et les pays de la Caraïbe, dont les États membres de l'OECO. Risques "
            "naturels, économie bleue, santé. Bénéficiaires : autorités publiques, associations.",
        },
        ("high",),
        True,
    ),
    (
        "afd_fisong_global",
        {
            "title": "FISONG 2024 : adaptation des communautés côtières au changement climatique",
            "text": "Appel à idées ouvert aux organisations de la société civile françaises et "
            "internationales intervenant dans les pays en développement.",
            "funder": "Agence française de développement (AFD)",
        },
        ("low", "medium"),
        None,
    ),
    (
        "afd_fisong_sahel",
        {
            "title": "FISONG : santé maternelle au Sahel",
            "text": "Projets portés par des ONG au Sénégal, au Niger et au Tchad.",
            "funder": "AFD",
        },
        ("none", "low"),
        False,
    ),
    (
        "horizon_open_to_all",
        {
            "title": "Ocean observations for climate resilience (HORIZON-CL6-2025-CLIMATE-01)",
            "text": "Legal entities established in any country may participate, including "
            "associated countries; entities from low- and middle-income countries are eligible "
            "for funding.",
            "programme": "Horizon Europe – Cluster 6",
        },
        ("low", "medium"),
        None,
    ),
    (
        "eu_member_states_only",
        {
            "title": "Climate resilience of coastal regions",
            "text": "Coastal resilience and disaster risk reduction. Only legal entities "
            "established in EU Member States are eligible.",
        },
        ("none", "low"),
        False,
    ),
    (
        "mayotte_fcr",
        {
            "title": "Fonds de coopération régionale Mayotte 2024",
            "text": "Coopération avec les Comores et Madagascar en santé et environnement.",
            "funder": "Préfecture de Mayotte",
        },
        ("none", "low"),
        False,
    ),
    (
        "fcr_martinique",
        {
            "title": "Appel à projets FCR Martinique 2025",
            "text": "Le Fonds de coopération régionale finance des projets avec les États de la "
            "Caraïbe, en particulier Sainte-Lucie et la Dominique : santé, environnement, "
            "risques naturels.",
        },
        ("high",),
        True,
    ),
    (
        "sids_government",
        {
            "title": "Clean energy for island nations",
            "text": "Public sector entities in Small Island Developing States may apply for "
            "renewable energy project preparation grants.",
        },
        ("medium", "high"),
        True,
    ),
    (
        "caribbean_csos_in_barbados_only",
        {
            "title": "EU support to civil society in Barbados",
            "text": "Civil society organisations registered in Barbados; Caribbean best "
            "practice is encouraged. Gender equality and youth employment.",
        },
        ("none", "low"),
        False,
    ),
    (
        "sids_named_with_pacific_countries_only",
        {
            "title": "Pacific Resilience Facility: call for concept notes",
            "text": "Community climate adaptation in Pacific Island Countries. As small island "
            "developing states they face rising seas. Government agencies of Fiji, Tonga and "
            "Samoa may apply.",
        },
        ("none", "low"),
        False,
    ),
    (
        "sids_in_the_pacific_and_the_caribbean",
        {
            "title": "Ocean resilience in SIDS",
            "text": "Government agencies in small island developing states, including in the "
            "Pacific and the Caribbean, for coastal resilience and sustainable fisheries.",
        },
        ("medium", "high"),
        True,
    ),
    (
        "french_overseas_list",
        {
            "title": "Appel à projets national sur les territoires ultramarins",
            "text": "Ouvert aux laboratoires de l'Hexagone et des outre-mer (Guadeloupe, "
            "Martinique, Guyane, La Réunion, Mayotte).",
            "funder": "ANR",
        },
        ("none", "low"),
        True,
    ),
]


@pytest.mark.parametrize(
    ("name", "call", "bands", "eligible"), SYNTHETIC, ids=[s[0] for s in SYNTHETIC]
)
def test_synthetic_domain_calls(
    profile: Profile, name: str, call: dict[str, str], bands: tuple[str, ...], eligible: bool | None
) -> None:
    result = score_call(call, profile)
    assert result.band in bands, f"{name}: {result.score} {result.band}\n{reasons_text(result)}"
    assert result.eligible is eligible


# ------------------------------------------------------------------------------------------------
# Reasons and result shape
# ------------------------------------------------------------------------------------------------


def test_reasons_quote_the_words_that_triggered_them(profile: Profile) -> None:
    result = score(
        profile,
        "Call for proposals: marine protected areas in Saint Lucia and Dominica",
        "Government agencies may apply.",
    )
    text = reasons_text(result)
    assert "Open to OECS member states: Saint Lucia, Dominica (“Saint Lucia”, “Dominica”)" in text
    assert (
        "Theme: ocean governance, fisheries and the blue economy (“marine protected areas”)" in text
    )
    assert "(“Government agencies”)" in text
    # in the order they weigh: geography (36+) before the theme (14) before applicants (8)
    assert result.reasons.index(next(r for r in result.reasons if "OECS member" in r)) == 0
    assert result.themes == ["ocean"]


def test_restriction_reason_quotes_the_restriction(profile: Profile) -> None:
    result = score(
        profile,
        "Quantum software stack",
        "Legal entities established in an EU Member State may apply.",
    )
    assert result.reasons[0] == (
        "Restricted to EU Member States: not eligible (“established in an EU Member State”)"
    )


def test_themes_are_ordered_strongest_first(profile: Profile) -> None:
    result = score(
        profile,
        "Call",
        "Tourism. Renewable energy, energy efficiency and solar energy for public buildings.",
    )
    assert result.themes[0] == "energy"
    assert "economy" in result.themes


def test_score_and_band_agree(profile: Profile) -> None:
    for title in ("OECS climate resilience", "Quantum computing", "Caribbean fisheries"):
        result = score(profile, title)
        assert 0 <= result.score <= 100
        assert result.band == profile.band(result.score)


def test_call_record_and_mapping_score_alike(profile: Profile) -> None:
    call = Call(
        source="test",
        url="https://example.org/call",
        title="Climate adaptation in the Eastern Caribbean",
        summary="Grants for government agencies on coastal resilience.",
        eligibility_text="Open to Saint Lucia and Grenada.",
        funder="Green Climate Fund",
        programme="Readiness",
    )
    from_record = score_call(call, profile)
    from_mapping = score_call(
        {
            "title": call.title,
            "description": call.summary,
            "eligibility": call.eligibility_text,
            "funder": call.funder,
            "programme": call.programme,
        },
        profile,
    )
    assert from_record == from_mapping
    assert from_record.countries == ["Saint Lucia", "Grenada"]


def test_funder_seat_and_donor_names_do_not_restrict(profile: Profile) -> None:
    # Barbados here is only the High Commission's seat, Canada and Japan only the donors
    for title, funder in [
        ("Small grants 2025", "High Commission of Canada in Barbados"),
        ("Canada Fund for Local Initiatives 2025", ""),
        ("Grants from the Embassy of Japan", ""),
    ]:
        result = score(
            profile,
            title,
            "Proposals from government agencies across the Caribbean.",
            funder=funder,
        )
        assert result.eligible is True, title
    # but a call that is open to Barbados alone is restricted
    barbados = score(
        profile, "Small grants", "For government agencies in Barbados only; Caribbean."
    )
    assert barbados.eligible is False


def test_empty_call_scores_zero(profile: Profile) -> None:
    result = score_call({"title": "   "}, profile)
    assert (result.score, result.band) == (0, "none")
    unrelated = score(profile, "Quantum software stack")
    assert (unrelated.score, unrelated.band) == (0, "none")
    assert unrelated.reasons and "Nothing in the OECS profile" in unrelated.reasons[0]


def test_default_profile_is_the_packaged_file() -> None:
    assert load_profile().path.resolve() == PACKAGED.resolve()
    assert score_call({"title": "OECS fisheries"}).band in FLAGGED  # profile optional


# ------------------------------------------------------------------------------------------------
# The profile file
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def profile_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    folder.mkdir()
    shutil.copy(PACKAGED, folder / "priorities.yaml")
    return folder / "priorities.yaml"


@pytest.mark.parametrize(
    ("old", "new", "key", "expected"),
    [
        ("    weight: 1.0\n", "    weight: high\n",
         "themes[0] (id=climate).weight", "valid number"),
        ("  high: 60\n", "  hihg: 60\n", "bands.hihg", "no such key"),
        ("  - id: ocean\n", "  - id: Ocean Governance\n", "themes[1]", "lower-case id"),
        ("  medium: 40\n", "  medium: 70\n", "bands", "high > medium > low"),
        ("      scope: oecs\n", "      scope: everywhere\n",
         "geography.regions[0] (id=eastern_caribbean).scope", "'oecs' or 'wider'"),
        ("      lifted_by: [oecs, global]\n", "      lifted_by: [oecs, mars]\n",
         "geography.restrictions[0] (id=eu_member_states).lifted_by", "'mars'"),
        ("version: 1\n", "version: 1\nthemes: [unclosed\n", "line", "valid YAML"),
        ("    label: sustainable energy\n", "", "themes[4] (id=energy).label", "required"),
    ],
)  # fmt: skip
def test_bad_profile_names_file_key_and_expectation(
    profile_copy: Path, old: str, new: str, key: str, expected: str
) -> None:
    text = profile_copy.read_text(encoding="utf-8")
    assert old in text
    profile_copy.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ProfileError) as info:
        load_profile(profile_copy)
    err = info.value
    assert isinstance(err, ValueError)
    assert isinstance(err, ConfigError)  # the command line prints it as one line, exit 2
    assert err.file == str(profile_copy)
    assert key in err.key
    assert expected in err.expected
    assert str(profile_copy) in str(err) and key in str(err)


def test_missing_profile_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="does not exist"):
        load_profile(tmp_path / "nowhere.yaml")


def test_fundradar_config_folder_overrides_and_cache_follows_mtime(
    profile_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FUNDRADAR_CONFIG", str(profile_copy.parent))
    first = load_profile()
    assert first.path == profile_copy
    assert load_profile() is first, "cached while the file is unchanged"

    text = profile_copy.read_text(encoding="utf-8").replace("  high: 60\n", "  high: 95\n")
    profile_copy.write_text(text, encoding="utf-8")
    stamp = profile_copy.stat().st_mtime + 5
    os.utime(profile_copy, (stamp, stamp))  # a later mtime even on coarse file systems
    second = load_profile()
    assert second is not first
    assert second.bands.high == 95


# ------------------------------------------------------------------------------------------------
# The targets on both labelled sets: the dev set (copy of shared/eval/dev_calls.jsonl: see
# tests/fixtures/eval/README.md) and the hold-out set (constructed calls labelled blind to the
# scorer: see tests/fixtures/eval/HOLDOUT_README.md)
# ------------------------------------------------------------------------------------------------


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_scoring", REPO / "bench" / "scoring.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("path", "count"), [(DEV_SET, 46), (HOLDOUT_SET, 50)], ids=["dev", "holdout"]
)
def test_labelled_set_targets(profile: Profile, path: Path, count: int) -> None:
    bench = _bench()
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(records) == count
    results = [score_call(r, profile) for r in records]
    labels = [int(r["label"]) for r in records]
    m = bench.evaluate(labels, [x.score for x in results], [x.band in FLAGGED for x in results])
    assert m.ndcg10 >= 0.90
    assert m.spearman >= 0.80
    assert m.recall3 == 1.0
    assert m.share0 <= 0.05
    # and it beats the keyword alert it replaces
    keywords = bench.run_keywords(records)
    assert m.ndcg10 > keywords.ndcg10 and m.spearman > keywords.spearman


def test_bench_reports_both_sets_by_default() -> None:
    bench = _bench()
    files = bench.default_files()
    assert [f.name for f in files] == ["dev_calls.jsonl", "holdout_calls.jsonl"]
    assert all(f.is_file() for f in files)


def test_metrics_are_computed_right() -> None:
    bench = _bench()
    # perfect order -> 1.0; reversed -> -1.0; ties share their gains
    assert bench.ndcg_at_k([3, 2, 1, 0], [4, 3, 2, 1]) == pytest.approx(1.0)
    assert bench.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert bench.ndcg_at_k([3, 0], [1, 1]) == bench.ndcg_at_k([0, 3], [1, 1])
    m = bench.evaluate([3, 3, 0, 1], [9, 1, 8, 0], [True, False, True, False])
    assert (m.recall3, m.share0, m.flagged) == (0.5, 0.5, 2)
