"""The OECS priority profile: `config/priorities.yaml` as a typed model, and its compiled matcher.

`load_profile()` reads and validates the YAML (pydantic), then compiles every phrase into a
token trie so scoring a call is one pass over its words per layer (geography, themes, applicants,
funders, exclusion cues), however many phrases the profile holds.

Matching rules (what a maintainer writes in the YAML must match the way text is read):

* Text is folded to lower case without accents, one character for one character, so offsets in
  the folded text are offsets in the original and reasons can quote the call's own words.
* Words are cut at anything that is not a letter or digit ("Sainte-Lucie" -> sainte, lucie).
* Each word is reduced by a light stemmer (plural -s/-es/-ies, French -aux, a final -e/-a/-o
  on words of six letters or more, a doubled final consonant): "caribéennes" and "caribéen" both
  become "caribeen". Short words keep their last letter, so "santé" never reads as "Santa" and
  "portés" never as "port". No heavy NLP: the stemmer only has to map a word and its inflections
  to the same key, consistently.
* Small connector words (and, of, the, et, de, la, y...) are skipped inside phrases, so
  "Antigua & Barbuda" matches "Antigua and Barbuda". A connector written at the start of a
  phrase ("la Dominique") must stand right before it in the text.
* At each position the longest phrase wins and its words are consumed, which is what keeps
  "Dominican Republic" from ever reading as "Dominica", and "African, Caribbean and Pacific"
  from reading as Africa.
"""

from __future__ import annotations

import bisect
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fundradar.config.loader import validate_file
from fundradar.exceptions import ConfigError
from fundradar.settings import packaged_config

PROFILE_FILE = "priorities.yaml"
LAYERS = ("geo", "theme", "applicant", "funder", "cue")
CUE_KINDS = ("exclusion", "partner", "example")


class ProfileError(ConfigError, ValueError):
    """priorities.yaml is missing, not YAML, or has a bad key or value.

    Raised by `load_profile`. A ValueError (as the scorer's API promises) and a ConfigError (so the
    command line prints it as one line with exit code 2). Attributes: `file`, `key`, `expected`.
    """


# ------------------------------------------------------------------------------------------------
# The YAML model
# ------------------------------------------------------------------------------------------------


class _Strict(BaseModel):
    # a misspelt key must fail loudly rather than be silently ignored
    model_config = ConfigDict(extra="forbid", frozen=True)


class Terms(_Strict):
    """Words and phrases in English, French and Spanish (the split is only for the maintainer)."""

    en: list[str] = Field(default_factory=list)
    fr: list[str] = Field(default_factory=list)
    es: list[str] = Field(default_factory=list)

    def all(self) -> list[str]:
        return [*self.en, *self.fr, *self.es]

    @model_validator(mode="after")
    def _not_empty(self) -> Terms:
        if not self.all():
            raise ValueError("at least one word or phrase under en, fr or es")
        for term in self.all():
            if not isinstance(term, str) or not term.strip():
                raise ValueError(f"words or phrases as text, got {term!r}")
        return self


_ID = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")


class _WithId(_Strict):
    id: str

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(
                f"a lower-case id of letters, digits, - and _ (like ocean), got {value!r}"
            )
        return value


