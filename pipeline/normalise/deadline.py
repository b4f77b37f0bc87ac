"""A call's deadline from everything it says: its deadline texts, its period, its description.

`pipeline.normalise.dates` reads dates; this module decides what each date *is* for the call,
by the words written before it (cue words in French, English and Spanish):

- a window ("Candidatures du 12 décembre 2026 au 31 mars 2027", "from … to …", "del … al …",
  "17 décembre 2024 - 24 janvier 2025") gives the opening date and the deadline; the opening
  date is never taken as the deadline;
- in a deadline text (a "Date limite" value) every date is a deadline unless the words before
  it make it something else ("Ouverture : …", "publié le …", "résultats le …");
- in a description or a listing card, a date is a deadline only when a deadline cue stands
  before it ("Date limite : 26 mars 2027", "Deadline: 9 April 2027", "Clôture le …", "closing
  date", "fecha límite"), or a weaker one right before it ("avant le", "until", "hasta el",
  "jusqu'au") in a sentence about applying; publication, event and opening dates are not;
- wording without a date ("rolling basis", "open until filled", "en continu", "au fil de
  l'eau", "sin fecha límite", "convocatoria abierta permanente") means a rolling call.

Cues are matched on lower-case text without accents; the nearest cue before a date (after the
previous date, within its sentence) decides, so "Publié le 3 mars. Date limite : 26 mars" reads
each date by its own words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from fundradar.pipeline.normalise.dates import DateSpan, ParsedDate, read_spans

__all__ = ["DeadlineReading", "read_deadline", "says_rolling"]


def _fold_char(c: str) -> str:
    base = (unicodedata.normalize("NFKD", c)[:1] or c).lower()
    return base if len(base) == 1 else c


# Latin letters with accents -> their base letter, one character for one, so positions in the
# folded text are positions in the original.
_FOLD_TABLE = {cp: _fold_char(chr(cp)) for cp in range(0xC0, 0x250)}
_FOLD_TABLE[ord("’")] = "'"


def _fold(text: str) -> str:
    """Lower case without accents, same length as the input, so positions map back."""
    low = text.lower()
    if len(low) != len(text):  # a letter whose lower case is longer ("İ"): one at a time
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    return low.translate(_FOLD_TABLE)


def _words(*phrases: str) -> str:
    alts = sorted({p.replace(" ", r"\s+") for p in phrases}, key=len, reverse=True)
    return r"(?<![\w])(?:" + "|".join(alts) + r")(?![\w])"


# A deadline said in so many words: may stand a few words before the date ("La date limite
# de dépôt des dossiers est fixée au 26 mars 2027").
_STRONG = _words(
    "date limite", "date-limite", "dates limites", "date de cloture", "cloture", "cloturera",
    "date butoir", "date-butoir", "remise des dossiers", "remise des candidatures",
    "reception des dossiers", "applications close", "applications due", "apply before",
    "se clot", "se cloturera", "limite de depot", "limite de reception", "limite de soumission",
    "echeance", "fin de l'appel", "fin des candidatures", "fin du depot", "au plus tard",
    "deadline", "deadlines", "closing date", "close date", "closes", "closing", "will close",
    "close on", "due date", "due by", "due on", "apply by", "submit by", "no later than",
    "not later than", "at the latest", "submission date", "last date", "fecha limite",
    "fechas limite", "fecha de cierre", "cierre", "cierra", "se cierra", "cerrara", "plazo",
    "vence", "vencimiento", "a mas tardar", "finaliza", "termina",
)  # fmt: skip
# Cues too common to trust at a distance: only right before the date, in a sentence about
# applying ("Les candidatures sont ouvertes jusqu'au 30 avril 2027").
_WEAK = _words(
    "avant le", "avant", "jusqu'au", "jusqu'a", "d'ici le", "until", "till", "before", "by",
    "hasta el", "hasta", "antes del", "antes de", "a mas tardar el",
)  # fmt: skip
_OPENING = _words(
    "ouverture", "ouvert le", "ouvre le", "ouvrira", "ouverte le", "lancement", "lance le",
    "lancee le", "lance", "lancee", "a partir du", "a partir de", "des le", "depuis", "opens",
    "opening", "opened", "open from", "launch", "launched", "start date", "starts", "starting",
    "from", "since", "apertura", "abre", "se abre", "a partir del", "desde", "inicio",
    "lanzamiento",
)  # fmt: skip
# Dates that are something else: when written, an event, a result, a project's own time.
_OTHER = _words(
    "publie", "publiee", "publication", "mis en ligne", "mise en ligne", "mis a jour",
    "mise a jour", "actualise", "published", "posted", "updated", "last modified", "publicado",
    "publicada", "publicacion", "actualizado", "modificado", "conference", "atelier", "seminaire",
    "webinaire", "webinar", "workshop", "event", "evenement", "session d'information",
    "information session", "info session", "info day", "journee d'information", "reunion",
    "meeting", "ceremonie", "ceremony", "forum", "salon", "formation", "training", "aura lieu",
    "se tiendra", "se deroulera", "takes place", "take place", "will be held", "held on",
    "tendra lugar", "se celebrara", "taller", "evento", "jornada", "resultats", "results",
    "resultados", "notification", "announced", "annonce", "selection", "jury", "comite",
    "committee", "comite de seleccion", "demarrage", "mise en oeuvre", "implementation",
    "project start", "projects start", "projects must start", "duree", "duration", "ejecucion",
    "ended", "ending", "initialement", "initialement prevue", "au lieu du", "initially",
    "originally", "instead of", "previously", "inicialmente", "en lugar del",
)  # fmt: skip
# An earlier deadline moved to a later one: the earlier is neither an opening nor a deadline.
_EXTENDED = _words(
    "prolonge", "prolongee", "prolongation", "reporte", "reportee", "repousse", "repoussee",
    "extended", "extension", "postponed", "prorroga", "prorrogado", "prorrogada", "ampliado",
    "ampliada", "aplazado",
)  # fmt: skip
_CUES = re.compile(
    "|".join(
        f"(?P<{name}>{rx})"
        for name, rx in (
            ("extended", _EXTENDED),
            ("strong", _STRONG),
            ("other", _OTHER),
            ("opening", _OPENING),
            ("weak", _WEAK),
        )
    )
)
# Words of a sentence about applying: what makes a weak cue ("until") a deadline.
_APPLYING = re.compile(
    _words(
        "candidature", "candidatures", "candidater", "candidats", "dossier", "dossiers", "depot",
        "deposer", "deposes", "deposees", "soumettre", "soumission", "soumissions", "appel",
        "appels", "projets", "propositions", "manifestation d'interet", "lettre d'intention",
        "inscriptions",
        "apply", "applying", "application", "applications", "applicants", "submit", "submitted",
        "submission", "submissions", "proposal", "proposals", "concept note", "concept notes",
        "expression of interest", "expressions of interest", "call", "entries", "nominations",
        "solicitud", "solicitudes", "postular", "postulaciones", "postulacion", "propuesta",
        "propuestas", "presentar", "presentacion", "convocatoria", "inscripciones",
    )
)  # fmt: skip
# What may stand between a weak cue and its date: an article, a weekday ("jusqu'au lundi").
_ADJACENT = re.compile(r"[\s,:]*(?:(?:le|la|the|el|on|du|de|del)\s+)?[\s,:]*")
_SENTENCE_END = re.compile(r"[.!?;](?=\s)|\n\s*\n")
_WINDOW = 160  # how far back a cue may stand from its date, in characters

_ROLLING = re.compile(
    _words(
        "rolling basis", "on a rolling", "rolling deadline", "rolling call", "rolling applications",
        "rolling submissions", "rolling admissions", "open until filled", "until filled",
        "until further notice", "no deadline", "no fixed deadline", "no closing date", "open-ended",
        "open ended", "ongoing basis", "continuous submission", "continuously open",
        "open continuously", "open all year", "open year-round", "en continu", "au fil de l'eau",
        "sans date limite", "pas de date limite", "sans date de cloture", "jusqu'a nouvel ordre",
        "appel permanent", "guichet ouvert", "sin fecha limite",
        "sin fecha de cierre", "convocatoria abierta permanente", "convocatoria permanente",
        "ventanilla abierta",
        "de forma continua", "abierta todo el ano", "hasta nuevo aviso",
    )
)  # fmt: skip
# "No deadline extension will be granted" is not a rolling call.
_NOT_ROLLING_AFTER = re.compile(r"\s+(?:extension|extensions|prolongation)\b")


def says_rolling(text: str | None) -> bool:
    """Does the text say the call has no fixed deadline (rolling basis, en continu...)?"""
    if not text:
        return False
    folded = _fold(text)
    return any(not _NOT_ROLLING_AFTER.match(folded, m.end()) for m in _ROLLING.finditer(folded))


@dataclass
class DeadlineReading:
    opens: ParsedDate | None = None
    deadlines: list[ParsedDate] = field(default_factory=list)
    rolling: bool = False
    found_in: str | None = None  # "deadline" | "period" | "description": where it was read
    notes: list[str] = field(default_factory=list)  # for the call's notes, never silent


def _cues_before(folded: str, span: DateSpan, floor: int) -> list[re.Match[str]]:
    """The cues before the span, after `floor` (the previous date) and within its sentence."""
    lo = max(floor, span.start - _WINDOW)
    for m in _SENTENCE_END.finditer(folded, lo, span.start):
        lo = m.end()
    return list(_CUES.finditer(folded, lo, span.start))


def _sentence(folded: str, at: int) -> tuple[int, int]:
    lo = max(0, at - 300)
    start = lo
    for m in _SENTENCE_END.finditer(folded, lo, at):
        start = m.end()
    end_m = _SENTENCE_END.search(folded, at, at + 300)
    return start, end_m.start() if end_m else min(len(folded), at + 300)


def _classify(text: str, spans: list[DateSpan], mode: str) -> list[tuple[str, DateSpan]]:
    """Each span with its role: "deadline", "new_deadline" (an extension: replaces the
    deadlines before it), "opens" or "skip". mode "deadline" or "period" (a text that is about
    the deadline): a date is a deadline unless a cue says otherwise; "description": only with
    a deadline cue."""
    if not spans:
        return []
    folded = _fold(text)
    trusted = mode != "description"
    out: list[tuple[str, DateSpan]] = []
    floor = 0
    i = 0
    while i < len(spans):
        span = spans[i]
        cues = _cues_before(folded, span, floor)
        kinds = {m.lastgroup for m in cues}
        nearest = cues[-1].lastgroup if cues else None
        if span.opens_period and i + 1 < len(spans):
            end = spans[i + 1]
            if "extended" in kinds:  # "prolongée du 15 mars au 30 avril": the new deadline
                out += [("skip", span), ("new_deadline", end)]
            elif trusted or (
                "other" not in kinds and ("strong" in kinds or _applying_near(folded, span))
            ):
                out += [("opens", span), ("deadline", end)]
            else:  # an event's dates, a project's duration
                out += [("skip", span), ("skip", end)]
            floor = end.end
            i += 2
            continue
        if nearest in ("strong", "extended", "weak") and "extended" in kinds:
            # "31 mars 2027 (prolongée jusqu'au 15 avril 2027)": the new date replaces the old
            role = "new_deadline"
        elif nearest == "strong":
            role = "deadline"
        elif nearest == "weak":
            role = "deadline" if _weak_holds(folded, span, cues[-1], trusted) else "skip"
        elif nearest == "opening":
            role = "skip" if "extended" in kinds else "opens"  # "(extended from 1 March)"
        elif nearest == "other":
            role = "skip"
        else:
            role = "deadline" if trusted else "skip"
        out.append((role, span))
        floor = span.end
        i += 1
    return out


def _applying_near(folded: str, span: DateSpan) -> bool:
    start, _ = _sentence(folded, span.start)
    return bool(_APPLYING.search(folded, max(start, span.start - _WINDOW), span.start))


def _weak_holds(folded: str, span: DateSpan, cue: re.Match[str], trusted: bool) -> bool:
    """'until' counts only right before the date, in a sentence about applying and not about
    an event or a project's own time."""
    if not _ADJACENT.fullmatch(folded, cue.end(), span.start):
        return False
    if trusted:
        return True
    start, end = _sentence(folded, span.start)
    sentence = folded[start:end]
    if any(m.lastgroup == "other" for m in _CUES.finditer(sentence)):
        return False
    return bool(_APPLYING.search(sentence))


