"""The relevance scorer: how much a funding call matters to the OECS Commission (0-100).

Pure functions: no Scrapy, no database. The profile (`config/priorities.yaml`, loaded and
compiled by `pipeline.score.profile`) holds every word list and number; this module holds the
logic, which follows shared/design/DOMAIN.md: **eligibility gates, themes rank**.

0. Cues: words that change what the names near them mean. "X are not eligible" / "excluding X"
   remove X (an applicant type or a place) in either direction within its clause; "partners
   from X" makes X a partner, not the applicant; "such as X" makes the countries X examples.
   Names inside other names count for nothing ("Santo Domingo" is no health theme, "Asociación
   de Estados del Caribe" no NGO), nor does the funder's own name (its seat, its mandate).
1. Geography: the OECS, a member, the Eastern Caribbean (written for the OECS), or a wider
   region that includes the members (Caribbean, SIDS, ACP...). The best signal counts fully.
   A list of countries inside a wider region that leaves out every OECS place decides ("Latin
   America and the Caribbean: Bolivia, Cuba, Haiti...").
2. Themes: OECS priorities found in the text, strongest first, with diminishing returns.
3. Applicants: governments / regional bodies add points; routes led only by NGOs,
   universities or firms lose points; firms-only, individuals-only or closed groups are capped
   at "low".
4. Funder and instrument priors (Interreg Caraïbes +, ANR -, procurement and recruitment -).
5. Gates: restricted elsewhere (another region only, EU Member States, French labs, US domestic)
   -> score halved and capped at "low", eligible False. "High" needs OECS-specific geography, a
   real priority theme and the Commission or a government as a plausible applicant; a call
   without one of them stays at upper "medium". Written for the OECS area -> "medium" at least.

Every reason is a sentence that quotes the call's own words, listed in the order they weigh.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from fundradar.pipeline.record import Call
from fundradar.pipeline.score.profile import (
    Analysis,
    Hit,
    Profile,
    ProfileError,
    Region,
    fold,
    load_profile,
    surface,
)

__all__ = ["Profile", "ProfileError", "ScoreResult", "call_text", "load_profile", "score_call"]

# fields read from a Mapping, in the order they are joined; aliases share a slot
_SUMMARY_KEYS = ("summary", "text", "description")
_ELIGIBILITY_KEYS = ("eligibility", "eligibility_text")


@dataclass(frozen=True)
class ScoreResult:
    score: int  # 0-100
    band: str  # high | medium | low | none
    eligible: bool | None  # False: restricted elsewhere; True: OECS clearly eligible; None: unknown
    themes: list[str]  # theme ids, strongest first
    reasons: list[str]  # human sentences in the order they weigh, quoting the call's words
    countries: list[str]  # OECS members/associates named (canonical English names)
    # every contribution for `fundradar score --explain`: (points or None for a gate or a note,
    # the reason), then the sum before the gates and the score after them; not in to_dict()
    explained: tuple[tuple[float | None, str], ...] = field(default=(), compare=False, repr=False)
    raw: float = field(default=0.0, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["explained"], out["raw"]
        return out


@dataclass(frozen=True)
class _Reason:
    points: float
    text: str


@dataclass
class _Findings:
    """What the text says, layer by layer, with excluded and unresolved mentions removed."""

    reasons: list[_Reason] = field(default_factory=list)
    gate: list[str] = field(default_factory=list)  # restriction / closed-group sentences
    notes: list[str] = field(default_factory=list)  # caps and floors, shown last
    restricted: bool = False
    closed: bool = False
    # where the call is for: "oecs" (the OECS, a sovereign or British member, the Eastern
    # Caribbean, or a French instrument pairing its associates with Caribbean partners),
    # "associate" (Martinique, Guadeloupe or Saint-Martin alone: a local call), "overseas" (those
    # named among all French overseas territories), "wider" (a region that includes the OECS),
    # or "none"
    tier: str = "none"
    wider: set[str] = field(default_factory=set)
    public_applicants: bool = False
    partner_route: bool = False  # only NGOs, universities or firms lead
    partner_region: bool = False  # only a grouping no OECS member belongs to (the EU OCTs)
    associates_only: bool = False  # an EU/France-wide call the French associates may enter
    countries: list[str] = field(default_factory=list)
    themes: list[str] = field(default_factory=list)
    theme_points: float = 0.0
    cap: float = 100.0  # from instruments such as procurement
    overseas_list: bool = False  # French associates named only in a list of all overseas France

    @property
    def oecs_named(self) -> bool:
        """Any OECS place named, the French associates included."""
        return self.tier in ("oecs", "associate", "overseas")


# ------------------------------------------------------------------------------------------------
# Input
# ------------------------------------------------------------------------------------------------


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple | set):
        return ", ".join(str(v) for v in value if v is not None)
    return str(value)


def _parts(call: Call | Mapping[str, Any]) -> tuple[list[str], str]:
    """(text parts except the funder, funder) from a Call or a score-contract mapping."""
    if isinstance(call, Call):
        parts = [
            call.title,
            call.summary,
            call.eligibility_text,
            call.eligible_countries,
            call.eligible_applicants,
            call.programme,
            call.instrument,
        ]
        return [_as_text(p) for p in parts], _as_text(call.funder)
    if not isinstance(call, Mapping):
        raise TypeError(f"score_call takes a Call or a mapping, got {type(call).__name__}")
    summary = next((call[k] for k in _SUMMARY_KEYS if call.get(k)), None)
    eligibility = next((call[k] for k in _ELIGIBILITY_KEYS if call.get(k)), None)
    parts = [
        call.get("title"),
        summary,
        eligibility,
        call.get("eligible_countries"),
        call.get("eligible_applicants"),
        call.get("programme"),
        call.get("instrument"),
    ]
    return [_as_text(p) for p in parts], _as_text(call.get("funder"))


def call_text(call: Call | Mapping[str, Any]) -> tuple[str, int]:
    """The text the scorer reads, and the offset where the funder's name starts.

    Parts are joined by line breaks so a sentence never runs from one field into the next. The
    funder comes last: its home country is not where the call is open ("High Commission of Canada
    in Barbados" does not restrict a call to Barbados), so place names there never gate a call.

    The title comes first and every other line follows in one canonical order (sorted by its
    folded text), whatever the order of the parts: a merged call whose summary holds its
    French, English and Spanish versions scores the same, with the same reasons quoting the
    same words, in whichever order its sightings or languages were joined. Nothing is lost by
    it: a line break ends a sentence for the matcher, so no phrase, cue or clause spans two
    lines, and each line keeps its own order of words.
    """
    parts, funder = _parts(call)
    title, rest = (parts[0] or "").strip(), parts[1:]
    lines = [x.strip() for part in rest for x in (part or "").splitlines() if x.strip()]
    lines.sort(key=lambda x: (fold(x).lower(), x))
    body = "\n".join(([title] if title else []) + lines)
    if not funder.strip():
        return body, len(body) + 1
    return body + "\n" + funder.strip(), len(body) + 1


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------


def _quotes(hits: list[Hit], limit: int = 3) -> str:
    """(“a”, “b”) with each distinct wording once, in order of appearance."""
    seen: list[str] = []
    for h in sorted(hits, key=lambda x: x.start):
        q = " ".join(h.quote.split())
        if q.lower() not in (s.lower() for s in seen):
            seen.append(q)
        if len(seen) == limit:
            break
    return "(" + ", ".join(f"“{q}”" for q in seen) + ")"


def _cap_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _group(hits: list[Hit]) -> dict[str, list[Hit]]:
    out: dict[str, list[Hit]] = {}
    for h in hits:
        out.setdefault(h.entry.key, []).append(h)
    return out


def _resolve_ambiguous(hits: list[Hit], p: Profile) -> list[Hit]:
    """Keep an ambiguous name ("Granada", "Antigua") only when the call names another place of
    the same side (OECS / wider region, or elsewhere) without ambiguity."""
    oecs_side = {"org", "member", "region"}

    def ambiguous(h: Hit) -> bool:
        return h.entry.ambiguous and surface(h.quote) in p.ambiguous_forms

    sure_oecs = any(h.entry.kind in oecs_side and not ambiguous(h) for h in hits)
    sure_elsewhere = any(h.entry.kind == "elsewhere" and not ambiguous(h) for h in hits)
    out = []
    for h in hits:
        if ambiguous(h):
            if h.entry.kind in oecs_side and not sure_oecs:
                continue
            if h.entry.kind == "elsewhere" and not sure_elsewhere:
                continue
        out.append(h)
    return out


# ------------------------------------------------------------------------------------------------
# Cues: exclusion, partner and example scopes
# ------------------------------------------------------------------------------------------------

# a partner cue reaches only a few words: "In partnership with a public body, NGOs may apply"
# keeps NGOs as the applicant
_PARTNER_REACH = 60
_COLON_NEXT = re.compile(r"[^\S\n]*:")
_WORD_CHAR = re.compile(r"[^\W_]")

Span = tuple[int, int]


@dataclass
class _Scopes:
    """Character spans that each kind of cue points at (exclusion, partner, example)."""

    spans: dict[str, list[Span]] = field(default_factory=dict)

    def covers(self, kind: str, hit: Hit) -> bool:
        return any(a <= hit.start and hit.end <= b for a, b in self.spans.get(kind, ()))


def _scopes(text: str, found: Analysis, p: Profile) -> _Scopes:
    """Where each cue reaches, in either direction, never past its clause.

    A `before` cue ("excluding") reaches forward to the end of its clause; an `after` cue ("are
    not eligible") back to the start of its clause, unless it opens the clause or a colon follows
    it ("Not eligible: start-ups; NGOs."), when it reaches forward to the end of the sentence.
    """
    cues = found.layer("cue")
    out = _Scopes()
    if not cues:
        return out
    bounds = found.bounds  # offsets where sentences end
    puncts: list[int] = []  # ; and : (a list after a colon is still the same sentence)
    words: list[Span] = []  # but, however, mais, pero...
    if p.clause_break is not None:
        for m in p.clause_break.finditer(fold(text)):
            if m.group() in ";:":
                puncts.append(m.start())
            else:
                words.append(m.span())

    for cue in cues:
        i = bisect.bisect_right(bounds, cue.start)
        sentence_start = bounds[i - 1] + 1 if i else 0
        sentence_end = bounds[i] if i < len(bounds) else len(text)
        clause_start = max(
            [sentence_start]
            + [x + 1 for x in puncts if sentence_start <= x < cue.start]
            + [b for a, b in words if sentence_start <= a and b <= cue.start]
        )
        word_break = min([a for a, _ in words if cue.end <= a < sentence_end] + [sentence_end])
        clause_end = min([x for x in puncts if cue.end <= x < sentence_end] + [word_break])

        forward = cue.entry.kind == "before"
        colon = _COLON_NEXT.match(text, cue.end) is not None
        if not forward and (colon or not _WORD_CHAR.search(text, clause_start, cue.start)):
            forward = True
        if forward:
            # "Not eligible: a; b; c." -- after a colon the list runs to the sentence's end
            end = word_break if colon else clause_end
            span = (cue.end, end)
            if cue.entry.key == "partner":
                span = (cue.end, min(end, cue.end + _PARTNER_REACH))
        else:
            span = (clause_start, cue.start)
            if cue.entry.key == "partner":
                span = (max(clause_start, cue.start - _PARTNER_REACH), cue.start)
        out.spans.setdefault(cue.entry.key, []).append(span)
    return out


def _inside(hit: Hit, names: list[Span]) -> bool:
    """The hit overlaps one of the spans (a place or proper name that holds its words)."""
    return any(hit.start < b and a < hit.end for a, b in names)


# ------------------------------------------------------------------------------------------------
# The four assessments
# ------------------------------------------------------------------------------------------------


# between a wider region and a place it is narrowed to: only "of", "in", "du"... ("États
# insulaires du Pacifique", "SIDS in the Pacific", "Pacific SIDS"); never "and" or a comma,
# which would join two regions rather than narrow one
_NARROWING_GAP = re.compile(
    r"[\s'-]*(?:(?:of|in|the|du|de|des|del|la|les|el|d|l|en|dans|from)\b[\s'-]*)*",
    re.IGNORECASE,
)


def _narrowed(text: str, hits: list[Hit], p: Profile) -> list[Hit]:
    """Drop wider-region mentions narrowed to a place elsewhere: "island states of the Pacific"
    is the Pacific, not every small island state."""
    elsewhere = [h for h in hits if h.entry.kind == "elsewhere"]
    if not elsewhere:
        return hits

    def next_to(a: Hit, b: Hit) -> bool:  # a just before b
        if not a.end <= b.start <= a.end + 20:
            return False
        return _NARROWING_GAP.fullmatch(text[a.end : b.start]) is not None

    out = []
    for h in hits:
        if (
            h.entry.kind == "region"
            and p.regions[h.entry.key].scope == "wider"
            and any(next_to(h, e) or next_to(e, h) for e in elsewhere)
        ):
            continue
        out.append(h)
    return out


def _eligible_places(hits: list[Hit], text: str, p: Profile) -> list[Hit]:
    """Places outside the OECS that say where the call is open, not who pays for it: places in
    a donor phrase ("Embassy of Japan", "Canada Fund", "a UK Government scheme") are dropped."""
    out = []
    for h in hits:
        if p.donor_before and p.donor_before.search(fold(text[max(0, h.start - 40) : h.start])):
            continue
        if p.donor_after and p.donor_after.search(fold(text[h.end : h.end + 40])):
            continue
        out.append(h)
    return out


def _names(names: list[str]) -> str:
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]


def _member_sentence(names: list[str], p: Profile) -> str:
    """Who the call names, protocol members and associate members kept apart: an associate
    (Anguilla, the BVI, Martinique...) is never called an "OECS member state"."""
    protocol = [n for n in names if p.members[n].status == "member"]
    associates = [n for n in names if p.members[n].status == "associate"]
    if protocol and associates:
        return (
            f"Open to OECS member states: {', '.join(protocol)}; and to OECS associate members: "
            f"{', '.join(associates)}"
        )
    if protocol:
        return f"Open to OECS member states: {', '.join(protocol)}"
    return f"Open to OECS associate members (names {', '.join(associates)})"


def _region_sentence(region: Region, p: Profile) -> str:
    """A wider grouping and the OECS members its own definition brings in, protocol members and
    associates apart: "the UK Overseas Territories: includes OECS member state Montserrat and
    OECS associate members Anguilla and British Virgin Islands"."""
    if region.oecs_role == "partner":
        return f"{region.label}: no OECS member belongs to it, so the OECS only as a partner"
    if not region.members:
        return region.label
    every: dict[str, list[str]] = {"member": [], "associate": []}
    for name, member in p.members.items():
        every[member.status].append(name)
    parts = []
    # protocol members and associates apart: an associate is never called a member state
    for status, one, many in (
        ("member", "OECS member state", "OECS member states"),
        ("associate", "OECS associate member", "OECS associate members"),
    ):
        named = [n for n in every[status] if n in region.members]
        if named and len(named) == len(every[status]):
            parts.append(f"all {len(named)} {many}")
        elif named:
            parts.append(f"{one if len(named) == 1 else many} {_names(named)}")
    return f"{region.label}: includes {' and '.join(parts)}"


def _geography(
    text: str, hits: list[Hit], scopes: _Scopes, funders: set[str], p: Profile, f: _Findings
) -> None:
    geo, s = p.config.geography, p.scoring
    hits = _resolve_ambiguous([h for h in hits if h.entry.kind != "ignore"], p)
    hits = _narrowed(text, hits, p)
    by_kind: dict[str, list[Hit]] = {}
    for h in hits:
        by_kind.setdefault(h.entry.kind, []).append(h)

    signals: list[_Reason] = []
    if org := by_kind.get("org"):
        signals.append(
            _Reason(geo.organisation.points, f"Written for {geo.organisation.label} {_quotes(org)}")
        )
    french_only = False
    if members := _group(by_kind.get("member", [])):
        names = sorted(members, key=lambda n: members[n][0].start)
        f.countries = names
        sovereign = [n for n in names if not p.members[n].french]
        french_only = not sovereign
        base = geo.members.points if sovereign else geo.members.french_associate_points
        overseas = [] if sovereign else _overseas_elsewhere(text, by_kind, p)
        if overseas:
            # Guadeloupe and Martinique listed with La Réunion or Mayotte: a French national
            # call open to every overseas territory, not one written for the Caribbean
            base = geo.members.french_overseas_list_points
            f.overseas_list = True
        extra = min(
            geo.members.extra_member_max, geo.members.extra_member_points * (len(names) - 1)
        )
        member_hits = [members[n][0] for n in names]
        if overseas:
            sentence = (
                f"Names {', '.join(names)} among French overseas territories in other oceans: "
                f"a French national call {_quotes(member_hits + overseas, 4)}"
            )
        else:
            sentence = f"{_member_sentence(names, p)} {_quotes(member_hits, 4)}"
        signals.append(_Reason(base + extra, sentence))
    for rid, rhits in _group(by_kind.get("region", [])).items():
        region = p.regions[rid]
        if region.scope == "oecs":
            signals.append(_Reason(region.points, f"Written for {region.label} {_quotes(rhits)}"))
        else:
            f.wider.add(rid)
            signals.append(
                _Reason(region.points, f"Covers {_region_sentence(region, p)} {_quotes(rhits)}")
            )

    regions = [p.regions[h.entry.key] for h in by_kind.get("region", [])]
    # Interreg Caraïbes, the FCR: French-territory instruments that pair Martinique, Guadeloupe
    # or Saint-Martin with Caribbean partners, the OECS states first among them
    partnering = any(p.funders[x].oecs_partners for x in funders) and (
        french_only or any(r.caribbean for r in regions)
    )
    if (
        by_kind.get("org")
        or any(r.scope == "oecs" for r in regions)
        or (members and not french_only)
    ):
        f.tier = "oecs"
    elif french_only and f.overseas_list:
        f.tier = "overseas"
    elif partnering:
        f.tier = "oecs"
        f.notes.append(
            "An instrument that pairs the French associate members with Caribbean partners: "
            "cooperation with the OECS"
        )
    elif french_only:
        f.tier = "associate"  # Martinique, Guadeloupe or Saint-Martin alone: a local call
    elif signals:
        f.tier = "wider"
    if f.tier == "wider" and f.wider and all(p.regions[r].oecs_role == "partner" for r in f.wider):
        f.partner_region = True  # an OCT-only call: no OECS member is an OCT since 2020

    # the best geography signal counts fully, the others only add a little, and geography
    # together stays under a ceiling: themes and applicants must rank the calls of one place
    signals.sort(key=lambda r: -r.points)
    room = s.geography_max_points
    for i, r in enumerate(signals):
        points = min(room, r.points if i == 0 else r.points * s.second_region_factor)
        room -= points
        f.reasons.append(_Reason(points, r.text))

    _restrictions(text, by_kind, scopes, p, f)


def _funder_seat(hits: list[Hit], p: Profile, f: _Findings) -> None:
    """A call whose only place is in its funder's name ("OECS Commission", "Caribbean
    Development Bank") is probably for that area, but not written for the OECS: half the points
    of the place, at most the wider-region cap, never a restriction."""
    geo = p.config.geography
    hits = _resolve_ambiguous([h for h in hits if h.entry.kind in ("org", "member", "region")], p)
    if not hits:
        return
    points = []
    for h in hits:
        if h.entry.kind == "org":
            points.append(geo.organisation.points)
        elif h.entry.kind == "member":
            points.append(geo.members.points)
        else:
            points.append(p.regions[h.entry.key].points)
    f.tier = "wider"
    f.reasons.append(
        _Reason(
            max(points) / 2,
            f"Only the funder's name places the call, not its text {_quotes(hits)}",
        )
    )


def _overseas_elsewhere(text: str, by_kind: dict[str, list[Hit]], p: Profile) -> list[Hit]:
    """Places outside the Caribbean named in the call itself (not as the donor)."""
    return [
        h
        for h in _eligible_places(by_kind.get("elsewhere", []), text, p)
        if not p.elsewhere[h.entry.key].caribbean
    ]


def _restrictions(
    text: str, by_kind: dict[str, list[Hit]], scopes: _Scopes, p: Profile, f: _Findings
) -> None:
    present = set(f.wider)
    if f.tier == "oecs":
        present.add("oecs")
    elif f.oecs_named:
        # Martinique, Guadeloupe, Saint-Martin are EU outermost regions and overseas France
        present.add("outermost_regions")
    for rid, rhits in _group(by_kind.get("restriction", [])).items():
        restriction = p.restrictions[rid]
        if present & set(restriction.lifted_by):
            continue
        if present & set(restriction.opened_to_associates_by):
            f.associates_only = True
            f.notes.append(
                f"Restricted to {restriction.label}, which the French associate members may "
                f"enter: at most low {_quotes(rhits)}"
            )
            continue
        f.restricted = True
        f.gate.append(f"Restricted to {restriction.label}: not eligible {_quotes(rhits)}")

    elsewhere = _eligible_places(by_kind.get("elsewhere", []), text, p)
    if not elsewhere or f.oecs_named:
        return
    # countries named outside the OECS (not as examples) decide over a wider region that
    # contains them: "Latin America and the Caribbean: Bolivia, Cuba, Haiti" is for those
    # countries; "SIDS, LDCs and African States" (regions) or "such as Jamaica" are not a list
    listed = {h.entry.key for h in elsewhere if h.entry.country and not scopes.covers("example", h)}
    open_regions = [r for r in f.wider if not listed & set(p.regions[r].contains)]
    if not open_regions:
        labels = "; ".join(dict.fromkeys(p.elsewhere[h.entry.key].label for h in elsewhere))
        f.restricted = True
        f.gate.append(
            f"Limited to places outside the OECS ({labels}): not eligible {_quotes(elsewhere)}"
        )


def _applicants(hits: list[Hit], partners: list[Hit], p: Profile, f: _Findings) -> None:
    if partners:
        labels = " and ".join(dict.fromkeys(p.applicants[h.entry.key].label for h in partners))
        f.notes.append(f"Named as partners, not as the applicant: {labels} {_quotes(partners)}")
    groups = _group(hits)
    if not groups:
        return
    found = {aid: p.applicants[aid] for aid in groups}
    kinds = {a.kind for a in found.values()}
    f.public_applicants = "public" in kinds
    ordered = sorted(found.values(), key=lambda a: -a.points)

    closed = [a for a in ordered if a.kind == "closed"]
    if closed or kinds <= {"private", "individual"}:
        who = closed or ordered
        f.closed = True
        quoted = [h for a in who for h in groups[a.id]]
        f.gate.append(
            f"Only {' and '.join(a.label for a in who)} may apply: at most low {_quotes(quoted)}"
        )
        return
    if not kinds & {"public", "local"}:
        # NGOs, universities or firms lead: governments and the Commission at most as partners
        f.partner_route = True
        points = max(a.points for a in ordered) + p.scoring.only_civil_or_research_points
        quoted = [h for a in ordered for h in groups[a.id]]
        labels = " and ".join(a.label for a in ordered)
        f.reasons.append(
            _Reason(
                points,
                f"Only {labels} may apply: governments at most as partners {_quotes(quoted)}",
            )
        )
        return
    best = ordered[0]
    shown = [a for a in ordered if a.points > 0 and a.kind in ("public", "local")] or [best]
    quoted = [h for a in shown for h in groups[a.id]]
    f.reasons.append(
        _Reason(best.points, f"Open to {' and '.join(a.label for a in shown)} {_quotes(quoted)}")
    )


def _themes(hits: list[Hit], p: Profile, f: _Findings) -> None:
    s = p.scoring
    strengths: list[tuple[float, str, list[Hit]]] = []
    for tid, thits in _group(hits).items():
        distinct = len({id(h.entry) for h in thits})
        extra = min(distinct - 1, s.theme_extra_terms_max) * s.theme_extra_term_factor
        strengths.append((p.themes[tid].weight * (1 + extra), tid, thits))
    strengths.sort(key=lambda x: (-x[0], x[2][0].start))
    points = []
    for i, (strength, _, _) in enumerate(strengths):
        decay = s.theme_decay[min(i, len(s.theme_decay) - 1)]
        points.append(s.theme_unit_points * strength * decay)
    total = sum(points)
    scale = min(1.0, s.theme_max_points / total) if total else 1.0
    f.theme_points = total * scale
    for pts, (_, tid, thits) in zip(points, strengths, strict=True):
        f.themes.append(tid)
        f.reasons.append(_Reason(pts * scale, f"Theme: {p.themes[tid].label} {_quotes(thits)}"))


def _funders(hits: list[Hit], p: Profile, f: _Findings) -> None:
    for fid, fhits in _group(hits).items():
        funder = p.funders[fid]
        f.reasons.append(_Reason(funder.points, f"{_cap_first(funder.label)} {_quotes(fhits, 1)}"))
        if funder.cap is not None:
            f.cap = min(f.cap, funder.cap)


# ------------------------------------------------------------------------------------------------
# Scoring
# ------------------------------------------------------------------------------------------------


def _gates(raw: float, p: Profile, f: _Findings) -> float:
    """The score after the eligibility gates, caps and floor; notes say which ones bit."""
    s, bands = p.scoring, p.bands
    if f.restricted:
        return min(max(raw, 0.0) * s.restricted_factor, s.restricted_cap)
    if f.closed:
        return min(raw, s.closed_group_cap)
    if f.tier == "none":
        if raw > s.no_geography_cap:
            # eligibility gates: a call that names no place at all may be domestic anywhere
            f.notes.append("No place or region named: eligibility unknown, so at most low")
        return min(raw, s.no_geography_cap)

    caps: list[tuple[float, str]] = []
    if f.associates_only:
        caps.append((s.associates_only_cap, ""))  # its note is written with the restriction
    if f.tier == "wider":
        caps.append((s.wider_region_cap, "Open to a wider region, not written for the OECS"))
    elif f.tier in ("associate", "overseas"):
        caps.append(
            (s.associate_local_cap, "A call of the French associate members without OECS partners")
        )
    if f.partner_region:
        caps.append(
            (
                s.partner_only_region_cap,
                "Open only to a grouping no OECS member belongs to: the OECS at most as a partner",
            )
        )
    if f.partner_route:
        caps.append((s.partner_route_cap, "Governments and the Commission at most as partners"))
    if f.theme_points < s.high_theme_min_points:
        caps.append((s.no_theme_cap, "No clear OECS priority theme"))
    score = raw
    for cap, why in sorted(caps):
        if score > cap:
            score = cap
            if why:
                f.notes.append(f"{why}: at most {p.band(cap)}")
    if f.tier in ("oecs", "associate") and not f.associates_only and score < bands.medium:
        score = bands.medium
        f.notes.append("Kept at medium: written for the OECS area, even with a modest theme")
    return score


def score_call(call: Call | Mapping[str, Any], profile: Profile | None = None) -> ScoreResult:
    """Score one call (a pipeline.record.Call or a mapping with the score-contract fields)."""
    p = profile or load_profile()
    text, funder_at = call_text(call)
    if not text.strip():
        return ScoreResult(0, "none", None, [], ["No text to score"], [])
    found = p.matcher.analyse(text)
    scopes = _scopes(text, found, p)

    # names that hold other words: a theme or applicant word inside a place or a proper name
    # ("Santo Domingo", "Asociación de Estados del Caribe") is part of that name
    geo_all = found.layer("geo")
    places = [(h.start, h.end) for h in geo_all if h.entry.kind != "restriction"]
    proper = [(h.start, h.end) for h in geo_all if h.entry.kind == "ignore"]

    def body(layer: str) -> list[Hit]:
        # the funder's own name is who pays, not where the call is open, what it is about or
        # who may apply ("U.S. Embassy Bridgetown (Barbados, the Eastern Caribbean and the OECS)")
        return [h for h in found.layer(layer) if h.start < funder_at]

    geo = [h for h in body("geo") if not scopes.covers("exclusion", h)]
    applicants, partners = [], []
    for h in body("applicant"):
        if _inside(h, places) or scopes.covers("exclusion", h):
            continue
        (partners if scopes.covers("partner", h) else applicants).append(h)
    themes = [h for h in body("theme") if not _inside(h, places)]
    funder_hits = [h for h in found.layer("funder") if not _inside(h, proper)]

    f = _Findings()
    _funders(funder_hits, p, f)
    _geography(text, geo, scopes, {h.entry.key for h in funder_hits}, p, f)
    if f.tier == "none" and not f.restricted:
        _funder_seat([h for h in found.layer("geo") if h.start >= funder_at], p, f)
    _applicants(applicants, partners, p, f)
    _themes(themes, p, f)

    raw = sum(r.points for r in f.reasons)
    score = _gates(raw, p, f)
    score_int = max(0, min(100, round(min(score, f.cap))))

    if f.restricted:
        eligible: bool | None = False
    elif f.closed:
        eligible = None
    elif f.oecs_named or (f.wider and f.public_applicants):
        eligible = True
    else:
        eligible = None

    ranked = sorted(f.reasons, key=lambda r: -abs(r.points))
    reasons = f.gate + [r.text for r in ranked] + f.notes
    if not reasons:
        reasons = ["Nothing in the OECS profile: no OECS place, priority theme or known funder"]
    explained = (
        [(None, g) for g in f.gate]
        + [(r.points, r.text) for r in ranked]
        + [(None, n) for n in f.notes]
    )
    return ScoreResult(
        score=score_int,
        band=p.band(score_int),
        eligible=eligible,
        themes=f.themes,
        reasons=reasons,
        countries=f.countries,
        explained=tuple(explained),
        raw=raw,
    )
