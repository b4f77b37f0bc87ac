"""The partner directory: organisations, how two spellings are found to be one, and merging.

Names come from scraped calls ("Agence française de développement", "AFD", "French
Development Agency"), from officers typing and from spreadsheets. So every name is compared
folded (`fold_name`: case, accents, punctuation and the articles and prepositions of French,
English and Spanish gone) and by acronym (`acronym_of`), and known funders' other names are
taken from dedupe's funder groups (`pipeline.dedupe.match.funder_group`), the same care calls
get. A name that matches an existing entry is recorded on it as an alias instead of making a
second entry.

Merging never deletes (see `merge`): the merged entry keeps its row and points at the
survivor (`merged_into_id`), and the survivor only gains what it lacked.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fundradar.exceptions import PartnerError
from fundradar.pipeline.models import (
    ORGANISATION_KINDS,
    Application,
    ApplicationEvent,
    ApplicationPartner,
    CallOrganisation,
    CallRow,
    Organisation,
    PastProject,
    utcnow,
)

KINDS = ORGANISATION_KINDS
ORIGINS = ("calls", "manual", "import")
# Words that say nothing about which body it is: articles, prepositions and conjunctions of
# French, English and Spanish (the directory's languages). Not "agency", "fund": those are
# part of the name and of its acronym ("Agence française de développement" -> AFD).
STOP_WORDS = frozenset(
    """the a an of for and in on at to by with from
    le la les l un une des de du d et en au aux pour par sur dans avec
    el los las lo un una del al y e o para por con en sobre""".split()  # noqa: SIM905
)
_ACRONYM_TYPED = re.compile(r"^[A-Z][A-Z0-9&.\-]{1,14}$")  # "AFD", "CNRS", "A.F.D."
_PARENS = re.compile(r"^(?P<name>.+?)\s*\(\s*(?P<acr>[^()]{2,15})\s*\)\s*$")
_DASHED = re.compile(r"^(?P<acr>[A-Z][A-Z0-9&]{1,14})\s+[-–—:]\s+(?P<name>.+)$")
# Words that make a programme name the name of the body running it (seeding operators).
_BODY_WORDS = frozenset(
    """agence agency ministere ministry ministerio region conseil council banque bank banco
    fondation foundation fundacion universite university universidad institut institute
    instituto embassy ambassade embajada office secretariat commission authority autorite
    collectivite prefecture""".split()  # noqa: SIM905
)
FUZZY_DUPLICATE = 92  # rapidfuzz token_sort_ratio on folded names: a candidate, never a merge


# ------------------------------------------------------------------------------ names


def _ascii_fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", (text or "").casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("œ", "oe").replace("æ", "ae").replace("ß", "ss")
    text = text.replace("&", " and ")
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def fold_name(name: str | None) -> str:
    """The form names are compared in: lower case, no accents or punctuation, no articles or
    prepositions (FR/EN/ES). "L'Agence Française de Développement" -> "agence francaise
    developpement". A name made only of such words keeps them (never an empty key)."""
    words = _ascii_fold(_split_acronym(name or "")[0]).split()
    kept = [w for w in words if w not in STOP_WORDS]
    return " ".join(kept or words)


def _split_acronym(name: str) -> tuple[str, str | None]:
    """("Agence française de développement", "AFD") from "Agence française de développement
    (AFD)" or "AFD – Agence française de développement"; (name, None) otherwise."""
    name = " ".join((name or "").split())
    m = _PARENS.match(name)
    if m and _ACRONYM_TYPED.match(m.group("acr").replace(" ", "")):
        return m.group("name"), _typed_acronym(m.group("acr"))
    m = _DASHED.match(name)
    if m and len(m.group("name").split()) >= 2:
        return m.group("name"), _typed_acronym(m.group("acr"))
    return name, None


def _typed_acronym(text: str) -> str | None:
    """The acronym `text` is, as typed ("AFD", "A.F.D." -> "AFD"), or None when it is a name."""
    text = (text or "").strip()
    if not _ACRONYM_TYPED.match(text):
        return None
    letters = re.sub(r"[.\-]", "", text)
    return letters if len(letters) >= 2 else None


