"""Are two records the same funding call? A pure decision on plain records, no database.

`same_call(a, b)` answers with a reason an officer (or a test) can read. The database side
(`pipeline.dedupe.find_match`) narrows the candidates in SQL and asks this module about each.

Evidence, strongest first, and why in this order:

1. **The funder's identifier.** Two records of one source with different identifiers are
   different calls whatever their titles (EU topics of one call share titles, deadlines and
   funder). An identifier of one record found in the other's title, text or URL (aggregators
   write "… (HORIZON-CL4-2025-03-DIGITAL-EMERGING-02)") makes them the same.
2. **The canonical URL.** Feeds often link straight to the funder's page.
3. **Title, funder and deadline together.** A title alone is never enough: funders reuse titles
   every year ("Je coopère avec les pays de l'OECO" 2021 and 2022), so a different year or
   round in the titles, different places (the scorer's geography), a funder that disagrees,
   or deadlines more than a day and a half apart rule a pair out; then rapidfuzz's token
   ratios decide for titles in one language. For titles in two languages (the AFD and
   Interreg Caraïbes pages exist in French and English) a small glossary maps common French
   and Spanish call words to English and rapidfuzz's Jaro-Winkler similarity pairs cognates
   ("coopération"/"cooperation", "sargasses"/"sargassum"); because that is weaker evidence it
   needs the deadlines and the funders to agree, never "unknown".

Missing values are "unknown", never agreement: a record without a deadline matches only on a
near-identical title from a funder that agrees.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler

# Deadlines of one call seen in two places differ by the time zone the copy assumed (a date
# without a time is 23:59 local): Paris 17:00 vs 23:59 in Castries is under 12 hours, a date
# shifted by one day is under 36. A real deadline change is days or weeks.
DEADLINE_TOLERANCE = timedelta(hours=36)

# Thresholds, set on tests/fixtures/dedupe/pairs.jsonl (see its README for the margins).
# Same-language titles, rapidfuzz 0-100 scale:
TITLE_SAME = 90.0  # when the deadlines and the funders agree
TITLE_STRICT = 93.0  # when one of them is unknown (different calls reached 74 on the set)
# Two-language titles: share of content words matched through glossary or cognates (0-1).
# Sibling topics of one call (same funder, same deadline) share up to 0.47 of their words on
# the set; the weakest true translation shares 0.59.
CROSS_SAME = 0.55
# With a deadline on one side only and the same year: one funder's different calls of one year
# in two languages reached 0.28 on the new pairs; translations of one call 0.58 and up. (With a
# shared call number, "AMI n°3" / "No. 3", CROSS_SAME is kept.)
CROSS_SAME_UNDATED = 0.7
COGNATE_JW = 0.9  # Jaro-Winkler similarity for two words to count as cognates
COGNATE_MIN_LEN = 5  # shorter words must match exactly ("data" is not "date")
LINK_STRENGTH = 99.0  # an aggregator's link to the page: under an identifier, over any title
LINK_REASON = "the aggregator's copy links to this page"

_YEAR = re.compile(r"(?<![\d/.-])(19[5-9]\d|20\d\d)(?![\d/])")
# Funders' identifiers: EU topic ids (HORIZON-CL4-2025-03-DIGITAL-EMERGING-02), EuropeAid
# references (EuropeAid/187022/DD/ACT/Multi), call numbers such as ANR-24-CE01.
_IDENT = re.compile(
    r"\b(?:EuropeAid/\d{5,}(?:/[A-Za-z]+)*|[A-Z][A-Z0-9]{1,15}(?:-[A-Za-z0-9]{1,20}){2,})\b"
)
_ROMAN = {
    "i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "x": 10,
}  # fmt: skip
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    "premier": 1, "premiere": 1, "deuxieme": 2, "seconde": 2, "troisieme": 3,
    "quatrieme": 4, "cinquieme": 5, "primera": 1, "primer": 1, "segunda": 2, "segundo": 2,
    "tercera": 3, "tercer": 3, "cuarta": 4, "quinta": 5,
}  # fmt: skip
# "2nd call", "Round 3", "n°2", "Phase II", "3e appel", "edition 4": the round of a call
_EDITION = re.compile(
    r"\b(?:(\d{1,2})\s*(?:st|nd|rd|th|e|eme|er|ere|o|a)\b"
    r"|(?:round|phase|lot|n|no|nr|num|numero|edition|cohort|cycle|tranche|window|vague|ronda"
    r"|fase|etape|stage|call|appel)\s*(\d{1,2}|[ivx]{1,4})\b)"
)

# Numbered series: "Call 134", "Window 3", "AMI n°4", "lot 2", "Phase III", "Round 6",
# "Cohort 4", "Appel à projets 2026-2", "2nd call". Each series word has a kind; two titles
# that number the same kind differently name two calls of one series, whatever else they share
# (a generated feed of "Call 134 on …" / "Call 146 on …" a day apart once merged 1,255 calls).
_SERIES_KIND = {
    **dict.fromkeys(("call", "calls", "appel", "appels", "convocatoria", "convocatorias",
                     "ami", "aap", "cfp", "rfp", "tender", "competition", "concours", "n", "no",
                     "nr", "num", "numero", "number", "nos"), "call"),
    **dict.fromkeys(("round", "rounds", "ronda", "vague", "wave", "batch", "intake", "cycle",
                     "ciclo", "tranche", "session", "sesion"), "round"),
    **dict.fromkeys(("phase", "phases", "fase", "etape", "stage", "step"), "phase"),
    **dict.fromkeys(("lot", "lots", "lote", "package"), "lot"),
    **dict.fromkeys(("window", "windows", "ventana", "guichet", "fenetre"), "window"),
    **dict.fromkeys(("cohort", "cohorts", "cohorte", "promo", "promotion"), "cohort"),
    **dict.fromkeys(("edition", "editions", "edicion", "edicao"), "edition"),
    **dict.fromkeys(("strand", "volet", "track", "component", "componente", "axe", "eje"),
                    "strand"),
}  # fmt: skip
_NUMBER_WORDS = frozenset(("n", "no", "nr", "num", "numero", "number", "nos"))
_SERIES_VALUE = r"(\d{1,4}(?:\s+\d{1,2}\b)?|[ivx]{1,5}\b)"
_SERIES_WORDS = "|".join(sorted(_SERIES_KIND, key=len, reverse=True))
_SERIES_AFTER = re.compile(
    r"\b(" + _SERIES_WORDS + r")\s+"
    r"(?:(n|no|nr|num|numero|number)\s+)?" + _SERIES_VALUE
)
_SERIES_BEFORE = re.compile(
    r"\b(\d{1,3})\s*(?:st|nd|rd|th|e|eme|er|ere|o|a)\s+(" + _SERIES_WORDS + r")\b"
)
_ORDINAL_BEFORE = re.compile(
    r"\b(first|second|third|fourth|fifth|sixth|premier|premiere|deuxieme|seconde|troisieme"
    r"|quatrieme|cinquieme|primera|primer|segunda|segundo|tercera|tercer|cuarta|quinta)\s+("
    + _SERIES_WORDS
    + r")\b"
)
# "2026-2": a year and its round; "2024-25" and "2024-2025" are a period, not a round
_MONTHS = (
    "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|janv|fev|mars|avr|mai|juin|juil|aout|sept"
    "|ene|abr|ago|dic|janvier|fevrier|avril|juillet|septembre|octobre|novembre|decembre|january"
    "|february|march|april|june|july|august|september|october|november|december|enero|febrero"
    "|marzo|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre"
)
_NOT_A_DATE = r"(?!\s+(?:\d|(?:" + _MONTHS + r")\b))"
_YEAR_ROUND = re.compile(r"\b(19[5-9]\d|20\d\d)\s+(\d{1,2})\b" + _NOT_A_DATE)

# Words that say "this is a call" in every title: they carry no identity.
_BOILERPLATE = (
    "calls for proposals", "call for proposals", "call for projects", "call for applications",
    "call for expressions of interest", "call for expression of interest", "call for concept notes",
    "request for proposals", "request for applications", "expression of interest", "open call",
    "now open", "is open", "apply now", "appel a projets", "appels a projets", "appel a projet",
    "appel a propositions", "appel a candidatures", "appel a manifestation d interet",
    "appel a manifestations d interet", "appel a idees", "appel a projet", "convocatoria abierta",
    "llamado a propuestas", "convocatoria de propuestas", "convocatoria", "funding opportunity",
    "grant opportunity", "fundsforngos", "euro access",
)  # fmt: skip
_STOP = frozenset(
    """a an and the of for in on to with by at from or as its their this that into under via
    new call calls launch launches launched announces seeks open proposals proposal grant grants
    le la les l un une des de du d et ou en au aux pour par sur dans avec sous a ses son leur
    lance lancement nouvel nouveau nouvelle
    el los las lo y o del al para por con en sobre su sus
    cfp rfp aap ami""".split()  # noqa: SIM905 (a word list reads better as text)
)
# Common French and Spanish words of call titles, to English. Not a translator: the general
# vocabulary of development and research calls, so cross-language matching does not rest on
# cognates alone. Deliberately no topic-specific words (it was not fitted to the pair set).
_GLOSSARY = {
    # fr
    "appel": "call", "appels": "calls", "projet": "project", "projets": "projects",
    "conjoint": "joint", "cooperation": "cooperation", "regionale": "regional",
    "developpement": "development", "durable": "sustainable", "recherche": "research",
    "jeunes": "youth", "jeunesse": "youth", "femmes": "women", "sante": "health",
    "environnement": "environment", "changement": "change", "climatique": "climate",
    "climat": "climate", "fonds": "fund", "societe": "society", "civile": "civil",
    "outils": "tools", "securite": "security", "donnees": "data", "numerique": "digital",
    "numeriques": "digital", "reseau": "network", "reseaux": "networks",
    "laboratoire": "lab", "laboratoires": "labs", "evaluation": "assessment",
    "enseignement": "education", "formation": "training", "superieur": "higher",
    "partenariat": "partnership", "partenariats": "partnerships", "pays": "countries",
    "oeco": "oecs", "caraibe": "caribbean", "caraibes": "caribbean", "caribeen": "caribbean",
    "caribeenne": "caribbean", "iles": "islands", "insulaires": "island", "petits": "small",
    "petites": "small", "etats": "states", "economie": "economy", "bleue": "blue",
    "circulaire": "circular", "dechets": "waste", "energie": "energy",
    "renouvelable": "renewable", "renouvelables": "renewable", "risques": "risk",
    "catastrophes": "disaster", "biodiversite": "biodiversity", "marines": "marine",
    "oceans": "ocean", "peche": "fisheries", "alimentaire": "food", "alimentaires": "food",
    "sociale": "social", "egalite": "equality", "genre": "gender", "gouvernance": "governance",
    "collectivites": "authorities", "territoriales": "local", "locales": "local",
    "locale": "local", "decentralisee": "decentralised", "institutionnelle": "institutional",
    "innovante": "innovative", "innovantes": "innovative", "soutien": "support",
    "infrastructures": "infrastructure", "subventions": "grants", "mobilite": "mobility",
    "transfrontalier": "cross-border", "transfrontaliere": "cross-border",
    "tourisme": "tourism", "competences": "skills", "emploi": "employment",
    "entreprises": "enterprises", "pauvrete": "poverty", "premier": "first",
    "premiere": "first", "deuxieme": "second", "troisieme": "third", "region": "region",
    # es
    "proyectos": "projects", "proyecto": "project", "cooperacion": "cooperation",
    "desarrollo": "development", "sostenible": "sustainable", "investigacion": "research",
    "mujeres": "women", "jovenes": "youth", "salud": "health", "medio": "environment",
    "ambiente": "environment", "cambio": "change", "climatico": "climate", "fondo": "fund",
    "conjunto": "joint", "financiacion": "funding", "financiamiento": "funding",
    "caribe": "caribbean", "pequenos": "small", "estados": "states", "insulares": "island",
    "datos": "data", "asociacion": "partnership", "fond": "fund", "etat": "states",
    "actividades": "activities",
    "educacion": "education", "primera": "first", "segunda": "second",
}  # fmt: skip

# Funders that appear under several names. Each group: spellings folded to plain lower case.
_FUNDER_GROUPS: dict[str, tuple[str, ...]] = {
    "eu": (
        "european commission", "european union", "commission europeenne", "union europeenne",
        "comision europea", "union europea", "eu", "ec", "eacea", "rea", "eismea", "hadea",
        "cinea", "ercea", "europeaid", "intpa", "dg intpa", "eurohpc", "eurohpc joint undertaking",
        "circular bio-based europe joint undertaking", "cbe ju", "horizon europe",
    ),
    "afd": ("agence francaise de developpement", "afd", "french development agency"),
    "anr": ("agence nationale de la recherche", "anr", "french national research agency"),
    "interreg_caraibes": (
        "interreg caraibes", "interreg caribbean", "programme interreg caraibes",
        "interreg caribe",
    ),
    "fcdo": ("fcdo", "foreign commonwealth and development office", "uk government"),
    "cdb": ("caribbean development bank", "cdb", "banque de developpement des caraibes"),
    "undp": ("undp", "united nations development programme", "pnud"),
    "meae": (
        "ministere de l europe et des affaires etrangeres",
        "ministere des affaires etrangeres", "french ministry for europe and foreign affairs",
        "meae", "maedi", "daect",
    ),
}  # fmt: skip
# A programme run with another funder's money may be named after either (Interreg is ERDF).
_FUNDER_PARENT = {"interreg_caraibes": "eu"}


# --------------------------------------------------------------------------------------------
# Text helpers


def fold(text: str | None) -> str:
    """Lower case, no accents, punctuation as spaces: the form every comparison uses."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("œ", "oe").replace("æ", "ae").replace("ß", "ss")
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def _strip_boilerplate(folded: str) -> str:
    for phrase in _BOILERPLATE:
        if phrase in folded:
            folded = re.sub(rf"\b{phrase}\b", " ", folded)
    return re.sub(r"\s+", " ", folded).strip()


