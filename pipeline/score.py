"""The relevance scorer: how much a funding call matters to the OECS Commission (0-100).

Pure functions: no Scrapy, no database. The profile (`config/priorities.yaml`, loaded and
compiled by `pipeline.score_profile`) holds every word list and number; this module holds the
logic, which follows shared/design/DOMAIN.md: **eligibility gates, themes rank**.

1. Geography: the OECS, a member, the Eastern Caribbean (written for the OECS), or a wider
   region that includes the members (Caribbean, SIDS, ACP...). The best signal counts fully.
2. Themes: OECS priorities found in the text, strongest first, with diminishing returns.
3. Applicants: governments / regional bodies add points; NGO- or university-only routes lose a
   few; firms-only, individuals-only or closed groups are capped at "low".
4. Funder and instrument priors (Interreg Caraïbes +, ANR -, procurement -).
5. Gates: restricted elsewhere (another region only, EU Member States, French labs, US domestic)
   -> score halved and capped at "low", eligible False. Written for the OECS area -> "medium" at
   least.

Every reason is a sentence that quotes the call's own words, listed in the order they weigh.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from pipeline.record import Call
from pipeline.score_profile import Analysis, Hit, Profile, ProfileError, fold, load_profile

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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Reason:
    points: float
    text: str


@dataclass
class _Findings:
    """What the text says, layer by layer, with excluded and unresolved mentions removed."""

    reasons: list[_Reason] = field(default_factory=list)
    gate: list[str] = field(default_factory=list)  # restriction / closed-group sentences
    restricted: bool = False
    closed: bool = False
    oecs_specific: bool = False
    any_geography: bool = False  # the OECS, a member or any region that includes them
    wider: set[str] = field(default_factory=set)
    public_applicants: bool = False
    countries: list[str] = field(default_factory=list)
    themes: list[str] = field(default_factory=list)
    cap: float = 100.0  # from instruments such as procurement
    overseas_list: bool = False  # French associates named only in a list of all overseas France


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
    """
    parts, funder = _parts(call)
    body = "\n".join(p.strip() for p in parts if p and p.strip())
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


def _excluded(found: Analysis) -> set[int]:
    """ids of hits that follow an exclusion cue ("Not eligible: ...") in the same sentence."""
    first_cue: dict[int, int] = {}
    for cue in found.layer("cue"):
        first_cue[cue.sentence] = min(cue.start, first_cue.get(cue.sentence, cue.start))
    out: set[int] = set()
    for layer in ("geo", "theme", "applicant", "funder"):
        for h in found.layer(layer):
            cue_at = first_cue.get(h.sentence)
            if cue_at is not None and h.start > cue_at:
                out.add(id(h))
    return out


def _group(hits: list[Hit]) -> dict[str, list[Hit]]:
    out: dict[str, list[Hit]] = {}
    for h in hits:
        out.setdefault(h.entry.key, []).append(h)
    return out


def _resolve_ambiguous(hits: list[Hit]) -> list[Hit]:
    """Keep an ambiguous name ("Granada", "Antigua") only when the call names another place of
    the same side (OECS / wider region, or elsewhere) without ambiguity."""
    oecs_side = {"org", "member", "region"}
    sure_oecs = any(h.entry.kind in oecs_side and not h.entry.ambiguous for h in hits)
    sure_elsewhere = any(h.entry.kind == "elsewhere" and not h.entry.ambiguous for h in hits)
    out = []
    for h in hits:
        if h.entry.ambiguous:
            if h.entry.kind in oecs_side and not sure_oecs:
                continue
            if h.entry.kind == "elsewhere" and not sure_elsewhere:
                continue
        out.append(h)
    return out


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


def _eligible_places(hits: list[Hit], text: str, funder_at: int, p: Profile) -> list[Hit]:
    """Places outside the OECS that say where the call is open, not who pays for it.

    Dropped: places named in the funder field (its seat: "High Commission of Canada in
    Barbados"), and places in a donor phrase ("Embassy of Japan", "Canada Fund").
    """
    out = []
    for h in hits:
        if h.start >= funder_at:
            continue
        if p.donor_before and p.donor_before.search(fold(text[max(0, h.start - 40) : h.start])):
            continue
        if p.donor_after and p.donor_after.search(fold(text[h.end : h.end + 40])):
            continue
        out.append(h)
    return out


def _overseas_elsewhere(
    text: str, by_kind: dict[str, list[Hit]], funder_at: int, p: Profile
) -> list[Hit]:
    """Places outside the Caribbean named in the call itself (not the funder's seat)."""
    return [
        h
        for h in _eligible_places(by_kind.get("elsewhere", []), text, funder_at, p)
        if not p.elsewhere[h.entry.key].caribbean
    ]