def acronym_of(name: str | None) -> str | None:
    """The name's acronym: the one it gives ("AFD", "… (AFD)", "AFD – …"), else the initials of
    its significant words ("Agence française de développement" -> "AFD"); None for a name of
    fewer than two or more than eight significant words."""
    if not name or not name.strip():
        return None
    typed = _typed_acronym(name.strip())
    if typed is not None:
        return typed
    rest, given = _split_acronym(name)
    if given:
        return given
    words = [w for w in _ascii_fold(rest).split() if w not in STOP_WORDS and not w.isdigit()]
    if not 2 <= len(words) <= 8:
        return None  # one word has no acronym; a long descriptive name has none in use
    return "".join(w[0] for w in words).upper()[:40]


def _known_group(name: str) -> str | None:
    """The known funder `name` is one of the names of (dedupe's funder groups: "French
    Development Agency" and "Agence française de développement" are both AFD), or None.
    The whole name must be such a name: "EU Delegation to Barbados" names another body than
    "European Commission", though dedupe counts both as the EU when judging calls."""
    from fundradar.pipeline.dedupe.match import fold, funder_group, funder_spellings

    group = funder_group(name)
    return group if group and fold(name) in funder_spellings(name) else None


# ------------------------------------------------------------------------------ lookups


def get_organisation(session: Session, org_id: Any, *, follow: bool = False) -> Organisation:
    """The organisation with this id (with follow=True: the one it was merged into)."""
    org = session.get(Organisation, int(org_id)) if str(org_id).strip().isdigit() else None
    if org is None:
        raise PartnerError(f"no organisation with id {org_id!r}")
    seen = {org.id}
    while follow and org.merged_into_id is not None:
        nxt = session.get(Organisation, org.merged_into_id)
        if nxt is None or nxt.id in seen:
            break
        seen.add(nxt.id)
        org = nxt
    return org


def resolve(session: Session, ref: str) -> Organisation:
    """The organisation `ref` names: its id, or a name, acronym or alias it is known by
    (a merged entry gives the one it was merged into). PartnerError when none."""
    ref = (ref or "").strip()
    if ref.isdigit():
        return get_organisation(session, ref, follow=True)
    found = Directory(session).find(ref)
    if found is None:
        raise PartnerError(f"no organisation named {ref!r} (fundradar partner list)")
    return found


def directory(
    session: Session, *, kinds: Iterable[str] = (), include_merged: bool = False
) -> list[Organisation]:
    """The organisations, by name (merged entries left out unless asked for)."""
    stmt = select(Organisation)
    if not include_merged:
        stmt = stmt.where(Organisation.merged_into_id.is_(None))
    kinds = tuple(kinds)
    if kinds:
        stmt = stmt.where(Organisation.kind.in_([check_kind(k) for k in kinds]))
    return sorted(session.scalars(stmt), key=lambda o: (o.name_key, o.id))


_KIND_WORDS = {
    "university": "university_research", "research": "university_research",
    "public": "public_agency", "agency": "public_agency", "regional": "regional_body",
    "company": "private", "business": "private", "gov": "government",
}  # fmt: skip


def check_kind(kind: str | None) -> str:
    """A kind of ORGANISATION_KINDS ("NGO", "public agency" and "university-research" read as
    typed); PartnerError naming the valid ones else."""
    value = re.sub(r"[\s\-/]+", "_", (kind or "").strip().lower())
    value = _KIND_WORDS.get(value, value)
    if value not in KINDS:
        raise PartnerError(f"unknown kind {kind!r} (one of {', '.join(KINDS)})")
    return value