def _stem(word: str) -> str:
    """Plural to singular, crudely ("caraibes" -> "caraibe", "projects" -> "project"): titles
    of one call disagree on number more often than on anything else."""
    if len(word) >= 5 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _stem_all(folded: str) -> str:
    return " ".join(_stem(w) for w in folded.split())


def _content_tokens(folded: str, *, translate: bool) -> list[str]:
    words = []
    for w in folded.split():
        if w in _STOP or len(w) < 2 or w.isdigit():
            continue
        if translate:
            w = _GLOSSARY.get(w, w)
        words.append(_stem(w))
    return words


@lru_cache(maxsize=65536)
def _ids_in(text: str) -> frozenset[str]:
    found = (m.group(0) for m in _IDENT.finditer(text))
    return frozenset(i for i in found if any(c.isdigit() for c in i) and len(i) >= 8)


def identifiers(*texts: str | None, upper: bool = True) -> frozenset[str]:
    """Funders' identifiers written in the texts (upper-cased unless `upper=False`)."""
    found: frozenset[str] = frozenset().union(*(_ids_in(t) for t in texts if t))
    return frozenset(i.upper() for i in found) if upper else found


def _editions(folded: str) -> frozenset[int]:
    found: set[int] = set()
    for m in _EDITION.finditer(folded):
        raw = m.group(1) or m.group(2)
        n = int(raw) if raw.isdigit() else _ROMAN.get(raw)
        if n is not None:
            found.add(n)
    for w in folded.split():
        if w in _ORDINALS:
            found.add(_ORDINALS[w])
        elif w in _ROMAN and w not in ("i", "v", "x"):  # "Sargassum III"; not a lone i/v/x
            found.add(_ROMAN[w])
    return frozenset(found)


