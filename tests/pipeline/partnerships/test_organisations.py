"""The partner directory: names folded, acronyms, one entry per body, merges that lose nothing,
seeding from the stored calls, and an organisation's profile."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from fundradar.exceptions import PartnerError
from fundradar.pipeline.models import CallOrganisation, Organisation, PastProject
from fundradar.pipeline.partnerships import applications as apps
from fundradar.pipeline.partnerships import organisations as orgs
from fundradar.pipeline.review import record_verdict
from tests.pipeline.exports.exports_factory import add_call

AFD_NAMES = (
    "Agence française de développement",
    "AFD",
    "Agence Francaise de Developpement",
    "L'Agence Française de Développement",
    "A.F.D.",
    "Agence française de développement (AFD)",
)


def test_fold_name_and_acronym() -> None:
    assert orgs.fold_name("L'Agence Française de Développement") == "agence francaise developpement"
    assert orgs.fold_name("AGENCE FRANCAISE DE DEVELOPPEMENT") == "agence francaise developpement"
    assert orgs.fold_name("Agence française de développement (AFD)") == (
        "agence francaise developpement"
    )
    assert orgs.fold_name("The University of the West Indies") == "university west indies"
    assert orgs.fold_name("Organización de los Estados del Caribe Oriental") == (
        "organizacion estados caribe oriental"
    )
    assert orgs.fold_name("Œuvre & Cie") == "oeuvre cie"
    assert orgs.fold_name("De La") == "de la"  # never an empty key
    assert orgs.acronym_of("Agence française de développement") == "AFD"
    assert orgs.acronym_of("Organisation of Eastern Caribbean States") == "OECS"
    assert orgs.acronym_of("Institut de recherche pour le développement") == "IRD"
    assert orgs.acronym_of("A.F.D.") == "AFD"
    assert orgs.acronym_of("AFD – Agence française de développement") == "AFD"
    assert orgs.acronym_of("Expertise") is None
    assert orgs.acronym_of("") is None


@pytest.mark.parametrize("first", AFD_NAMES)
def test_every_spelling_of_afd_is_one_entry(session, first) -> None:  # type: ignore[no-untyped-def]
    entry = orgs.find_or_create(session, first, author="m")
    for name in AFD_NAMES:
        assert orgs.find_or_create(session, name, author="m").id == entry.id, name
    assert session.scalar(select(func.count()).select_from(Organisation)) == 1
    # every other spelling is kept as an alias, once
    assert sorted(entry.aliases) == sorted(n for n in AFD_NAMES if n != first)
    assert entry.acronym == "AFD"


def test_known_funder_names_and_distinct_bodies(session) -> None:  # type: ignore[no-untyped-def]
    afd = orgs.find_or_create(session, "Agence française de développement")
    assert orgs.find_or_create(session, "French Development Agency").id == afd.id  # dedupe's group
    ec = orgs.find_or_create(session, "European Commission")
    assert orgs.find_or_create(session, "Commission européenne").id == ec.id
    # a body whose name merely contains a funder's: another entry
    assert orgs.find_or_create(session, "EU Delegation to Barbados").id != ec.id
    # same initials, different bodies: never one entry
    other = orgs.find_or_create(session, "Association des Femmes Dominicaines")
    assert other.id != afd.id and other.acronym == "AFD"
    # "AFD" typed now names two entries by acronym; the older name-match still decides
    assert orgs.find_or_create(session, "Agence Francaise De Developpement").id == afd.id
    with pytest.raises(PartnerError, match="needs a name"):
        orgs.find_or_create(session, "   ")
    with pytest.raises(PartnerError, match="unknown kind 'bank' \\(one of government"):
        orgs.find_or_create(session, "CDB", kind="bank")
    assert orgs.find_or_create(session, "OECS", kind="regional body").kind == "regional_body"


def test_duplicate_candidates_with_reasons(session) -> None:  # type: ignore[no-untyped-def]
    def add(name: str, **kw) -> Organisation:  # type: ignore[no-untyped-def]
        # straight rows, as two officers typing at once (or an old import) would leave them
        org = Organisation(
            name=name,
            name_key=orgs.fold_name(name),
            acronym=orgs.acronym_of(name),
            aliases=[],
            languages=[],
            kind="other",
            origin="manual",
            **kw,
        )
        session.add(org)
        session.flush()
        return org

    long_ = add("Agence française de développement")
    short = add("AFD")
    plain = add("Agence Francaise de Developpement")
    uwi = add("University of the West Indies")
    uwi2 = add("University of the West Indes")  # a typo
    add("Caribbean Development Bank")
    pairs = {(a.id, b.id): why for a, b, why in orgs.duplicate_candidates(session)}
    assert pairs[(long_.id, short.id)] == "AFD is the acronym of Agence française de développement"
    assert pairs[(long_.id, plain.id)] == "same name once case, accents and articles are set aside"
    assert pairs[(uwi.id, uwi2.id)].startswith("similar names (")
    assert len(pairs) == 4  # plain/short too, and nothing about the bank


def test_merge_moves_everything_and_loses_nothing(session) -> None:  # type: ignore[no-untyped-def]
    call = add_call(session, 1)
    record_verdict(session, call, "shortlist", author="m")
    app = apps.create_from_call(session, call.id, author="m")
    app2 = apps.create_from_call(session, _shortlisted(session, 2), author="m").id
    keep = orgs.find_or_create(session, "Agence française de développement", kind="public_agency")
    keep.contact = "caraibes@afd.fr"
    gone = Organisation(
        name="A F D Caribbean office",
        name_key="a f d caribbean office",
        acronym="AFDC",
        aliases=["AFD Castries"],
        languages=["fr", "en"],
        kind="government",
        country="Saint Lucia",
        contact="other@afd.fr",
        website="https://www.afd.fr",
        notes="Met at the 2025 forum.",
        origin="import",
    )
    earlier = Organisation(
        name="AFD bureau",
        name_key="afd bureau",
        aliases=[],
        languages=[],
        kind="other",
        origin="manual",
    )
    session.add_all([gone, earlier])
    session.flush()
    orgs.merge(session, gone.id, earlier.id, author="m")  # merged before into `gone`
    session.add(
        PastProject(
            organisation_id=gone.id,
            title="Coastal resilience 2021",
            year=2021,
            amount=Decimal("120000"),
            currency="EUR",
        )
    )
    session.add(CallOrganisation(call_id=call.id, organisation_id=gone.id, role="operator"))
    session.add(CallOrganisation(call_id=call.id, organisation_id=keep.id, role="operator"))
    apps.add_partner(session, app.id, gone.id, role="lead", author="m")
    apps.add_partner(session, app.id, keep.id, author="m")
    apps.add_partner(session, app2, gone.id, author="m")

    with pytest.raises(PartnerError, match="into itself"):
        orgs.merge(session, keep.id, keep.id, author="m")
    with pytest.raises(PartnerError, match="already merged into"):
        orgs.merge(session, keep.id, earlier.id, author="m")
    survivor = orgs.merge(session, keep.id, gone.id, author="jean")
    session.commit()
    session.expire_all()

    survivor = session.get(Organisation, keep.id)
    gone = session.get(Organisation, gone.id)
    assert gone.merged_into_id == keep.id and gone.name == "A F D Caribbean office"  # row kept
    assert session.get(Organisation, earlier.id).merged_into_id == keep.id  # chain flattened
    # filled only where the survivor had nothing
    assert (survivor.kind, survivor.contact) == ("public_agency", "caraibes@afd.fr")
    assert (survivor.country, survivor.website) == ("Saint Lucia", "https://www.afd.fr")
    assert survivor.notes == "Met at the 2025 forum."
    assert survivor.languages == ["fr", "en"]
    assert {"A F D Caribbean office", "AFD Castries", "AFDC", "AFD bureau"} <= set(survivor.aliases)
    # links, places in applications, past projects all on the survivor
    links = session.execute(
        select(CallOrganisation.organisation_id, CallOrganisation.role).where(
            CallOrganisation.organisation_id.in_([keep.id, gone.id])
        )
    ).all()
    assert links == [(keep.id, "operator")]  # the twin link dropped, not doubled
    app = session.get(type(app), app.id)
    assert [(p.organisation_id, p.role) for p in app.partners] == [(keep.id, "lead")]
    assert app.events[-1].note == f"partner {gone.name} merged into {survivor.name}"
    assert app.events[-1].author == "jean"
    assert session.get(type(app), app2).partners[0].organisation_id == keep.id
    assert session.scalars(select(PastProject)).one().organisation_id == keep.id
    # the merged names still find the survivor
    assert orgs.find_or_create(session, "AFD Castries").id == keep.id
    assert orgs.resolve(session, str(gone.id)).id == keep.id
    prof = orgs.profile(session, gone.id)
    assert prof.organisation.id == keep.id
    assert [(c.id, role) for c, role in prof.calls] == [(call.id, "operator")]
    assert {(a.id, role) for a, role in prof.applications} == {(app.id, "lead"), (app2, "partner")}
    assert [p.title for p in prof.past_projects] == ["Coastal resilience 2021"]
    assert {m.id for m in prof.merged} == {gone.id, earlier.id}


def _shortlisted(session, n: int) -> int:  # type: ignore[no-untyped-def]
    call = add_call(session, n)
    record_verdict(session, call, "shortlist", author="m")
    return call.id


def test_seed_from_calls_is_idempotent(session) -> None:  # type: ignore[no-untyped-def]
    add_call(session, 1, funder="Agence française de développement", programme="AFD Caraïbes")
    add_call(session, 2, funder="AFD", programme="Région Guadeloupe")
    add_call(session, 3, funder="European Commission", programme="Horizon Europe")
    add_call(session, 4, source="fundsforngos", funder="fundsforNGOs (aggregator)")  # config's
    add_call(session, 5, source="gone_aggregator", funder="Grants Digest (aggregator)")
    made = orgs.seed_from_calls(session)
    names = {o.name: o for o in orgs.directory(session)}
    assert set(names) == {
        "Agence française de développement",
        "Région Guadeloupe",
        "European Commission",
    }
    assert "AFD" in names["Agence française de développement"].aliases
    roles = session.execute(
        select(CallOrganisation.role, func.count()).group_by(CallOrganisation.role)
    ).all()
    assert dict(roles) == {"funder": 3, "operator": 1}
    assert made == 4
    assert orgs.seed_from_calls(session) == 0
    assert session.scalar(select(func.count()).select_from(CallOrganisation)) == 4