class Directory:
    """The directory's names in memory, for matching many names with one query (seeding,
    importing); keys: folded names and aliases, acronyms, known funder groups."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.by_key: dict[str, int] = {}
        self.by_typed: dict[str, set[int]] = {}  # an acronym some name or alias is, as typed
        self.by_named: dict[str, set[int]] = {}  # an acronym an entry's own name is ("AFD")
        self.by_acronym: dict[str, set[int]] = {}  # the entries' acronym field
        self.by_group: dict[str, int] = {}
        for org in session.scalars(select(Organisation).order_by(Organisation.id)):
            self.add(org)

    def add(self, org: Organisation) -> None:
        """Index `org` (again, after its names changed)."""
        target = org.merged_into_id or org.id
        for name in [org.name, *(org.aliases or [])]:
            name = str(name)
            key = fold_name(name)
            if key:
                self.by_key.setdefault(key, target)
            typed = _typed_acronym(name.strip()) or _split_acronym(name)[1]
            if typed:
                self.by_typed.setdefault(typed, set()).add(target)
            group = _known_group(name)
            if group:
                self.by_group.setdefault(group, target)
        named = _typed_acronym(org.name.strip())
        if named:
            self.by_named.setdefault(named, set()).add(target)
        if org.acronym:
            self.by_acronym.setdefault(org.acronym.upper(), set()).add(target)

    def _get(self, org_id: int) -> Organisation:
        return get_organisation(self.session, org_id, follow=True)

    def _one(self, hits: set[int]) -> Organisation | None:
        found = {self._get(i).id for i in hits}
        return self._get(found.pop()) if len(found) == 1 else None

    def find(self, name: str, acronym: str | None = None) -> Organisation | None:
        """The entry `name` names, or None (see the module note).

        Acronyms are compared only when one side is written as one: "AFD" typed finds the
        entry whose acronym is AFD; "Agence française de développement" finds an entry named
        or known as "AFD"; but two long names with the same initials are two bodies, and an
        acronym found on several entries matches none of them."""
        key = fold_name(name)
        if key and key in self.by_key:
            return self._get(self.by_key[key])
        typed = _typed_acronym(name.strip())
        if typed:
            found = self._one(self.by_typed.get(typed, set()) | self.by_acronym.get(typed, set()))
            if found is not None:
                return found
        # a long name finds an entry known so far only by its acronym; an entry with a long
        # name of its own is another body when that name differs ("Caribbean Disaster Board"
        # is not the "Caribbean Development Bank" known as CDB): a duplicate candidate at most
        for derived in (_split_acronym(name)[1], acronym_of(name), _typed_acronym(acronym or "")):
            if derived and not typed:
                found = self._one(self.by_named.get(derived, set()))
                if found is not None:
                    return found
        group = _known_group(name)
        if group and group in self.by_group:
            return self._get(self.by_group[group])
        return None


def _append_alias(org: Organisation, name: str) -> bool:
    name = " ".join(name.split())
    if not name or name == org.name or name in (org.aliases or []):
        return False
    org.aliases = [*(org.aliases or []), name]
    return True


def find_or_create(
    session: Session, name: str, *, kind: str | None = None, country: str | None = None,
    origin: str = "manual", author: str | None = None, acronym: str | None = None,
    directory_: Directory | None = None,
) -> Organisation:  # fmt: skip
    """The entry `name` names (by folded name, acronym, alias or known funder name), its new
    spelling recorded as an alias; else a new entry. Flushes; the caller commits.

    An existing entry's kind and country are filled when it has none, never overwritten."""
    name = " ".join((name or "").split())
    if not name:
        raise PartnerError("an organisation needs a name")
    kind = check_kind(kind) if kind else None
    found = (directory_ or Directory(session)).find(name, acronym)
    if found is not None:
        if _append_alias(found, name) and directory_ is not None:
            directory_.add(found)
        if kind and found.kind in (None, "other"):
            found.kind = kind
        if country and not found.country:
            found.country = country.strip()
        given = _typed_acronym((acronym or "").strip().upper()) or acronym_of(name)
        if not found.acronym and given and len(given) <= 40:
            found.acronym = given
        session.flush()
        return found
    org = Organisation(
        name=name[:300], name_key=fold_name(name)[:300] or name.lower()[:300],
        acronym=(_typed_acronym((acronym or "").strip().upper()) or acronym_of(name)),
        aliases=[], kind=kind or "other", country=(country or "").strip() or None,
        languages=[], origin=origin if origin in ORIGINS else "manual",
        created_by=author, created_at=utcnow(), updated_at=utcnow(),
    )  # fmt: skip
    session.add(org)
    session.flush()
    if directory_ is not None:
        directory_.add(org)
    return org