_UPPER_ROMAN = re.compile(r"(?<![\w'’-])(V|X)(?![\w'’-])")


def _upper_romans(title: str) -> frozenset[int]:
    """A lone V or X, written in capitals as a word: a numeral ("Sargasses V"). A lone I is
    the English pronoun ("I cooperate with the OECS countries"), so it is left out."""
    return frozenset(_ROMAN[m.group(1).lower()] for m in _UPPER_ROMAN.finditer(title))


def _series_number(raw: str) -> int | None:
    # a year after a series word ("Call 2027") counts too: "Call 1950" may be call 1,950 of a
    # generated feed, and two titles with the same year agree on it anyway
    return int(raw) if raw.isdigit() else _ROMAN.get(raw)


def series(title: str) -> frozenset[tuple[str, int, bool]]:
    """(kind, number, may be a year) a title gives its call: ("call", 134, False), ("phase", 3,
    False), ("year-round", 2, False) for "2026-2", ("call", 2027, True) for "Call 2027" (but
    not for "n°2027"). Boilerplate ("call for proposals", "appel à projets") counts as the word
    "call", so "Appel à projets n°3" and "Call for proposals No. 3" number the same kind."""
    return _series_cached(title)


@lru_cache(maxsize=65536)
def _series_cached(title: str) -> frozenset[tuple[str, int, bool]]:
    no_ids = title
    for i in identifiers(title):
        no_ids = re.sub(re.escape(i), " ", no_ids, flags=re.IGNORECASE)
    folded = fold(no_ids)
    for phrase in _BOILERPLATE:
        if phrase in folded:
            folded = re.sub(rf"\b{phrase}\b", " call ", folded)
    folded = re.sub(r"\s+", " ", folded)
    found: set[tuple[str, int, bool]] = set()
    for m in _SERIES_AFTER.finditer(folded):
        word, raw = m.group(1), m.group(3)
        numbered = word in _NUMBER_WORDS or m.group(2) is not None  # "n°2027" is no year
        kind = _SERIES_KIND[word]
        parts = raw.split()
        if len(parts) == 2:  # "call 2026 2": a year and its round, read by _YEAR_ROUND below
            continue
        if word in _NUMBER_WORDS and raw in ("i", "v", "x"):
            continue  # "no i…" is a word cut by folding, not a number
        if kind == "call" and raw == "i":
            continue  # "Call for projects “I cooperate with …”": the pronoun
        n = _series_number(raw)
        if n is not None:
            found.add((kind, n, not numbered and 2000 <= n <= 2099))
    for m in _SERIES_BEFORE.finditer(folded):
        found.add((_SERIES_KIND[m.group(2)], int(m.group(1)), False))
    for m in _ORDINAL_BEFORE.finditer(folded):
        found.add((_SERIES_KIND[m.group(2)], _ORDINALS[m.group(1)], False))
    for m in _YEAR_ROUND.finditer(folded):
        year, nth = int(m.group(1)), int(m.group(2))
        if nth <= year % 100:  # "2024-25", "2025-27": a period, not a round
            found.add(("year-round", nth, False))
    return frozenset(found)