class Bands(_Strict):
    high: float = Field(gt=0, le=100)
    medium: float = Field(gt=0, le=100)
    low: float = Field(gt=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        if not self.high > self.medium > self.low:
            raise ValueError("thresholds with high > medium > low")
        return self


class Scoring(_Strict):
    theme_unit_points: float = Field(gt=0, le=100)
    theme_extra_term_factor: float = Field(ge=0, le=1)
    theme_extra_terms_max: int = Field(ge=0, le=10)
    theme_decay: list[float] = Field(min_length=1)
    theme_max_points: float = Field(gt=0, le=100)
    second_region_factor: float = Field(ge=0, le=1)
    only_civil_or_research_points: float = Field(ge=-50, le=0)
    closed_group_cap: float = Field(ge=0, le=100)
    no_geography_cap: float = Field(ge=0, le=100)
    restricted_factor: float = Field(ge=0, le=1)
    restricted_cap: float = Field(ge=0, le=100)
    geography_max_points: float = Field(gt=0, le=100)
    high_theme_min_points: float = Field(ge=0, le=100)
    no_theme_cap: float = Field(ge=0, le=100)
    wider_region_cap: float = Field(ge=0, le=100)
    partner_route_cap: float = Field(ge=0, le=100)
    associate_local_cap: float = Field(ge=0, le=100)
    associates_only_cap: float = Field(ge=0, le=100)
    # a call open only to a grouping no OECS member belongs to (oecs_role: partner)
    partner_only_region_cap: float = Field(default=45, ge=0, le=100)

    @field_validator("theme_decay")
    @classmethod
    def _decay(cls, v: list[float]) -> list[float]:
        if any(not 0 <= x <= 1 for x in v):
            raise ValueError(f"numbers between 0 and 1, got {v}")
        return v


class Theme(_WithId):
    label: str
    weight: float = Field(gt=0, le=3)
    terms: Terms


class Member(_Strict):
    name: str
    status: Literal["member", "associate"]
    french: bool = False
    names: Terms
    ambiguous: list[str] = Field(default_factory=list)
    false_friends: list[str] = Field(default_factory=list)


class Members(_Strict):
    points: float = Field(ge=0, le=100)
    french_associate_points: float = Field(ge=0, le=100)
    french_overseas_list_points: float = Field(ge=0, le=100)
    extra_member_points: float = Field(ge=0, le=100)
    extra_member_max: float = Field(ge=0, le=100)
    # "list" in the YAML; renamed here because a field called `list` would shadow the type
    entries: list[Member] = Field(min_length=1, alias="list")


class Organisation(_Strict):
    label: str
    points: float = Field(ge=0, le=100)
    names: Terms


class Region(_WithId):
    label: str
    scope: Literal["oecs", "wider"]
    # ids of `elsewhere` groups whose countries lie inside this region: when a call names such
    # countries (and no OECS place), its list decides and this region no longer keeps the OECS in
    # ("Latin America and the Caribbean: Bolivia, Cuba, Haiti..."). Empty for membership groups
    # (CARICOM, ACP): naming them says their members, the OECS states among them, are eligible.
    contains: list[str] = Field(default_factory=list)
    # a region of the Caribbean itself: where an `oecs_partners` instrument finds its partners
    caribbean: bool = False
    points: float = Field(ge=0, le=100)
    terms: Terms
    ambiguous: list[str] = Field(default_factory=list)
    false_friends: list[str] = Field(default_factory=list)
    # the OECS members and associates (names from geography.members.list) the grouping brings
    # in, by the organisation's own definition; reasons name them, protocol members and
    # associates apart ("UK Overseas Territories: includes Montserrat ... Anguilla, BVI")
    members: list[str] = Field(default_factory=list)
    # where that list comes from: the organisation's own published definition, in one line
    source: str | None = None
    # "partner": a grouping no OECS member belongs to (the EU overseas countries and
    # territories since 2020): a call open only to it takes the OECS at most as a partner
    oecs_role: Literal["applicant", "partner"] = "applicant"


class Elsewhere(_WithId):
    label: str
    caribbean: bool = False
    terms: Terms | None = None  # names of regions ("the Pacific", "West Africa")
    # names of countries, territories and cities: only these make a list that decides eligibility
    # ("focus countries: Kenya, Peru") -- a region named beside a wider one is one more region
    countries: Terms | None = None
    ambiguous: list[str] = Field(default_factory=list)
    false_friends: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _some_names(self) -> Elsewhere:
        if self.terms is None and self.countries is None:
            raise ValueError("terms or countries (or both)")
        return self


class Restriction(_WithId):
    label: str
    lifted_by: list[str] = Field(default_factory=list)
    # regions that open the call to the French associate members only (the EU outermost
    # regions): not restricted, but capped at `associates_only_cap`
    opened_to_associates_by: list[str] = Field(default_factory=list)
    terms: Terms


class DonorContext(_Strict):
    """Words that mark a place as the funder, not where the call is open ("Embassy of Japan",
    "Canada Fund"): such a mention never restricts a call."""

    before: list[str] = Field(default_factory=list)
    after: list[str] = Field(default_factory=list)


class Geography(_Strict):
    organisation: Organisation
    members: Members
    regions: list[Region] = Field(min_length=1)
    elsewhere: list[Elsewhere] = Field(default_factory=list)
    restrictions: list[Restriction] = Field(default_factory=list)
    # names that contain a place, theme or applicant word but are something else: a city where
    # an office sits ("Puerto España"), a programme ("Horizon Europe"), a portal ("Funding &
    # Tenders Portal"). They consume their words and count for nothing.
    proper_names: Terms | None = None

    donor_context: DonorContext | None = None


class Applicant(_WithId):
    label: str
    kind: Literal["public", "local", "civil", "research", "private", "individual", "closed"]
    points: float = Field(ge=-50, le=50)
    terms: Terms


class Funder(_WithId):
    label: str
    points: float = Field(ge=-50, le=50)
    cap: float | None = Field(default=None, ge=0, le=100)  # the score never goes above this
    # a French-territory instrument whose projects pair Guadeloupe, Martinique or Saint-Martin
    # with Caribbean partners (Interreg Caraïbes, the FCR): naming those associates is then
    # cooperation with the OECS, not a local call
    oecs_partners: bool = False
    terms: Terms


class CueWords(_Strict):
    """Words that point at the words before them (`after`: "X are not eligible") or after them
    (`before`: "excluding X"). An `after` cue that opens its clause ("Not eligible: X") or is
    followed by a colon points forward."""

    before: Terms | None = None
    after: Terms | None = None


class Cues(_Strict):
    exclusion: CueWords | None = None  # what they point at is not eligible
    partner: CueWords | None = None  # what they point at joins as a partner, not the applicant
    example: CueWords | None = None  # places they point at are examples, not a closed list
    # words that end a clause: a cue never reaches past them ("...; firms are not eligible")
    clause_breaks: list[str] = Field(default_factory=list)


_VERDICT_VALUES = {"relevant": 1.0, "shortlist": 1.0, "applied": 1.0, "not-relevant": -1.0}


class Feedback(_Strict):
    """How the team's verdicts adjust scores (`pipeline.score.feedback`): bounded, explained,
    off until there are enough verdicts."""

    enabled: bool = True
    min_verdicts: int = Field(default=20, ge=1, le=100_000)
    max_points: float = Field(default=8, ge=0, le=50)
    prior_strength: float = Field(default=3, gt=0, le=1000)
    funder_points: float = Field(default=6, ge=0, le=50)
    programme_points: float = Field(default=6, ge=0, le=50)
    theme_points: float = Field(default=4, ge=0, le=50)
    similar_points: float = Field(default=6, ge=0, le=50)
    similarity_min: float = Field(default=0.5, gt=0, le=1)
    values: dict[Literal["relevant", "shortlist", "applied", "not-relevant"], float] = Field(
        default_factory=lambda: dict(_VERDICT_VALUES)
    )

    @field_validator("values")
    @classmethod
    def _values(cls, v: dict[str, float]) -> dict[str, float]:
        if any(not -1 <= x <= 1 for x in v.values()):
            raise ValueError(f"numbers between -1 and 1, got {v}")
        return v


class PrioritiesFile(_Strict):
    version: Literal[1]
    bands: Bands
    scoring: Scoring
    themes: list[Theme] = Field(min_length=1)
    geography: Geography
    applicants: list[Applicant] = Field(default_factory=list)
    cues: Cues | None = None
    funders: list[Funder] = Field(default_factory=list)
    feedback: Feedback = Field(default_factory=Feedback)

    @model_validator(mode="after")
    def _unique_ids(self) -> PrioritiesFile:
        for name, items in (
            ("themes", self.themes),
            ("geography.regions", self.geography.regions),
            ("geography.elsewhere", self.geography.elsewhere),
            ("applicants", self.applicants),
            ("funders", self.funders),
        ):
            seen: set[str] = set()
            for item in items:
                if item.id in seen:
                    raise ValueError(f"unique ids in {name}; {item.id!r} appears twice")
                seen.add(item.id)
        return self


# ------------------------------------------------------------------------------------------------
# Text normalisation and the light stemmer
# ------------------------------------------------------------------------------------------------


def _fold_table() -> dict[int, str]:
    """Map each Latin letter to its lower-case, accent-free form, one char for one char.

    One-for-one keeps offsets in the folded text equal to offsets in the original, so a reason can
    quote the call's own words without a second search.
    """
    table: dict[int, str] = {}
    for cp in range(0x41, 0x250):
        ch = chr(cp)
        base = unicodedata.normalize("NFKD", ch)[:1].lower()
        if base.isascii() and base.isalpha() and base != ch:
            table[cp] = base
    # typographic apostrophes and dashes are word separators like their ASCII forms
    for ch in "’‘‐‑‒–—":
        table[ord(ch)] = " "
    return table


_FOLD = _fold_table()
_WORD = re.compile(r"[^\W_]+")
_LIGATURES = {"œ": "oe", "æ": "ae", "ß": "ss"}

# connector words skipped inside phrases (en, fr, es); kept short on purpose: a content word
# wrongly listed here would make unrelated phrases match
STOPWORDS = frozenset(
    {
        # en
        "a", "an", "and", "the", "of", "in", "on", "for", "to", "with", "by", "at", "or",
        # fr
        "le", "la", "les", "l", "d", "de", "des", "du", "et", "en", "au", "aux", "un", "une",
        "pour", "sur", "par", "ou", "dans",
        # es
        "el", "los", "las", "del", "y", "e", "al", "para", "por", "con", "una",
    }
)  # fmt: skip


def fold(text: str) -> str:
    """Lower case, accents removed; same length as `text`."""
    return text.translate(_FOLD)


_STEMS: dict[str, str] = {}


def stem(word: str) -> str:
    """A light, consistent stem of a folded word: the same key for its simple inflections.

    Plural -s/-es/-ies (en, fr, es), French -aux, a final gender -e/-a/-o on words of six letters
    or more, and the doubled consonant of French feminines (caribéenne -> caribeen). Words of 3
    letters or fewer are left alone (SIDS -> sid, but OECS -> oec and EU -> eu stay distinct);
    five-letter words keep their last letter, so "santé", "Santa" and "Santo" stay apart, and
    "portés" (carried) never becomes "port".
    """
    cached = _STEMS.get(word)
    if cached is not None:
        return cached
    w = word.lower()
    for lig, rep in _LIGATURES.items():
        if lig in w:
            w = w.replace(lig, rep)
    if len(w) > 3 and not w.isdigit():
        if len(w) > 5 and w.endswith("aux"):
            w = w[:-3] + "al"  # régionaux -> regional
        elif len(w) > 4 and w.endswith("ies"):
            w = w[:-3] + "y"  # agencies -> agency
        elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
            w = w[:-1]
        if len(w) > 5 and w[-1] in "eao":
            w = w[:-1]
        if len(w) > 4 and w[-2:] in ("nn", "ll", "tt"):
            w = w[:-1]
    if len(_STEMS) < 200_000:  # bounded: the vocabulary of calls is small, but never unbounded
        _STEMS[word] = w
    return w


@dataclass(frozen=True, slots=True)
class Token:
    stem: str
    word: str  # folded word, before stemming
    start: int
    end: int
    stop: bool


def tokenize(text: str) -> list[Token]:
    """Every word of `text` (used to compile phrases; calls go through `_content_words`)."""
    folded = fold(text)
    return [
        Token(stem(m.group()), m.group(), m.start(), m.end(), m.group() in STOPWORDS)
        for m in _WORD.finditer(folded)
    ]


@dataclass(frozen=True, slots=True)
class _Words:
    """The content words of a text as parallel lists (fast to walk): stem, span, and the folded
    word just before it (stop word or not), for phrases that need a leading article."""

    stems: list[str]
    starts: list[int]
    ends: list[int]
    prev: list[str | None]
    prev_start: list[int]


def _content_words(text: str) -> _Words:
    folded = fold(text)
    stems: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    prev: list[str | None] = []
    prev_start: list[int] = []
    before: str | None = None
    before_start = 0
    stems_cache = _STEMS
    for m in _WORD.finditer(folded):
        word = m.group()
        if word not in STOPWORDS:
            s = stems_cache.get(word)
            stems.append(s if s is not None else stem(word))
            a, b = m.span()
            starts.append(a)
            ends.append(b)
            prev.append(before)
            prev_start.append(before_start)
        before, before_start = word, m.start()
    return _Words(stems, starts, ends, prev, prev_start)


# ------------------------------------------------------------------------------------------------
# Compiled matcher
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One phrase of the profile, as compiled.

    kind: org | member | region | elsewhere | restriction | ignore (false friend, proper name) |
    theme | applicant | funder | before / after (cues). `key` is the id (or member name) the
    phrase belongs to; for cues, what they mark (exclusion, partner, example).
    """

    layer: str
    kind: str
    key: str
    phrase: str
    ambiguous: bool = False
    preceded_by: str | None = None
    country: bool = False  # a country, territory or city (not a region)


@dataclass(frozen=True, slots=True)
class Hit:
    entry: Entry
    start: int  # character offsets in the analysed text
    end: int
    sentence: int
    quote: str  # the call's own words


@dataclass
class Analysis:
    text: str
    hits: dict[str, list[Hit]] = field(default_factory=dict)
    bounds: list[int] = field(default_factory=list)  # where each sentence ends (offsets)

    def layer(self, name: str) -> list[Hit]:
        return self.hits.get(name, [])


_END = ""  # trie key for "a phrase ends here" (no stem is empty)
# a sentence ends at . ! ? before a capital, or at a line break; not after an initial or a
# common abbreviation ("U.S. Embassy", "St. Lucia", "No. 2")
# (the punctuation is matched first and the look-behinds include it: far faster than
# testing look-behinds at every character)
_SENTENCE_END = re.compile(
    r"[.!?](?<!\b[A-Z].)(?<!\bSt.)(?<!\bSte.)(?<!\bNo.)(?<!\bMr.)(?<!\bDr.)(?<!\bMs.)"
    r"(?=\s+[^\W\d_a-z])|\n"
)


class Matcher:
    """A token trie per layer; `analyse(text)` returns the non-overlapping hits of each layer."""

    def __init__(self) -> None:
        self._tries: dict[str, dict[str, Any]] = {layer: {} for layer in LAYERS}

    def add(self, entry: Entry, where: str) -> None:
        tokens = tokenize(entry.phrase)
        lead: str | None = None
        while tokens and tokens[0].stop:
            lead = tokens[0].word  # "la Dominique": "la" must precede the name in the text
            tokens = tokens[1:]
        stems = [t.stem for t in tokens if not t.stop]
        if not stems:
            raise ProfileError(
                "", where, f"a phrase with at least one content word, got {entry.phrase!r}"
            )
        if lead is not None:
            entry = Entry(
                entry.layer,
                entry.kind,
                entry.key,
                entry.phrase,
                entry.ambiguous,
                lead,
                entry.country,
            )
        node = self._tries[entry.layer]
        for s in stems:
            node = node.setdefault(s, {})
        bucket: list[Entry] = node.setdefault(_END, [])
        same = [
            e for e in bucket if (e.kind, e.key, e.preceded_by) == (entry.kind, entry.key, lead)
        ]
        if same:
            # the same key reached twice (a name listed in two languages): unambiguous wins
            if same[0].ambiguous and not entry.ambiguous:
                bucket[bucket.index(same[0])] = entry
            return
        bucket.append(entry)

    def analyse(self, text: str) -> Analysis:
        words = _content_words(text)
        bounds = [m.start() for m in _SENTENCE_END.finditer(text)]
        out = Analysis(text, bounds=bounds)
        for layer in LAYERS:
            out.hits[layer] = self._walk(self._tries[layer], text, words, bounds)
        return out

    @staticmethod
    def _walk(trie: dict[str, Any], text: str, words: _Words, bounds: list[int]) -> list[Hit]:
        """Longest match at each position, left to right; matched words are consumed."""
        stems, starts, ends, prev = words.stems, words.starts, words.ends, words.prev
        hits: list[Hit] = []
        j, n = 0, len(stems)
        while j < n:
            node = trie.get(stems[j])
            if node is None:
                j += 1
                continue
            best: tuple[int, list[Entry]] | None = None
            k = j
            while True:
                ends_here = node.get(_END)
                if ends_here:
                    ok = [e for e in ends_here if e.preceded_by is None or e.preceded_by == prev[j]]
                    if ok:
                        best = (k, ok)
                k += 1
                if k >= n:
                    break
                node = node.get(stems[k])
                if node is None:
                    break
            if best is None:
                j += 1
                continue
            last, entries = best
            start, end = starts[j], ends[last]
            sentence = bisect.bisect_right(bounds, start)
            for e in entries:
                # "la Dominique": the quote keeps the article the phrase asked for
                s = words.prev_start[j] if e.preceded_by else start
                hits.append(Hit(e, s, end, sentence, text[s:end]))
            j = last + 1
        return hits


# ------------------------------------------------------------------------------------------------
# The profile: model + matcher + lookups, and its loader
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Profile:
    path: Path
    config: PrioritiesFile
    matcher: Matcher
    themes: dict[str, Theme]
    members: dict[str, Member]
    regions: dict[str, Region]
    elsewhere: dict[str, Elsewhere]
    restrictions: dict[str, Restriction]
    applicants: dict[str, Applicant]
    funders: dict[str, Funder]
    donor_before: re.Pattern[str] | None = None  # matched on folded text ending at a place
    donor_after: re.Pattern[str] | None = None  # matched on folded text starting after it
    clause_break: re.Pattern[str] | None = None  # matched on folded text: where a clause ends
    # the `ambiguous` names as written (folded words): the stemmer maps "Anguila" (an eel in
    # Spanish) and "Anguilla" to one key, so only a mention spelt like the ambiguous name is
    # ambiguous, and "Anguilla" alone is still Anguilla
    ambiguous_forms: frozenset[tuple[str, ...]] = frozenset()

    @property
    def bands(self) -> Bands:
        return self.config.bands

    @property
    def scoring(self) -> Scoring:
        return self.config.scoring

    def band(self, score: float) -> str:
        b = self.config.bands
        if score >= b.high:
            return "high"
        if score >= b.medium:
            return "medium"
        if score >= b.low:
            return "low"
        return "none"


def surface(phrase: str) -> tuple[str, ...]:
    """A phrase as its folded words, unstemmed: how it is spelt, whatever its case and accents."""
    return tuple(_WORD.findall(fold(phrase).lower()))


def _words_pattern(phrase: str) -> str:
    """A folded phrase as a regex: its words in order, any non-word characters between."""
    return r"\W+".join(re.escape(w) for w in _WORD.findall(fold(phrase).lower()))


def _compile(cfg: PrioritiesFile, path: Path) -> Profile:
    m = Matcher()

    def add_terms(
        layer: str,
        kind: str,
        key: str,
        terms: Iterable[str],
        where: str,
        ambiguous: Iterable[str] = (),
        country: bool = False,
    ) -> None:
        ambiguous_keys = {tuple(t.stem for t in tokenize(a) if not t.stop) for a in ambiguous}
        for term in terms:
            is_ambiguous = tuple(t.stem for t in tokenize(term) if not t.stop) in ambiguous_keys
            try:
                m.add(Entry(layer, kind, key, term, is_ambiguous, None, country), where)
            except ProfileError as exc:
                raise ProfileError(path, exc.key, exc.expected) from None

    geo = cfg.geography
    add_terms("geo", "org", "oecs", geo.organisation.names.all(), "geography.organisation.names")
    for i, mem in enumerate(geo.members.entries):
        where = f"geography.members.list[{i}] ({mem.name})"
        add_terms("geo", "member", mem.name, mem.names.all() + mem.ambiguous, where, mem.ambiguous)
        add_terms("geo", "ignore", mem.name, mem.false_friends, where)
    for i, reg in enumerate(geo.regions):
        where = f"geography.regions[{i}] (id={reg.id})"
        add_terms("geo", "region", reg.id, reg.terms.all() + reg.ambiguous, where, reg.ambiguous)
        add_terms("geo", "ignore", reg.id, reg.false_friends, where)
    for i, els in enumerate(geo.elsewhere):
        where = f"geography.elsewhere[{i}] (id={els.id})"
        regions = els.terms.all() if els.terms else []
        countries = els.countries.all() if els.countries else []
        ambiguous = set(els.ambiguous)
        add_terms(
            "geo",
            "elsewhere",
            els.id,
            regions + [a for a in els.ambiguous if a not in countries],
            where,
            ambiguous,
        )
        add_terms("geo", "elsewhere", els.id, countries, where, ambiguous, country=True)
        add_terms("geo", "ignore", els.id, els.false_friends, where)
    if geo.proper_names:
        add_terms("geo", "ignore", "proper_name", geo.proper_names.all(), "geography.proper_names")
    allowed = (
        ("contains", "ids from geography.elsewhere", {e.id for e in geo.elsewhere}),
        ("members", "names from geography.members.list", {m.name for m in geo.members.entries}),
    )
    for i, reg in enumerate(geo.regions):
        for field_name, what, valid in allowed:
            for name in getattr(reg, field_name):
                if name not in valid:
                    raise ProfileError(
                        path,
                        f"geography.regions[{i}] (id={reg.id}).{field_name}",
                        f"{what} {sorted(valid)} (found {name!r})",
                    )
    known = {"oecs"} | {r.id for r in geo.regions}
    for i, res in enumerate(geo.restrictions):
        where = f"geography.restrictions[{i}] (id={res.id})"
        for key in ("lifted_by", "opened_to_associates_by"):
            for name in getattr(res, key):
                if name not in known:
                    raise ProfileError(
                        path, f"{where}.{key}", f"names from {sorted(known)} (found {name!r})"
                    )
        add_terms("geo", "restriction", res.id, res.terms.all(), where)
    for i, th in enumerate(cfg.themes):
        add_terms("theme", "theme", th.id, th.terms.all(), f"themes[{i}] (id={th.id})")
    for i, ap in enumerate(cfg.applicants):
        add_terms("applicant", "applicant", ap.id, ap.terms.all(), f"applicants[{i}] (id={ap.id})")
    for i, fu in enumerate(cfg.funders):
        add_terms("funder", "funder", fu.id, fu.terms.all(), f"funders[{i}] (id={fu.id})")
    clause_break = None
    if cfg.cues:
        for what in CUE_KINDS:
            words = getattr(cfg.cues, what)
            for side in ("before", "after"):
                terms = getattr(words, side) if words else None
                if terms:
                    add_terms("cue", side, what, terms.all(), f"cues.{what}.{side}")
        if cfg.cues.clause_breaks:
            alternatives = "|".join(_words_pattern(w) for w in cfg.cues.clause_breaks)
            clause_break = re.compile(rf"[;:]|\b(?:{alternatives})\b")

    donor_before = donor_after = None
    if geo.donor_context and geo.donor_context.before:
        words = "|".join(_words_pattern(w) for w in geo.donor_context.before)
        donor_before = re.compile(rf"\b(?:{words})\W*$")
    if geo.donor_context and geo.donor_context.after:
        words = "|".join(_words_pattern(w) for w in geo.donor_context.after)
        donor_after = re.compile(rf"^\W*(?:{words})\b")

    ambiguous = [*geo.members.entries, *geo.regions, *geo.elsewhere]
    return Profile(
        ambiguous_forms=frozenset(surface(a) for x in ambiguous for a in x.ambiguous),
        donor_before=donor_before,
        donor_after=donor_after,
        clause_break=clause_break,
        path=path,
        config=cfg,
        matcher=m,
        themes={t.id: t for t in cfg.themes},
        members={x.name: x for x in geo.members.entries},
        regions={r.id: r for r in geo.regions},
        elsewhere={e.id: e for e in geo.elsewhere},
        restrictions={r.id: r for r in geo.restrictions},
        applicants={a.id: a for a in cfg.applicants},
        funders={f.id: f for f in cfg.funders},
    )


def _read(path: Path) -> PrioritiesFile:
    # the same reader and error wording as sources.yaml and recipients.yaml
    return validate_file(path, PrioritiesFile, ProfileError)


def default_path() -> Path:
    """$FUNDRADAR_CONFIG/priorities.yaml when set (a folder), else the packaged config/ file."""
    folder = os.environ.get("FUNDRADAR_CONFIG")
    if folder:
        return Path(folder).expanduser() / PROFILE_FILE
    return packaged_config() / PROFILE_FILE


_CACHE: dict[str, tuple[int, Profile]] = {}


def load_profile(path: str | Path | None = None) -> Profile:
    """The validated, compiled profile; cached until the file changes (path + mtime).

    `path` may be the YAML file or its folder; None means `default_path()`. A bad file raises
    ProfileError (a ValueError) naming the file, the key and what was expected.
    """
    p = Path(path).expanduser() if path is not None else default_path()
    if p.is_dir():
        p = p / PROFILE_FILE
    try:
        mtime = p.stat().st_mtime_ns
    except OSError:
        raise ProfileError(p, "(file)", "a YAML file; it does not exist") from None
    key = str(p.resolve())
    cached = _CACHE.get(key)
    if cached and cached[0] == mtime:
        return cached[1]
    profile = _compile(_read(p), p)
    _CACHE[key] = (mtime, profile)
    return profile