# ------------------------------------------------------------------------------ duplicates


def duplicate_candidates(session: Session) -> list[tuple[Organisation, Organisation, str]]:
    """Pairs of entries that may be one body, older first, with the reason in words. A list
    for an officer to confirm with `merge`, never merged by itself.

    Exact evidence is found through indexes (same folded name or alias, one written as the
    other's acronym, known names of one funder); similar names through rapidfuzz's C loop
    (`process.extract` per entry), not a Python loop over every pair."""
    from itertools import combinations

    from rapidfuzz import fuzz, process

    orgs = directory(session)
    by_id = {o.id: o for o in orgs}
    found: dict[tuple[int, int], str] = {}

    def add(a: int, b: int, why: str) -> None:
        pair = (a, b) if a < b else (b, a)
        if a != b and pair not in found:
            found[pair] = why

    keys: dict[str, list[int]] = {}
    typed: dict[str, list[int]] = {}
    groups: dict[str, list[int]] = {}
    main_key = {o.id: fold_name(o.name) for o in orgs}
    for o in orgs:
        names = [o.name, *map(str, o.aliases or [])]
        for key in {fold_name(n) for n in names}:
            keys.setdefault(key, []).append(o.id)
        for acr in {_typed_acronym(n.strip()) for n in names} - {None}:
            typed.setdefault(str(acr), []).append(o.id)
        group = _known_group(o.name)
        if group:
            groups.setdefault(group, []).append(o.id)
    for ids in keys.values():
        for a, b in combinations(ids, 2):
            same = main_key[a] == main_key[b]
            add(a, b, "same name once case, accents and articles are set aside" if same
                else "one's name is an alias of the other")  # fmt: skip
    for o in orgs:
        for other in typed.get((o.acronym or "").upper(), ()):
            add(other, o.id, f"{o.acronym} is the acronym of {o.name}")
    for ids in groups.values():
        for a, b in combinations(ids, 2):
            add(a, b, "known names of the same funder")
    choices = [o.name_key for o in orgs]
    for i, o in enumerate(orgs):
        hits = process.extract(o.name_key, choices[i + 1 :], scorer=fuzz.token_sort_ratio,
                               score_cutoff=FUZZY_DUPLICATE, limit=None)  # fmt: skip
        for _choice, score, j in hits:
            add(o.id, orgs[i + 1 + j].id, f"similar names ({score:.0f}% alike)")
    return [(by_id[a], by_id[b], why) for (a, b), why in sorted(found.items())]


# ------------------------------------------------------------------------------ merge