Series = frozenset[tuple[str, int, bool]]


def series_conflict(a: Series, b: Series) -> str | None:
    """Why two titles are two calls of one series, or None.

    The kind both number differently ("call" for Call 134 / Call 146, "phase" for Phase II
    call 3 / Phase III call 3); or "number" when both are numbered and share no number at all
    (Round 100 / Appel n°103), whatever the words: "Round 3" and "3rd call" can be one call,
    "Round 3" and "call 4" cannot.
    """
    # a year after a series word is the year rule's business ("Call for proposals 2027" and
    # "AMI n°3" can be one call): only numbers are compared here
    a = frozenset(x for x in a if not x[2])
    b = frozenset(x for x in b if not x[2])
    if not a or not b:
        return None
    for kind in sorted({k for k, _, _ in a} & {k for k, _, _ in b}):
        if not ({n for k, n, _ in a if k == kind} & {n for k, n, _ in b if k == kind}):
            return kind
    if not ({n for _, n, _ in a} & {n for _, n, _ in b}):
        return "number"  # "Round 100" / "Appel n°103"
    return None


# --------------------------------------------------------------------------------------------
# The view of a record that the decision reads


@dataclass(frozen=True)
class Record:
    """What matching needs from a call, built from a `Call`, a dict or a database row."""

    source: str | None
    source_ref: str | None
    url: str | None  # canonical when known
    title: str
    funder: str | None
    language: str | None
    deadlines: tuple[datetime, ...]
    text: str  # summary head, searched for identifiers only
    # canonical URLs of the pages an aggregator's copy links out to (`extra["links_to"]`,
    # `pipeline.dedupe.links`): the funder's own page of the call, usually
    links: tuple[str, ...] = ()


@lru_cache(maxsize=65536)
def title_features(title: str) -> tuple[str, frozenset[str], frozenset[int], tuple[str, ...],
                                        tuple[str, ...]]:  # fmt: skip
    """(boilerplate-free folded title, years, editions, content words, translated words)."""
    no_ids = title
    for i in identifiers(title):
        no_ids = re.sub(re.escape(i), " ", no_ids, flags=re.IGNORECASE)
    years = frozenset(_YEAR.findall(no_ids))
    folded = _strip_boilerplate(fold(no_ids))
    return (
        _stem_all(folded),
        years,
        _editions(fold(no_ids)) | _upper_romans(no_ids),
        tuple(_content_tokens(folded, translate=False)),
        tuple(_content_tokens(folded, translate=True)),
    )