def _geography(text: str, hits: list[Hit], funder_at: int, p: Profile, f: _Findings) -> None:
    geo = p.config.geography
    hits = _resolve_ambiguous([h for h in hits if h.entry.kind != "ignore"])
    hits = _narrowed(text, hits, p)
    by_kind: dict[str, list[Hit]] = {}
    for h in hits:
        by_kind.setdefault(h.entry.kind, []).append(h)

    signals: list[_Reason] = []
    if org := by_kind.get("org"):
        signals.append(
            _Reason(geo.organisation.points, f"Written for {geo.organisation.label} {_quotes(org)}")
        )
    if members := _group(by_kind.get("member", [])):
        names = sorted(members, key=lambda n: members[n][0].start)
        f.countries = names
        sovereign = [n for n in names if not p.members[n].french]
        base = geo.members.points if sovereign else geo.members.french_associate_points
        overseas = [] if sovereign else _overseas_elsewhere(text, by_kind, funder_at, p)
        if overseas:
            # Guadeloupe and Martinique listed with La Réunion or Mayotte: a French national
            # call open to every overseas territory, not one written for the Caribbean
            base = geo.members.french_overseas_list_points
            f.overseas_list = True
        extra = min(
            geo.members.extra_member_max, geo.members.extra_member_points * (len(names) - 1)
        )
        member_hits = [members[n][0] for n in names]
        if sovereign:
            sentence = f"Open to OECS member states: {', '.join(names)} {_quotes(member_hits, 4)}"
        elif overseas:
            sentence = (
                f"Names {', '.join(names)} among French overseas territories in other oceans: "
                f"a French national call {_quotes(member_hits + overseas, 4)}"
            )
        else:
            sentence = (
                "Names OECS associate members (French territories): "
                f"{', '.join(names)} {_quotes(member_hits, 4)}"
            )
        signals.append(_Reason(base + extra, sentence))
    for rid, rhits in _group(by_kind.get("region", [])).items():
        region = p.regions[rid]
        if region.scope == "oecs":
            signals.append(_Reason(region.points, f"Written for {region.label} {_quotes(rhits)}"))
        else:
            f.wider.add(rid)
            signals.append(_Reason(region.points, f"Covers {region.label} {_quotes(rhits)}"))
    f.oecs_specific = bool(by_kind.get("org") or by_kind.get("member")) or any(
        p.regions[h.entry.key].scope == "oecs" for h in by_kind.get("region", [])
    )

    f.any_geography = bool(signals)
    # the best geography signal counts fully, the others only add a little
    signals.sort(key=lambda r: -r.points)
    factor = p.scoring.second_region_factor
    for i, r in enumerate(signals):
        f.reasons.append(r if i == 0 else _Reason(r.points * factor, r.text))

    _restrictions(text, by_kind, funder_at, p, f)


def _restrictions(
    text: str, by_kind: dict[str, list[Hit]], funder_at: int, p: Profile, f: _Findings
) -> None:
    present = set(f.wider) | ({"oecs"} if f.oecs_specific else set())
    for rid, rhits in _group(by_kind.get("restriction", [])).items():
        restriction = p.restrictions[rid]
        if not present & set(restriction.lifted_by):
            f.restricted = True
            f.gate.append(f"Restricted to {restriction.label}: not eligible {_quotes(rhits)}")

    elsewhere = _eligible_places(by_kind.get("elsewhere", []), text, funder_at, p)
    if not elsewhere or f.oecs_specific:
        return
    groups = {h.entry.key for h in elsewhere}
    all_caribbean = all(p.elsewhere[g].caribbean for g in groups)

    def outweighed(region_id: str) -> bool:
        rule = p.regions[region_id].outweighed_by
        return (rule == "caribbean_countries" and all_caribbean) or (
            rule == "one_region" and len(groups) == 1
        )

    if all(outweighed(r) for r in f.wider):
        # no wider region, or only mentions that the named places outweigh: "Caribbean" with
        # Jamaica alone, "SIDS" with Pacific countries alone -> the call is for those places
        labels = "; ".join(dict.fromkeys(p.elsewhere[h.entry.key].label for h in elsewhere))
        f.restricted = True
        f.gate.append(
            f"Limited to places outside the OECS ({labels}): not eligible {_quotes(elsewhere)}"
        )


def _applicants(hits: list[Hit], p: Profile, f: _Findings) -> None:
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
    if kinds <= {"civil", "research"}:
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


def score_call(call: Call | Mapping[str, Any], profile: Profile | None = None) -> ScoreResult:
    """Score one call (a pipeline.record.Call or a mapping with the score-contract fields)."""
    p = profile or load_profile()
    text, funder_at = call_text(call)
    if not text.strip():
        return ScoreResult(0, "none", None, [], ["No text to score"], [])
    found = p.matcher.analyse(text)
    dropped = _excluded(found)

    def kept(layer: str) -> list[Hit]:
        return [h for h in found.layer(layer) if id(h) not in dropped]

    f = _Findings()
    _geography(text, kept("geo"), funder_at, p, f)
    _applicants(kept("applicant"), p, f)
    _themes(kept("theme"), p, f)
    _funders(kept("funder"), p, f)

    raw = sum(r.points for r in f.reasons)
    s, bands = p.scoring, p.bands
    notes: list[str] = []
    if f.restricted:
        score = min(max(raw, 0.0) * s.restricted_factor, s.restricted_cap)
    elif f.closed:
        score = min(raw, s.closed_group_cap)
    elif f.oecs_specific and not f.overseas_list and raw < bands.medium:
        score = bands.medium
        notes.append("Kept at medium: written for the OECS area, even with a modest theme")
    elif not f.any_geography and raw > s.no_geography_cap:
        # eligibility gates: a call that names no place at all may be domestic anywhere
        score = s.no_geography_cap
        notes.append("No place or region named: eligibility unknown, so at most low")
    else:
        score = raw
    score_int = max(0, min(100, round(min(score, f.cap))))

    if f.restricted:
        eligible: bool | None = False
    elif f.closed:
        eligible = None
    elif f.oecs_specific or (f.wider and f.public_applicants):
        eligible = True
    else:
        eligible = None

    ranked = sorted(f.reasons, key=lambda r: -abs(r.points))
    reasons = f.gate + [r.text for r in ranked] + notes
    if not reasons:
        reasons = ["Nothing in the OECS profile: no OECS place, priority theme or known funder"]
    return ScoreResult(
        score=score_int,
        band=p.band(score_int),
        eligible=eligible,
        themes=f.themes,
        reasons=reasons,
        countries=f.countries,
    )