def merge(
    session: Session, keep_id: int, merge_id: int, *, author: str, now: datetime | None = None
) -> Organisation:
    """Merge entry `merge_id` into `keep_id`; returns the survivor. Flushes.

    Moved to the survivor: its call links, its places in applications (a lead stays a lead;
    one it shares with the survivor keeps the stronger role), its past projects, and the
    entries merged into it before. The survivor gains the merged entry's name, acronym and
    aliases as aliases and its languages, and its kind, country, contact, website and notes
    only where it has none (differing notes are appended, marked with where they came from).
    The merged entry keeps its row and its own values, and points at the survivor.
    Each application touched records the merge in its history, with the author.
    """
    keep = get_organisation(session, keep_id)
    gone = get_organisation(session, merge_id)
    if keep.id == gone.id:
        raise PartnerError("an organisation cannot be merged into itself")
    if gone.merged_into_id is not None:
        raise PartnerError(
            f"{gone.name} (id {gone.id}) was already merged into id {gone.merged_into_id}"
        )
    if keep.merged_into_id is not None:
        raise PartnerError(
            f"{keep.name} (id {keep.id}) was merged into id {keep.merged_into_id}; "
            "merge into that one instead"
        )
    now = now or utcnow()
    # call links (unique per call, organisation, role: an identical link is simply dropped)
    have = {
        (c.call_id, c.role)
        for c in session.scalars(
            select(CallOrganisation).where(CallOrganisation.organisation_id == keep.id)
        )
    }
    for link in list(
        session.scalars(select(CallOrganisation).where(CallOrganisation.organisation_id == gone.id))
    ):
        if (link.call_id, link.role) in have:
            session.delete(link)
        else:
            link.organisation_id = keep.id
            have.add((link.call_id, link.role))
    # places in applications
    for part in list(
        session.scalars(
            select(ApplicationPartner).where(ApplicationPartner.organisation_id == gone.id)
        )
    ):
        app = session.get_one(Application, part.application_id)
        mine = next((p for p in app.partners if p.organisation_id == keep.id), None)
        if mine is None:
            part.organisation = keep
        else:
            if part.role == "lead":
                mine.role = "lead"
            app.partners.remove(part)
        app.events.append(
            ApplicationEvent(
                author=" ".join((author or "").split())[:200] or "unknown",
                at=now,
                note=f"partner {gone.name} merged into {keep.name}",
            )
        )
    session.execute(
        update(PastProject)
        .where(PastProject.organisation_id == gone.id)
        .values(organisation_id=keep.id),
        execution_options={"synchronize_session": "fetch"},
    )
    session.execute(
        update(Organisation)
        .where(Organisation.merged_into_id == gone.id)
        .values(merged_into_id=keep.id),
        execution_options={"synchronize_session": "fetch"},
    )
    # names: nothing the merged entry was called is forgotten
    for name in [gone.name, *(gone.aliases or [])]:
        _append_alias(keep, str(name))
    if gone.acronym and gone.acronym != keep.acronym:
        if keep.acronym is None:
            keep.acronym = gone.acronym
        else:
            _append_alias(keep, gone.acronym)
    keep.languages = list(dict.fromkeys([*(keep.languages or []), *(gone.languages or [])]))
    if keep.kind in (None, "other") and gone.kind not in (None, "other"):
        keep.kind = gone.kind
    for attr in ("country", "contact", "website"):
        if not getattr(keep, attr) and getattr(gone, attr):
            setattr(keep, attr, getattr(gone, attr))
    if gone.notes and gone.notes.strip() not in (keep.notes or ""):
        keep.notes = (f"{keep.notes}\n\n" if keep.notes else "") + (
            f"(from {gone.name}) {gone.notes.strip()}" if keep.notes else gone.notes.strip()
        )
    gone.merged_into_id = keep.id
    gone.updated_at = keep.updated_at = now
    session.flush()
    return keep


# ------------------------------------------------------------------------------ seeding


def _operator(programme: str | None, funder: str | None) -> str | None:
    """The programme field when it names a body (a region, an agency, an embassy...) other
    than the funder, else None: "Horizon Europe" is a programme, not an operator."""
    if not programme:
        return None
    words = set(_ascii_fold(programme).split())
    if not words & _BODY_WORDS:
        return None
    if funder and fold_name(programme) == fold_name(funder):
        return None
    return programme


def seed_from_calls(session: Session, *, author: str | None = None) -> int:
    """Enter the stored calls' funders (and programme operators) in the directory and link
    them to their calls (roles funder, operator). Idempotent: returns the links made now (0
    on a second run). Aggregators' own names are not funders and are skipped."""
    from fundradar.pipeline.dedupe import effective_funder

    directory_ = Directory(session)
    have = set(session.execute(select(CallOrganisation.call_id, CallOrganisation.organisation_id,
                                      CallOrganisation.role)))  # fmt: skip
    made = 0
    seen: dict[str, int] = {}  # a name as the calls write it -> its organisation's id
    rows = session.execute(
        select(CallRow.id, CallRow.source, CallRow.funder, CallRow.programme).order_by(CallRow.id)
    )
    for call_id, source, funder, programme in rows.all():
        funder = effective_funder(source, funder)
        if funder and funder.strip().lower().endswith("(aggregator)"):
            funder = None  # an aggregator's own name, from a source since removed from config
        for role, name in (("funder", funder), ("operator", _operator(programme, funder))):
            if not name or not name.strip():
                continue
            org_id = seen.get(name)
            if org_id is None:  # calls repeat their funders: one lookup per distinct name
                org_id = find_or_create(session, name, origin="calls", author=author,
                                        directory_=directory_).id  # fmt: skip
                seen[name] = org_id
            if (call_id, org_id, role) in have:
                continue
            session.add(CallOrganisation(call_id=call_id, organisation_id=org_id, role=role))
            have.add((call_id, org_id, role))
            made += 1
    session.flush()
    return made