def _read(
    text: str, mode: str, *, tz: str, reference: datetime, order: str
) -> tuple[ParsedDate | None, list[ParsedDate], list[str]]:
    """(opening date, deadlines, reasons for impossible dates) of one text."""
    spans = read_spans(text, tz=tz, reference=reference, order=order)
    opens: ParsedDate | None = None
    deadlines: list[ParsedDate] = []
    errors: list[str] = []
    for role, span in _classify(text, spans, mode):
        if span.error:
            if role != "skip":
                errors.append(span.error)
            continue
        if role == "new_deadline" and span.closing is not None:
            deadlines = [span.closing]  # what the text gave before it is superseded
        elif role == "deadline" and span.closing is not None:
            deadlines.append(span.closing)
        elif role == "opens" and span.opening is not None and opens is None:
            opens = span.opening
    return opens, deadlines, errors


def read_deadline(
    *,
    deadline_texts: list[str],
    period_text: str | None = None,
    opens_text: str | None = None,
    status_text: str | None = None,
    description: tuple[str | None, ...] = (),
    tz: str,
    reference: datetime,
    order: str = "DMY",
) -> DeadlineReading:
    """Opening date, deadlines and rolling-ness of a call, from its texts in order of trust:
    the deadline texts, then the period; only when those give no deadline, the title and
    description (the words of the status text and the description may also say "rolling")."""
    reading = DeadlineReading()

    def read(text: str, mode: str) -> tuple[ParsedDate | None, list[ParsedDate], list[str]]:
        return _read(text, mode, tz=tz, reference=reference, order=order)

    for text in deadline_texts:
        if not text:
            continue
        opens, found, errors = read(text, "deadline")
        reading.notes += [f"deadline rejected: {e} (“{text[:80]}”)" for e in errors]
        reading.opens = reading.opens or opens
        if not found and not errors:
            if says_rolling(text):
                reading.rolling = True
            else:
                reading.notes.append(f"deadline not understood: “{text[:80]}”")
        reading.deadlines += found
    if reading.deadlines:
        reading.found_in = "deadline"
    if period_text:
        opens, found, errors = read(period_text, "period")
        reading.notes += [f"period rejected: {e}" for e in errors]
        reading.opens = reading.opens or opens
        if found and not reading.deadlines:
            reading.deadlines, reading.found_in = found[-1:], "period"
        reading.rolling = reading.rolling or (not found and says_rolling(period_text))
    if opens_text:
        spans = read_spans(opens_text, tz=tz, reference=reference, order=order)
        first = next((s for s in spans if s.opening is not None or s.error), None)
        if first is not None and first.error:
            reading.notes.append(f"opening date rejected: {first.error}")
        elif first is not None:
            reading.opens = first.opening  # the page's own opening date wins
    if reading.deadlines:
        return reading
    reading.rolling = reading.rolling or says_rolling(status_text)
    if reading.rolling:
        return reading
    for text in description:
        if not text:
            continue
        opens, found, _errors = read(text, "description")
        if found:
            # an opening date in a description counts only beside its deadline
            reading.opens = reading.opens or opens
            reading.deadlines, reading.found_in = found, "description"
            shown = "; ".join(f"“{d.text}”" for d in found[:3])
            reading.notes.append(f"deadline read from the description: {shown}")
            return reading
    reading.rolling = any(says_rolling(t) for t in description)
    return reading