def _as_datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        # a bare date is "by the end of that day"; UTC end of day is within the tolerance
        return datetime.combine(value, time(23, 59), tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if len(value) <= 10:  # "2026-03-31"
            return parsed.replace(hour=23, minute=59, tzinfo=UTC)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def as_record(obj: Any) -> Record:
    """A `Record` from a `Call`, a `CallRow`, a mapping with call-record field names, or a
    labelled call of `../eval/` (`deadline` as an ISO date, `text` for the summary)."""
    if isinstance(obj, Record):
        return obj
    raw_deadlines: Iterable[Any] = _get(obj, "deadlines") or []
    if not raw_deadlines and _get(obj, "deadline") is not None:
        raw_deadlines = [_get(obj, "deadline")]
    deadlines = tuple(sorted(d for d in (_as_datetime(v) for v in raw_deadlines) if d))
    extra = _get(obj, "extra") or {}
    url = _get(obj, "canonical_url") or (extra.get("canonical_url") if extra else None)
    text = _get(obj, "summary") or _get(obj, "text") or ""
    links = _get(obj, "links") or (extra.get("links_to") if extra else None) or ()
    links = tuple(_canonical_link(u) for u in links if isinstance(u, str))
    return Record(
        source=_get(obj, "source"),
        source_ref=_get(obj, "source_ref"),
        url=url or _get(obj, "url"),
        title=_get(obj, "title") or "",
        funder=_get(obj, "funder"),
        language=_get(obj, "language"),
        deadlines=deadlines,
        text=text[:2000] if isinstance(text, str) else "",
        links=links,
    )


# --------------------------------------------------------------------------------------------
# Agreement of single facts: "agree", "disagree" or "unknown"


def funder_group(name: str | None) -> str | None:
    """The known funder behind a name ("Commission européenne" -> "eu"), or None."""
    folded = fold(name)
    if not folded:
        return None
    padded = f" {folded} "
    for group, names in _FUNDER_GROUPS.items():
        if any(f" {n} " in padded for n in names):
            return group
    return None


def funder_spellings(name: str | None) -> frozenset[str]:
    """Folded spellings of the funder's group, for narrowing candidates by funder."""
    group = funder_group(name)
    return frozenset(_FUNDER_GROUPS[group]) if group else frozenset()


def _acronym(folded: str) -> str:
    return "".join(w[0] for w in folded.split() if w not in _STOP)


# Words of organisation names that say what kind of body it is, not which one.
_GENERIC_ORG_WORDS = frozenset(
    """agence agency fonds fund funds foundation fondation fundacion bank banque banco programme
    program programa ministry ministere ministerio government gouvernement gobierno national
    nationale nacional international internationale internacional european europeenne europea
    regional regionale development developpement desarrollo cooperation cooperacion caribbean
    caraibe caraibes caribe office institute institut instituto union commission comision
    department council conseil consejo region embassy ambassade embajada facility secretariat
    organisation organization organizacion united nations states etats grants small global world
    research recherche investigacion environment environnement via and des the pour for public
    publique state etat government""".split()  # noqa: SIM905
)


def _distinctive_word_shared(wa: set[str], wb: set[str]) -> bool:
    """Both names share a word that names the body ("mercociudades", "darwin"), allowing a
    letter or two of spelling difference between languages."""
    da = [w for w in wa if _distinctive(w)]
    db = [w for w in wb if _distinctive(w)]
    # short names ("ACP", "OECS") must be equal; longer ones may differ by a letter or two
    return any(x == y or (min(len(x), len(y)) >= 5 and fuzz.ratio(x, y) >= 90)
               for x in da for y in db)  # fmt: skip


def _distinctive(word: str) -> bool:
    return len(word) >= 3 and not word.isdigit() and word not in _GENERIC_ORG_WORDS \
        and word not in _STOP  # fmt: skip


@lru_cache(maxsize=65536)
def funders_agree(a: str | None, b: str | None) -> str:
    """ "agree", "disagree" or "unknown" (one is missing, or an intermediary is named)."""
    fa, fb = fold(a), fold(b)
    if not fa or not fb:
        return "unknown"
    ga, gb = funder_group(a), funder_group(b)
    if ga and gb:
        related = ga == gb or _FUNDER_PARENT.get(ga) == gb or _FUNDER_PARENT.get(gb) == ga
        return "agree" if related else "disagree"
    if fuzz.token_set_ratio(fa, fb) >= 85:
        return "agree"
    wa, wb = set(fa.split()), set(fb.split())
    acro_a, acro_b = _acronym(fa), _acronym(fb)
    if (len(acro_a) >= 2 and acro_a in wb) or (len(acro_b) >= 2 and acro_b in wa):
        return "agree"  # "Agence nationale de la recherche" / "ANR"
    if _distinctive_word_shared(wa, wb):
        return "agree"  # "Red Mercociudades – Programa …" / "Mercocidades"
    # two names with nothing in common name two bodies. (An intermediary named instead of the
    # funder — "via CPVA" — shares a word with it, or is missing: "unknown", not this.)
    return "disagree"


def deadlines_agree(a: tuple[datetime, ...], b: tuple[datetime, ...]) -> str:
    if not a or not b:
        return "unknown"
    for x in a:
        for y in b:
            if abs(x - y) <= DEADLINE_TOLERANCE:
                return "agree"
    return "disagree"


@lru_cache(maxsize=65536)
def places(title: str) -> frozenset[str]:
    """Where a title says the call is for, from the scorer's geography (one source of truth,
    in three languages): "oecs:Dominica" for a member, "oecs:*" for the OECS or the Eastern
    Caribbean as a whole, "else:<id>" for a region elsewhere ("else:africa"). Wide regions
    (the Caribbean, SIDS, ACP) are left out: copies of one call widen or narrow them freely."""
    try:
        from fundradar.pipeline.score.profile import fold as profile_fold
        from fundradar.pipeline.score.profile import load_profile

        profile = load_profile()
        hits = profile.matcher.analyse(title).layer("geo")
    except Exception:  # no readable profile: no place evidence, never a crash
        return frozenset()
    found: set[str] = set()
    before, after = profile.donor_before, profile.donor_after
    for hit in hits:
        # a place in a donor phrase ("Canada Fund", "Embassy of Japan") says who pays, as the
        # scorer reads it too
        if before and before.search(profile_fold(title[max(0, hit.start - 40) : hit.start])):
            continue
        if after and after.search(profile_fold(title[hit.end : hit.end + 40])):
            continue
        kind, key = hit.entry.kind, hit.entry.key
        if kind == "member":
            found.add(f"oecs:{key}")
        elif kind == "org" or (kind == "region" and key == "eastern_caribbean"):
            found.add("oecs:*")
        elif kind == "elsewhere":
            found.add(f"else:{key}")
    return frozenset(found)


def places_conflict(a: frozenset[str], b: frozenset[str]) -> bool:
    """Both titles name places and none of them can be the same place."""
    if not a or not b or a & b:
        return False
    # "the OECS" as a whole and one of its members can be the same call
    whole_a = "oecs:*" in a and any(x.startswith("oecs:") for x in b)
    whole_b = "oecs:*" in b and any(x.startswith("oecs:") for x in a)
    return not (whole_a or whole_b)


def _idents_related(x: str, y: str) -> bool:
    """Equal, or one is the other's call prefix (a call id and one of its topics)."""
    return x == y or x.startswith(y + "-") or y.startswith(x + "-")


# --------------------------------------------------------------------------------------------
# Title similarity


_ACRONYM = re.compile(r"\b[A-Z]{3,6}\b")


@lru_cache(maxsize=65536)
def _acronyms(title: str) -> frozenset[str]:
    """Upper-case words that may stand for a name: DAGS, FLAG, CFLI (not II, III, IV)."""
    return frozenset(
        m.group(0).lower() for m in _ACRONYM.finditer(title) if m.group(0).lower() not in _ROMAN
    )


def _collapse_acronyms(folded: str, acronyms: frozenset[str]) -> str:
    """Write "direct assistance grant scheme" as "dags" when either title uses the acronym,
    so the spelt-out and the short form of one name compare equal."""
    if not acronyms:
        return folded
    words = folded.split()
    # skip only little grammatical words: "Direct Assistance *Grant* Scheme" keeps "grant"
    content = [i for i, w in enumerate(words) if not (len(w) <= 3 and w in _STOP)]
    for acro in acronyms:
        n = len(acro)
        for k in range(len(content) - n + 1):
            idx = content[k : k + n]
            if all(words[i] for i in idx) and "".join(words[i][0] for i in idx) == acro:
                words[idx[0]] = acro
                for i in idx[1:]:
                    words[i] = ""
                break
    return " ".join(w for w in words if w)


def title_similarity(a: str, b: str, *, subset_words: int = 3) -> float:
    """0-100, same-language: rapidfuzz token ratios on boilerplate-free folded titles.

    A title whose words are all in the other scores 100 (token_set) when it has at least
    `subset_words` words: aggregators add the funder, the acronym or the year to a title.
    """
    fa, fb = title_features(a)[0], title_features(b)[0]
    if not fa or not fb:
        return 0.0
    acronyms = _acronyms(a) | _acronyms(b)
    fa, fb = _collapse_acronyms(fa, acronyms), _collapse_acronyms(fb, acronyms)
    sort = fuzz.token_sort_ratio(fa, fb)
    shorter = min(len(fa.split()), len(fb.split()))
    # token_set is 100 when one title's words are a subset of the other's: only trust that
    # when the smaller title says enough on its own
    tset = fuzz.token_set_ratio(fa, fb) if shorter >= subset_words else 0.0
    score = max(sort, tset)
    truncated = a.rstrip().endswith(("…", "...")) or b.rstrip().endswith(("…", "..."))
    if truncated and shorter >= 4:
        score = max(score, fuzz.partial_ratio(fa, fb))
    return float(score)


def _coverage(words: tuple[str, ...], other: tuple[str, ...]) -> float:
    """Share of `words` (weighted by length) found in `other`, exactly or as a cognate."""
    if not words:
        return 0.0
    others = set(other)
    long_others = [o for o in others if len(o) >= COGNATE_MIN_LEN]
    total = matched = 0.0
    for w in words:
        weight = float(len(w))
        total += weight
        if w in others:
            matched += weight
        elif len(w) >= COGNATE_MIN_LEN and long_others:
            best = max(JaroWinkler.similarity(w, o) for o in long_others)
            if best >= COGNATE_JW:
                matched += weight
    return matched / total


def _foreign_share(title: str) -> float:
    """Share of the title's content words the glossary translates (French or Spanish ones)."""
    f = title_features(title)
    if not f[3]:
        return 0.0
    return sum(1 for a, b in zip(f[3], f[4], strict=True) if a != b) / len(f[3])


def _titles_in_two_languages(a: str, b: str) -> bool:
    """One title is clearly French or Spanish (40% of its words in the glossary), the other
    has none: the page tags said one language, the titles' own words say two."""
    sa, sb = _foreign_share(a), _foreign_share(b)
    return max(sa, sb) >= 0.4 and min(sa, sb) == 0.0


def cross_language_similarity(a: str, b: str) -> float:
    """0-1: the smaller share of each title's content words matched in the other."""
    ta, tb = title_features(a)[4], title_features(b)[4]
    if len(ta) < 2 or len(tb) < 2:
        return 0.0
    return min(_coverage(ta, tb), _coverage(tb, ta))


# --------------------------------------------------------------------------------------------
# The decision


def same_call(a: Any, b: Any) -> tuple[bool, str]:
    """(True, why) when `a` and `b` are one funding call; (False, why not) otherwise.

    `a` and `b` are `Call`s, database rows or plain dicts with call-record field names.
    """
    same, reason, _ = judge(a, b)
    return same, reason


def judge(a: Any, b: Any) -> tuple[bool, str, float]:
    """`same_call` plus a strength (0-100) to pick the best of several candidates."""
    ra, rb = as_record(a), as_record(b)
    early = _decided_early(ra, rb)
    if early is not None:
        return early
    return _by_title(ra, rb)


def could_be_same(a: Any, b: Any) -> bool:
    """False only when `judge` would answer "different", found with its cheap checks: the
    funders or the deadlines disagree and no rule that decides before them (an identifier, the
    page, an aggregator's link) says "same". Lets dedupe skip most of a busy deadline window's
    candidates (another funder's calls) before the title comparison and the places."""
    ra, rb = as_record(a), as_record(b)
    if (
        funders_agree(ra.funder, rb.funder) != "disagree"
        and deadlines_agree(ra.deadlines, rb.deadlines) != "disagree"
    ):
        return True
    return _may_be_same_early(ra, rb)


def _may_be_same_early(ra: Record, rb: Record) -> bool:
    """Could a rule of steps 1-4 say "same"? (True may still end in "different".)"""
    ref_a = (ra.source_ref or "").strip().upper()
    ref_b = (rb.source_ref or "").strip().upper()
    if ra.source and ra.source == rb.source and ref_a and ref_b:
        return ref_a == ref_b
    if ra.links or rb.links:
        return True  # the aggregator's link (step 4)
    if ra.url and rb.url and page_identity(ra.url) == page_identity(rb.url):
        return True
    ids_a = identifiers(ra.title, ra.url) | ({ref_a} if _looks_like_id(ref_a) else set())
    ids_b = identifiers(rb.title, rb.url) | ({ref_b} if _looks_like_id(ref_b) else set())
    return bool((ids_a & (ids_b | identifiers(rb.text))) | (ids_b & identifiers(ra.text)))


def _decided_early(ra: Record, rb: Record) -> tuple[bool, str, float] | None:
    """Steps 1-4 of the decision: identifiers, the page, the titles' numbers, an aggregator's
    link. None when they leave it to the titles, funders and deadlines (`_by_title`)."""
    # 1. identifiers
    ref_a = (ra.source_ref or "").strip().upper()
    ref_b = (rb.source_ref or "").strip().upper()
    if ra.source and ra.source == rb.source and ref_a and ref_b:
        if ref_a == ref_b:
            return True, f"same identifier {ra.source_ref}", 100.0
        why = f"different identifiers from {ra.source} ({ra.source_ref}, {rb.source_ref})"
        return False, why, 0.0
    # an identifier in a title, URL or source_ref names the call; one in a summary may be a
    # neighbour ("see also topic …"), so it can confirm a match but never rule one out
    ids_a = identifiers(ra.title, ra.url) | ({ref_a} if _looks_like_id(ref_a) else set())
    ids_b = identifiers(rb.title, rb.url) | ({ref_b} if _looks_like_id(ref_b) else set())
    shared = (ids_a & (ids_b | identifiers(rb.text))) | (ids_b & identifiers(ra.text))
    if shared:
        return True, f"same funder identifier {sorted(shared)[0]}", 100.0
    if ids_a and ids_b and not any(_idents_related(x, y) for x in ids_a for y in ids_b):
        return False, "different funder identifiers", 0.0

    # 2. canonical URL (http/https and www. or not: one page)
    if ra.url and rb.url and page_identity(ra.url) == page_identity(rb.url):
        return True, "same page", 100.0

    # 3. the titles' own numbers: a year, a round, a numbered call of a series. Checked before
    # the aggregator's link, which can point at last year's page or at the series' home page.
    _, years_a, ed_a, _, _ = title_features(ra.title)
    _, years_b, ed_b, _, _ = title_features(rb.title)
    if years_a and years_b and not (years_a & years_b):
        ya, yb = "/".join(sorted(years_a)), "/".join(sorted(years_b))
        why = f"same title, different year ({ya} vs {yb})"
        return False, why, 0.0
    if ed_a and ed_b and not (ed_a & ed_b):
        return False, "different round or edition of a call", 0.0
    kind = series_conflict(series(ra.title), series(rb.title))
    if kind is not None:
        return False, f"different numbers in one series ({kind})", 0.0

    # 4. an aggregator's copy that links out to the other record's page: the aggregator says
    # itself which call it copied
    if _links_to(ra, rb) or _links_to(rb, ra):
        return True, LINK_REASON, LINK_STRENGTH
    return None


def _by_title(ra: Record, rb: Record) -> tuple[bool, str, float]:
    """Step 5: title, funder and deadline together."""
    fa, years_a, ed_a, _, _ = title_features(ra.title)
    fb, years_b, ed_b, _, _ = title_features(rb.title)

    # 5. title, funder and deadline together
    if not fa or not fb:
        return False, "a title is missing", 0.0
    funder = funders_agree(ra.funder, rb.funder)
    if funder == "disagree":
        return False, f"different funders ({ra.funder} / {rb.funder})", 0.0
    deadline = deadlines_agree(ra.deadlines, rb.deadlines)
    if deadline == "disagree":
        return False, "deadlines differ", 0.0
    # one programme's regional variants share title, funder and deadline ("CFLI – Eastern
    # Caribbean" and "CFLI – Jamaica"): geography decides. Checked after the funder and the
    # deadline, which are cheap: reading a title's places is the costliest step of the decision,
    # and most candidates of a busy deadline window are another funder's calls.
    if places_conflict(places(ra.title), places(rb.title)):
        return False, "different places named", 0.0

    # One site's call page and its own news of the launch, or its page in the other language:
    # a site that numbers its rounds gives both the same number and the very same deadline.
    if (
        ra.source
        and ra.source == rb.source
        and ed_a
        and ed_a == ed_b
        and ra.deadlines
        and ra.deadlines == rb.deadlines
    ):
        return True, "same source, same round and the very same deadline", 90.0

    both = deadline == "agree" and funder == "agree"
    # with the deadline and the funder agreeing, a two-word title inside the other is enough
    # ("Appel à projets générique 2023" in "… générique 2023 (AAPG 2023) – ANR")
    sim = title_similarity(ra.title, rb.title, subset_words=2 if both else 3)
    same_language = not (ra.language and rb.language and ra.language != rb.language)
    if same_language:
        if both and sim >= TITLE_SAME:
            return True, f"similar title ({sim:.0f}), same funder and deadline", sim
        if (deadline == "agree" or funder == "agree") and sim >= TITLE_STRICT:
            known = "deadline" if deadline == "agree" else "funder"
            return True, f"near-identical title ({sim:.0f}) and same {known}", sim
    # titles in two languages; a pair in one language never gets here (sibling topics of one
    # call share many words, so this weaker test would merge them). The language tags come
    # from the whole page and can both say "en" for a French title on a page with an English
    # summary, so the titles' own words count too.
    # Without a deadline on one side, the funder must agree and the titles must carry the same
    # year or the same number of a series ("FISONG 2026", "AMI n°3"): one funder's calls of one
    # year in two languages share fewer words than translations of one call, so the bar is
    # higher too (CROSS_SAME_UNDATED).
    numbered = _shared_numbers(ra.title, rb.title)
    undated = funder == "agree" and deadline == "unknown" and bool(numbered or years_a & years_b)
    if (both or undated) and (not (ra.language and rb.language and ra.language == rb.language)
                              or _titles_in_two_languages(ra.title, rb.title)):  # fmt: skip
        cross = cross_language_similarity(ra.title, rb.title)
        if both and cross >= CROSS_SAME:
            why = f"same call in two languages (words {cross:.0%}), same funder and deadline"
            return True, why, cross * 100
        # a funder's own number names one call ("AMI n°3"); a year only narrows to its calls
        if undated and cross >= (CROSS_SAME if numbered else CROSS_SAME_UNDATED):
            why = (f"same call in two languages (words {cross:.0%}), same funder and year or "
                   "number, a deadline on one side only")  # fmt: skip
            return True, why, cross * 100
        why = f"titles differ (similarity {sim:.0f}, across languages {cross:.0%})"
        return False, why, max(sim, cross * 100)
    return False, f"titles differ (similarity {sim:.0f})", sim


def _shared_numbers(a: str, b: str) -> bool:
    """Both titles number their call and share a number (not a year: the year rule's)."""
    na = {n for _, n, year in series(a) if not year} | title_features(a)[2]
    nb = {n for _, n, year in series(b) if not year} | title_features(b)[2]
    return bool(na & nb)


@lru_cache(maxsize=8192)
def _canonical_link(url: str) -> str:
    from fundradar.pipeline.normalise.urls import canonical_url

    try:
        return canonical_url(url)
    except Exception:  # a link canonical_url cannot read is compared as written
        return url


def _links_to(a: Record, b: Record) -> bool:
    """`a` links out to `b`'s page."""
    if not a.links or not b.url:
        return False
    page = page_identity(b.url)
    return any(page_identity(u) == page for u in a.links)


def page_identity(url: str) -> str:
    """One string per page: http/https, www. or not, a trailing slash or not."""
    return re.sub(r"^[a-z]+://(www\.)?", "", url.strip().lower()).rstrip("/")


def _looks_like_id(ref: str) -> bool:
    """A source_ref worth searching for in another record's text (not "123" or a slug)."""
    return bool(ref) and len(ref) >= 8 and bool(_IDENT.fullmatch(ref))