# ------------------------------------------------------------------------------ past projects


def add_past_project(
    session: Session, org_id: int, title: str, *, year: int | str | None = None,
    amount: Any = None, currency: str | None = None, notes: str | None = None,
) -> PastProject:  # fmt: skip
    """Record a joint project with an organisation from before fundradar (flushes).

    Validated like an application's amounts (0 or more, 2 decimals, an ISO 4217 currency
    with any amount); a year between 1900 and 2100."""
    from fundradar.exceptions import ApplicationError
    from fundradar.pipeline.partnerships.applications import check_currency, parse_amount

    org = get_organisation(session, org_id, follow=True)
    title = " ".join((title or "").split())
    if not title:
        raise PartnerError("a past project needs a title")
    if year is not None and str(year).strip():
        text = str(year).strip()
        if not text.isdigit() or not 1900 <= int(text) <= 2100:
            raise PartnerError(f"year {year!r} is not a year (write 2021)")
        year = int(text)
    else:
        year = None
    try:
        value = parse_amount(amount, "amount")
        code = check_currency(currency)
    except ApplicationError as exc:  # the same words, said of a partner
        raise PartnerError(str(exc)) from None
    if value is not None and code is None:
        raise PartnerError("give the currency of the amount too (--currency EUR)")
    project = PastProject(organisation_id=org.id, title=title, year=year, amount=value,
                          currency=code, notes=(notes or "").strip() or None)  # fmt: skip
    session.add(project)
    session.flush()
    return project


# ------------------------------------------------------------------------------ profile


@dataclass
class Profile:
    """An organisation with everything linked to it (and to the entries merged into it)."""

    organisation: Organisation
    calls: list[tuple[CallRow, str]] = field(default_factory=list)  # (call, funder|operator)
    applications: list[tuple[Application, str]] = field(default_factory=list)  # (app, role)
    past_projects: list[PastProject] = field(default_factory=list)
    merged: list[Organisation] = field(default_factory=list)  # entries merged into it


def profile(session: Session, org_id: int) -> Profile:
    """The organisation (a merged one gives its survivor) with its calls, applications and
    past projects."""
    org = get_organisation(session, org_id, follow=True)
    merged = list(
        session.scalars(
            select(Organisation)
            .where(Organisation.merged_into_id == org.id)
            .order_by(Organisation.id)
        )
    )
    ids = [org.id, *(m.id for m in merged)]
    calls = [
        (c, role)
        for c, role in session.execute(
            select(CallRow, CallOrganisation.role)
            .join(CallOrganisation, CallOrganisation.call_id == CallRow.id)
            .where(CallOrganisation.organisation_id.in_(ids))
            .order_by(CallRow.deadline.is_(None), CallRow.deadline, CallRow.id)
        )
    ]
    apps = [
        (a, role)
        for a, role in session.execute(
            select(Application, ApplicationPartner.role)
            .join(ApplicationPartner, ApplicationPartner.application_id == Application.id)
            .where(ApplicationPartner.organisation_id.in_(ids))
            .order_by(Application.id.desc())
        )
    ]
    past = list(
        session.scalars(
            select(PastProject)
            .where(PastProject.organisation_id.in_(ids))
            .order_by(PastProject.year.desc(), PastProject.id)
        )
    )
    return Profile(org, calls, apps, past, merged)
