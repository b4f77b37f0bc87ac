"""Dates and deadlines as funders write them (French, English, Spanish), read into aware UTC.

Why not just `dateparser`: it silently guesses (month-first on "06/04/2026", the current year for
"le 15 mai", the machine's zone when none is stated) and costs ~3 ms a string. Deadlines decide
whether an OECS officer sees a call in time, so this module decides those things itself, and
says so in the result (`ParsedDate.notes`) whenever it had to choose:

- numeric dates follow the source's order (`order="DMY"` for French, Spanish, British and
  Caribbean sites, `"MDY"` for US ones); when the other order is impossible it is used instead
  ("06/30/2025"), and when both readings are real, different dates ("03/04/2027") the result
  carries a note naming the other reading;
- a missing year is placed on or after `reference` (or before it after "dernier"/"pasado"), and
  the result says so (`inferred_year`); a weekday written beside the date is checked;
- the zone comes from the text (CET, heure de Paris, hora de Madrid, AST, EST, +01:00...) or
  from the caller's default, and the result says which (`tz_source`, `zone`). Named zones go
  through zoneinfo so "17:00 CET" in July is 17:00 Brussels summer time, as funders mean it;
- a date without a time is a deadline day: 23:59:59 local, the end of that day (`has_time` False
  tells the caller to show it as a date, not as a converted clock time).

A regex pass does the work; `dateparser` is only a last resort for short strings the patterns
miss (other languages), and only when it finds a day, a month and a year. `read_spans` gives
every date of a text with its position and whether it opens a period ("du … au …"), for the
cue-word reader in `pipeline.normalise.deadline`.
"""

from __future__ import annotations

import calendar
import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = [
    "DateSpan",
    "InvalidDate",
    "ParsedDate",
    "format_deadline",
    "format_local",
    "parse_date",
    "parse_dates",
    "parse_dates_with_errors",
    "parse_period",
    "read_spans",
    "to_local",
    "zone_label",
]

MIN_YEAR = 1990
MAX_YEAR = 2100
DISPLAY_TZ = "America/St_Lucia"  # the OECS Commission reads deadlines in Castries time


class InvalidDate(ValueError):
    """A date is written but cannot exist (31/02/2025, month 13, year 1900 or 2200).

    Raised by `parse_date` and `parse_period`; the message is the human reason, fit for a
    call's `notes`.
    """


@dataclass(frozen=True)
class ParsedDate:
    value: datetime  # timezone-aware, UTC
    has_time: bool  # False: the text gave a day (or month) only; value is 23:59:59 local
    inferred_year: bool  # the text had no year; placed relative to `reference`
    tz_source: str  # "text" (zone stated in the text) or "default"
    text: str  # the substring it was read from
    month_only: bool = False  # "June 2026": value is the month's last (or first) day
    # the zone it was read in: an IANA name, or "+HH:MM" for a written offset
    zone: str | None = field(default=None, compare=False)
    # what had to be chosen, for the call's notes: an ambiguous 03/04/2027, a weekday that
    # does not match the date
    notes: tuple[str, ...] = field(default=(), compare=False)


# --------------------------------------------------------------------------------------------
# Vocabulary


def _fold(s: str) -> str:
    """Lower case without accents: 'Février' -> 'fevrier'."""
    s = unicodedata.normalize("NFKD", s.lower())
    return "".join(c for c in s if not unicodedata.combining(c))


# Full month names (fr, en, es, then nl, pt, de, it, which some Caribbean and EU pages use).
_MONTH_NAMES: dict[int, tuple[str, ...]] = {
    1: ("janvier", "january", "enero", "januari", "janeiro", "januar", "jänner", "gennaio"),
    2: ("février", "february", "febrero", "februari", "fevereiro", "februar", "febbraio"),
    3: ("mars", "march", "marzo", "maart", "março", "märz"),
    4: ("avril", "april", "abril", "aprile"),
    5: ("mai", "may", "mayo", "mei", "maio", "maggio"),
    6: ("juin", "june", "junio", "juni", "junho", "giugno"),
    7: ("juillet", "july", "julio", "juli", "julho", "luglio"),
    8: ("août", "august", "agosto", "augustus"),
    9: ("septembre", "september", "septiembre", "setiembre", "setembro", "settembre"),
    10: ("octobre", "october", "octubre", "oktober", "outubro", "ottobre"),
    11: ("novembre", "november", "noviembre", "novembro"),
    12: ("décembre", "december", "diciembre", "dezember", "dezembro", "dicembre"),
}
_MONTH_ABBR: dict[int, tuple[str, ...]] = {
    1: ("janv", "jan", "ene"),
    2: ("févr", "fév", "feb", "fev"),
    3: ("mar",),
    4: ("avr", "apr", "abr"),
    6: ("jun",),
    7: ("juil", "jul"),
    8: ("aug", "ago"),
    9: ("sept", "sep"),
    10: ("oct", "okt"),
    11: ("nov",),
    12: ("déc", "dec", "dic"),
}
_MONTHS: dict[str, int] = {}
_FULL_NAMES: set[str] = set()
for _num, _names in _MONTH_NAMES.items():
    for _n in _names:
        _MONTHS[_n] = _num
        _MONTHS[_fold(_n)] = _num  # "fevrier", "aout", "decembre": accents are often dropped
        _FULL_NAMES.update((_n, _fold(_n)))
for _num, _names in _MONTH_ABBR.items():
    for _n in _names:
        _MONTHS[_n] = _num
        _MONTHS[_fold(_n)] = _num
# "marco" would also catch the first name Marco; only the accented Portuguese form is a month.
_MONTHS.pop("marco", None)

# weekday word -> 0 (Monday) .. 6, so "lundi 13 mai" can be checked against the date
_WEEKDAY_NUM: dict[str, int] = {
    **dict.fromkeys(("lundi", "monday", "mon", "lunes"), 0),
    **dict.fromkeys(("mardi", "tuesday", "tue", "tues", "martes"), 1),
    **dict.fromkeys(("mercredi", "wednesday", "wed", "miércoles", "miercoles"), 2),
    **dict.fromkeys(("jeudi", "thursday", "thu", "thur", "thurs", "jueves"), 3),
    **dict.fromkeys(("vendredi", "friday", "fri", "viernes"), 4),
    **dict.fromkeys(("samedi", "saturday", "sat", "sábado", "sabado"), 5),
    **dict.fromkeys(("dimanche", "sunday", "sun", "domingo"), 6),
}
_WEEKDAYS = tuple(_WEEKDAY_NUM)


def _alt(words: set[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_MON = rf"(?<![^\W\d_])(?:{_alt(set(_MONTHS))})(?![^\W\d_])"
_WD = rf"(?<![^\W\d_])(?:{_alt(set(_WEEKDAYS))})(?![^\W\d_])"
_ORD = r"(?:er|re|ère|ème|eme|e|st|nd|rd|th|º|°|ª|\.º)?"  # 1er, 1st, 1º
_DAY_LB = r"(?<![\w/:.,+])"  # not inside another number, code, time or phone number

# One alternation, one scan; each branch's groups carry its prefix (m.lastgroup names the
# branch). Order matters where two branches can start at the same place.
_DATE_RE = re.compile(
    rf"""
    (?P<iso>(?<![\w/.-])(?P<iso_y>\d{{4}})-(?P<iso_m>\d{{1,2}})-(?P<iso_d>\d{{1,2}})
        (?:[T\ ](?P<iso_H>\d{{1,2}}):(?P<iso_M>\d{{2}})(?::(?P<iso_S>\d{{2}})(?:[.,]\d{{1,9}})?)?
           (?P<iso_z>\s?(?:Z|[+-]\d{{2}}(?::?\d{{2}})?))?)?
        (?![\w-]))
    |(?P<ymd>(?<![\w/.-])(?P<ymd_y>\d{{4}})(?P<ymd_sep>[/.])(?P<ymd_m>\d{{1,2}})(?P=ymd_sep)
        (?P<ymd_d>\d{{1,2}})(?![\w/-]|[.,]\d))
    |(?P<dmy>(?<![\w/.,:+-])(?P<dmy_d>\d{{1,2}})(?P<dmy_sep>[/.-])(?P<dmy_m>\d{{1,2}})(?P=dmy_sep)
        (?P<dmy_y>\d{{4}}|\d{{2}})(?![\w/-]|[.,:]\d))
    |(?P<t1>{_DAY_LB}(?P<t1_d>[0-3]?\d){_ORD}(?![\d:])\.?\s*(?:de\s+|of\s+|-\s*)?
        (?P<t1_mon>{_MON})(?P<t1_dot>\.)?
        (?:,?\s*(?:de\s+|del\s+|-\s*)?(?P<t1_y>\d{{4}})(?!\d)
           |(?:-|\s*['’])(?P<t1_yy>\d{{2}})(?![\d/.-]))?)
    |(?P<t2>(?P<t2_mon>{_MON})(?P<t2_dot>\.)?
        (?:\s+(?:the\s+)?(?P<t2_d>[0-3]?\d)(?:st|nd|rd|th)?(?![\d:])
           (?:(?:,\s*|\s+)(?P<t2_y>\d{{4}})(?!\d))?
         |,?\s*(?:de\s+|del\s+|of\s+)?(?P<t2_y2>\d{{4}})(?!\d)))
    """,
    re.IGNORECASE | re.VERBOSE,
)

# A time written after a date (", 17:00", " à 12h00", " a las 23:59", " at 5 p.m.").
_TIME = r"""
    (?:(?P<H>\d{1,2})\s*(?:
          :(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,]\d{1,9})?)?
        | (?:h|H|heures?|hrs?)(?:\s*(?P<Mh>\d{2}))?
       )(?![\w])(?:\s*(?P<ap>[aApP])\.?\s?[mM](?![\w])\.?)?(?:\s*(?:noon|midday))?
     |(?P<H2>\d{1,2})(?:[.:](?P<M2>\d{2}))?\s*(?P<ap2>[aApP])\.?\s?[mM](?![\w])\.?
     |(?P<noon>(?i:midi|noon|midday|mediod[ií]a)(?![\w]))
     |(?P<midnight>(?i:minuit|midnight|medianoche)(?![\w]))
    )
"""
_TIME_AFTER_RE = re.compile(
    r"[\s,:(\-–—]*(?:(?i:au\s+plus\s+tard|(?:no|not)\s+later\s+than|a\s+m[aá]s\s+tardar"
    r"|at\s+the\s+latest|latest)[\s,]*)?"  # "(au plus tard à 18 heures)"
    r"(?:(?i:at|à|a|by|before|avant|until|till|jusqu['’]à|hasta|à\s+partir\s+de"
    r"|from|dès|om|às|as|um|alle|@)\s+)?(?:(?i:las|la|les|the|de)\s+)?" + _TIME,
    re.VERBOSE,
)

# Zone words. Upper-case abbreviations are case-sensitive: "est" and "cet" are French words.
_ZONE_WORDS: tuple[tuple[str, str], ...] = (
    (r"CES?T(?:\s*/\s*CES?T)?", "Europe/Brussels"),
    (
        r"(?i:Brussels(?:\s+local)?(?:\s+time)?|heure\s+(?:locale\s+)?de\s+Bruxelles)",
        "Europe/Brussels",
    ),
    (r"(?i:hora\s+(?:local\s+)?(?:de\s+)?Bruselas)", "Europe/Brussels"),
    (r"(?i:Central\s+European\s+(?:Summer\s+|Standard\s+)?Time)", "Europe/Brussels"),
    (r"(?i:hora\s+(?:central\s+europea|de\s+Europa\s+central))", "Europe/Brussels"),
    (r"(?i:heure\s+d['’]Europe\s+centrale)", "Europe/Brussels"),
    (
        r"(?i:heure\s+(?:légale\s+|locale\s+|officielle\s+)?(?:de\s+|d['’])?(?:Paris"
        r"|(?:la\s+)?France(?:\s+métropolitaine|\s+hexagonale)?|(?:la\s+)?métropole"
        r"|l['’]Hexagone|métropolitaine|française|hexagonale))",
        "Europe/Paris",
    ),
    (r"(?i:Paris(?:\s+local)?\s+time|hora\s+de\s+París)", "Europe/Paris"),
    (r"(?i:hora\s+(?:peninsular(?:\s+española)?|de\s+Madrid|española))", "Europe/Madrid"),
    (
        r"(?i:heure\s+(?:locale\s+)?(?:de\s+(?:la\s+)?)?Martinique|heure\s+de\s+Fort-de-France)",
        "America/Martinique",
    ),
    (r"(?i:heure\s+(?:locale\s+)?(?:de\s+(?:la\s+)?)?Guadeloupe)", "America/Guadeloupe"),
    (r"(?i:heure\s+(?:des\s+Antilles|antillaise))", "America/Martinique"),
    (r"(?i:heure\s+(?:locale\s+)?de\s+Saint-Martin)", "America/Marigot"),
    (r"(?i:heure\s+(?:locale\s+)?de\s+(?:(?:la\s+)?Guyane|Cayenne))", "America/Cayenne"),
    (r"(?i:heure\s+de\s+Sainte-Lucie|(?:Saint|St\.?)\s+Lucia\s+time)", "America/St_Lucia"),
    (
        r"(?i:Atlantic\s+Standard\s+Time|Eastern\s+Caribbean\s+(?:Standard\s+)?Time)",
        "America/St_Lucia",
    ),
    (r"AST", "America/St_Lucia"),
    (r"(?i:hora\s+(?:estándar\s+)?del\s+Atlántico)", "America/Puerto_Rico"),
    (r"E[SD]T", "America/New_York"),
    (r"(?i:Eastern\s+(?:Standard\s+|Daylight\s+)?Time|New\s+York\s+time)", "America/New_York"),
    (
        r"(?i:heure\s+de\s+(?:New\s+York|Washington)|Washington,?\s+D\.?\s?C\.?\s+time)",
        "America/New_York",
    ),
    (r"P[SD]T|(?i:Pacific\s+(?:Standard\s+|Daylight\s+)?Time)", "America/Los_Angeles"),
    (r"BST|(?i:London\s+time|UK\s+time|heure\s+de\s+Londres)", "Europe/London"),
    (r"(?:UTC|GMT)(?!\s*[+\-−]\s*\d)(?:\s*time)?", "UTC"),
    (r"(?i:temps\s+universel(?:\s+coordonné)?|Coordinated\s+Universal\s+Time)", "UTC"),
)
_ZONE_ALT = "|".join(f"(?P<z{i}>{pat})" for i, (pat, _) in enumerate(_ZONE_WORDS))
_OFFSET = r"(?:(?:UTC|GMT)\s*(?P<off>[+\-−]\s*\d{1,2}(?::?\d{2})?)|(?P<off2>[+\-−]\d{2}:?\d{2}))"
_ZONE_BODY = rf"(?:{_OFFSET}|{_ZONE_ALT})(?![\w])"
# "(18 heures – heure de Paris)": a dash may stand between the time and its zone
_ZONE_AFTER_RE = re.compile(rf"\s*[,(\[]?\s*(?:[-–—]\s*)?(?:(?i:in|en)\s+)?{_ZONE_BODY}\s*[)\]]?")
# "ET" alone only right after a time ("5 p.m. ET"); after a bare date it is too often "and".
_ET_AFTER_TIME_RE = re.compile(r"\s*\(?ET\b\)?")
_TIME_BEFORE_RE = re.compile(
    r"(?:^|(?<=[\s,:(]))" + _TIME + rf"(?:\s*[,(\[]?\s*{_ZONE_BODY}\s*[)\]]?)?"
    r"[\s,]*(?:(?i:on|le|the|el|du|del|de|of)\s+)?(?:(?i:the|le)\s+)?$",
    re.VERBOSE,
)
# Kept out of the main scan (it would try the weekday words at every word start).
_LEFT_RE = re.compile(
    rf"(?:\b(?:le|the|el|den)\s+)?(?:(?P<wd>{_WD})\.?,?\s+)?(?:\b(?:le|the|el|den)\s+)?$",
    re.IGNORECASE,
)
_PAST_RE = re.compile(r"\s+(?i:dernier|passé|pasado|last)\b")
_YEAR_BORROW_GAP_RE = re.compile(
    r"^\s*(?:[-–—/,&]|(?i:au|to|al|a|à|et|and|y|until|till|jusqu['’]au|hasta\s+el))?\s*$"
)


# --------------------------------------------------------------------------------------------
# Scanning: find what is written, decide nothing yet


@dataclass
class _Raw:
    start: int
    end: int
    year: int | None
    month: int
    day: int | None  # None: month only
    hour: int | None = None
    minute: int = 0
    second: int = 0
    zone: str | None = None  # IANA name, or "+HH:MM" for an explicit offset
    past: bool = False  # "le 12 décembre dernier"
    error: str | None = None  # impossible as written
    weekday: int | None = None  # "lundi 13 mai": 0 (Monday); checked against the date
    # a numeric date: how it was read ("day/month" or "month/day"), why, and the other
    # reading (month, day) when it is a real, different date too
    numeric: tuple[str, str, tuple[int, int] | None, str] | None = None


def _int(s: str | None) -> int | None:
    return int(s) if s else None


def _check_ymd(y: int, m: int, d: int) -> str | None:
    """The human reason a written date cannot exist, or None."""
    if not MIN_YEAR <= y <= MAX_YEAR:
        return f"year {y} is out of range ({MIN_YEAR}–{MAX_YEAR})"
    if not 1 <= m <= 12:
        return f"month {m} does not exist"
    last = calendar.monthrange(y, m)[1]
    if not 1 <= d <= last:
        return f"there is no day {d} in {calendar.month_name[m]} {y} (it has {last} days)"
    return None


def _apply_time(raw: _Raw, gd: dict[str, str | None]) -> None:
    if gd.get("noon"):
        raw.hour, raw.minute = 12, 0
        return
    if gd.get("midnight"):
        raw.hour, raw.minute = 23, 59  # "à minuit" on a deadline day: the end of that day
        return
    h = _int(gd.get("H"))
    if h is not None:
        mi = _int(gd.get("M")) or _int(gd.get("Mh")) or 0
        sec = _int(gd.get("S")) or 0
        ap = gd.get("ap")
    else:
        h = _int(gd.get("H2"))
        mi = _int(gd.get("M2")) or 0
        sec = 0
        ap = gd.get("ap2")
    if h is None:
        return
    if ap:
        if not 1 <= h <= 12:
            raw.error = raw.error or f"hour {h} {ap.lower()}m does not exist"
            return
        h = h % 12 + (12 if ap.lower() == "p" else 0)
    if h == 24 and mi == 0 and sec == 0:
        raw.hour, raw.minute = 23, 59  # "24h00": the end of that day, not the next one
        return
    if h > 23 or mi > 59 or sec > 59:
        raw.error = raw.error or f"time {h:02d}:{mi:02d} does not exist"
        return
    raw.hour, raw.minute, raw.second = h, mi, sec


def _zone_from(m: re.Match[str]) -> str | None:
    gd = m.groupdict()
    off = gd.get("off") or gd.get("off2")
    if off:
        return _normalise_offset(off)
    for i, (_, zone) in enumerate(_ZONE_WORDS):
        if gd.get(f"z{i}"):
            return zone
    return None


def _normalise_offset(off: str) -> str:
    off = off.replace("−", "-").replace(" ", "").replace(":", "")
    sign, digits = off[0], off[1:]
    if len(digits) <= 2:
        hh, mm = int(digits), 0
    else:
        hh, mm = int(digits[:-2]), int(digits[-2:])
    return f"{sign}{hh:02d}:{mm:02d}"


def _raw_from_match(m: re.Match[str], order: str = "DMY") -> _Raw | None:
    kind = m.lastgroup
    g = m.group
    if kind == "iso":
        raw = _Raw(m.start(), m.end(), int(g("iso_y")), int(g("iso_m")), int(g("iso_d")))
        if g("iso_H") is not None:
            _apply_time(raw, {"H": g("iso_H"), "M": g("iso_M"), "S": g("iso_S")})
        z = g("iso_z")
        if z:
            z = z.strip()
            raw.zone = "UTC" if z == "Z" else _normalise_offset(z)
        return raw
    if kind == "ymd":
        return _Raw(m.start(), m.end(), int(g("ymd_y")), int(g("ymd_m")), int(g("ymd_d")))
    if kind == "dmy":
        first, second, ys = int(g("dmy_d")), int(g("dmy_m")), g("dmy_y")
        y = int(ys)
        if len(ys) == 2:
            y += 2000 if y < 70 else 1900
        day_first = order != "MDY"
        why = "source locale"
        if (second if day_first else first) > 12 and (first if day_first else second) <= 12:
            # 06/30/2025 on a day-first site (a US aggregator's copy), 30/06/2025 on a US one:
            # the source's order is impossible there and the other is not.
            day_first = not day_first
            why = "the other order is impossible"
        d, mo = (first, second) if day_first else (second, first)
        how = "day/month" if day_first else "month/day"
        # the other reading as (day, month), when it is a real, different date too
        other = (mo, d) if first != second and first <= 12 and second <= 12 else None
        raw = _Raw(m.start(), m.end(), y, mo, d)
        raw.numeric = (how, why, other, g("dmy"))
        return raw
    if kind == "t2" and g("t2_y2"):  # month and year only: "June 2026", "junio de 2026"
        return _Raw(m.start(), m.end(), int(g("t2_y2")), _MONTHS[_fold(g("t2_mon"))], None)
    if kind in ("t1", "t2"):
        token = g(f"{kind}_mon")
        year = _int(g(f"{kind}_y"))
        if kind == "t1" and g("t1_yy"):  # "31-Mar-25", as spreadsheets export it
            year = 2000 + int(g("t1_yy"))
        if year is None and not _plausible_month_without_year(token, g(f"{kind}_dot")):
            return None
        start, weekday = _extend_left(m.string, m.start())
        raw = _Raw(start, m.end(), year, _MONTHS[_fold(token)], int(g(f"{kind}_d")))
        raw.weekday = weekday
        if year is None:
            raw.past = bool(_PAST_RE.match(m.string, m.end()))
        return raw
    return None  # pragma: no cover - every branch is named


def _extend_left(text: str, start: int) -> tuple[int, int | None]:
    """Take in a weekday and article written before the day: 'le lundi 7 novembre'."""
    m = _LEFT_RE.search(text, max(0, start - 25), start)
    if not m:
        return start, None
    wd = m.group("wd")
    return m.start(), (_WEEKDAY_NUM.get(wd.lower()) if wd else None)


def _plausible_month_without_year(token: str, dot: str | None) -> bool:
    """'10 may be funded' is not 10 May; '7 sept projets' is not 7 September."""
    low = _fold(token)
    if low == "may":
        return token[0] == "M"
    if low in _FULL_NAMES:
        return True
    return bool(dot) or token[0].isupper()  # an abbreviation: "Mar." or "Mar", not "mar"


_DIGITS_RE = re.compile(r"\d+")
_REACH = 30  # every date has a digit; its month name stands within this many characters of it
# What every date has besides a digit: a month name or a numeric separator. Checked with
# plain string work, much cheaper than the full date pattern (whose look-behinds stop the
# regex engine from skipping ahead).
_MONTH_PREFIXES = frozenset(k[:3] for k in _MONTHS)
_WORD_RE = re.compile(r"[^\W\d_]{3,}")
_NUMERIC_RE = re.compile(r"\d[/.-]\d")


def _may_hold_a_date(region: str) -> bool:
    if _NUMERIC_RE.search(region):
        return True
    return any(w[:3] in _MONTH_PREFIXES for w in _WORD_RE.findall(region.lower()))


def _regions(text: str) -> list[tuple[int, int]]:
    """The stretches of a long text where a date can be: around its digits, when a month name
    or a numeric separator is there too. Scanning only these keeps a 3 kB description about
    as cheap as a short deadline text."""
    if len(text) <= 4 * _REACH:
        return [(0, len(text))]
    regions: list[tuple[int, int]] = []
    for m in _DIGITS_RE.finditer(text):
        lo, hi = max(0, m.start() - _REACH), min(len(text), m.end() + _REACH)
        if regions and lo <= regions[-1][1]:
            regions[-1] = (regions[-1][0], hi)
        else:
            regions.append((lo, hi))
    return [(lo, hi) for lo, hi in regions if _may_hold_a_date(text[lo:hi])]


def _scan(text: str, order: str = "DMY") -> list[_Raw]:
    """Every date written in text, with the time and zone written next to it."""
    raws: list[_Raw] = []
    for lo, hi in _regions(text):
        pos = lo
        while True:
            m = _DATE_RE.search(text, pos, hi)
            if not m:
                break
            raw = _raw_from_match(m, order)
            if raw is None:
                pos = m.start() + 1
                continue
            raws.append(raw)
            pos = m.end()
    for i, raw in enumerate(raws):
        prev_end = raws[i - 1].end if i else 0
        next_start = raws[i + 1].start if i + 1 < len(raws) else len(text)
        _attach_time_and_zone(text, raw, prev_end, next_start)
    return raws


def _attach_time_and_zone(text: str, raw: _Raw, prev_end: int, next_start: int) -> None:
    after_lim = min(next_start, raw.end + 60)
    has_time = raw.hour is not None
    if not has_time and raw.day is not None:
        tm = _TIME_AFTER_RE.match(text, raw.end, after_lim)
        if tm:
            _apply_time(raw, tm.groupdict())
            raw.end = tm.end()
            has_time = True
        else:
            window_start = max(prev_end, raw.start - 50)
            bm = _TIME_BEFORE_RE.search(text, window_start, raw.start)
            if bm:
                _apply_time(raw, bm.groupdict())
                raw.start = bm.start()
                zone = _zone_from(bm)
                if zone:
                    raw.zone = zone
                has_time = True
    if raw.zone is None:
        zm = _ZONE_AFTER_RE.match(text, raw.end, after_lim)
        if zm:
            raw.zone = _zone_from(zm)
            raw.end = zm.end()
        elif has_time and (et := _ET_AFTER_TIME_RE.match(text, raw.end, after_lim)):
            raw.zone = "America/New_York"
            raw.end = et.end()


def _borrow_years(text: str, raws: list[_Raw]) -> None:
    """'from 1 May to 30 June 2026', 'del 15 de abril al 17 de junio de 2016': the first side
    takes the second side's year (the year before if it would fall after it); and the other
    way round for 'du 12 décembre 2024 au 31 mars'."""
    for a, b in itertools.pairwise(raws):
        if not _YEAR_BORROW_GAP_RE.match(text[a.end : b.start]):
            continue
        if a.year is None and b.year is not None:
            a.year = b.year - (1 if (a.month, a.day or 1) > (b.month, b.day or 31) else 0)
        elif b.year is None and a.year is not None:
            b.year = a.year + (1 if (b.month, b.day or 31) < (a.month, a.day or 1) else 0)
        else:
            continue
        a.past = b.past = False


# --------------------------------------------------------------------------------------------
# Building: decide the year, the zone and the time of day


@lru_cache(maxsize=64)
def _zone(name: str) -> tzinfo:
    if name == "UTC":
        return UTC
    if name[0] in "+-":
        sign = -1 if name[0] == "-" else 1
        hh, mm = int(name[1:3]), int(name[4:6])
        return timezone(sign * timedelta(hours=hh, minutes=mm))
    return ZoneInfo(name)


def _as_reference(reference: datetime | None) -> datetime:
    if reference is None:
        return datetime.now(UTC)
    return reference if reference.tzinfo else reference.replace(tzinfo=UTC)


def _infer_year(raw: _Raw, ref_day: date) -> tuple[int | None, str | None]:
    """The year that puts (month, day) on or after ref_day (on or before it after 'dernier')."""
    assert raw.day is not None
    step = -1 if raw.past else 1
    y = ref_day.year
    for _ in range(9):  # 29 February comes back within 8 years
        if raw.day <= calendar.monthrange(y, raw.month)[1]:
            candidate = date(y, raw.month, raw.day)
            if (candidate >= ref_day) if step > 0 else (candidate <= ref_day):
                return y, None
        y += step
    return None, f"there is no day {raw.day} in {calendar.month_name[raw.month]}"


def _build(
    raw: _Raw, *, tz: str, reference: datetime | None, end_of_day: bool, text: str
) -> ParsedDate:
    """Turn a scanned date into a ParsedDate, or raise InvalidDate with the reason."""
    if raw.error:
        raise InvalidDate(f"{text[raw.start : raw.end].strip()!r}: {raw.error}")
    zone_name = raw.zone or tz
    zone = _zone(zone_name)
    inferred = False
    year = raw.year
    if raw.day is not None and not 1 <= raw.day <= 31:
        raise InvalidDate(f"{text[raw.start : raw.end].strip()!r}: day {raw.day} does not exist")
    if year is None:
        ref_day = _as_reference(reference).astimezone(zone).date()
        year, err = _infer_year(raw, ref_day)
        if err:
            raise InvalidDate(f"{text[raw.start : raw.end].strip()!r}: {err}")
        inferred = True
    assert year is not None
    day = raw.day
    month_only = day is None
    if day is None:
        if not 1 <= raw.month <= 12 or not MIN_YEAR <= year <= MAX_YEAR:
            raise InvalidDate(
                f"{text[raw.start : raw.end].strip()!r}: {_check_ymd(year, raw.month, 1)}"
            )
        day = calendar.monthrange(year, raw.month)[1] if end_of_day else 1
    err = _check_ymd(year, raw.month, day)
    if err:
        raise InvalidDate(f"{text[raw.start : raw.end].strip()!r}: {err}")
    has_time = raw.hour is not None
    if has_time:
        h, mi, s = raw.hour, raw.minute, raw.second
    elif end_of_day:
        h, mi, s = 23, 59, 59  # a deadline day means "by the end of that day"
    else:
        h, mi, s = 0, 0, 0  # an opening day starts at midnight
    # fold=0: in the autumn overlap the first (summer-time) 02:30 is taken; a time inside the
    # spring gap (02:30 on the last Sunday of March) is read with the winter offset.
    local = datetime(year, raw.month, day, h, mi, s, tzinfo=zone)  # type: ignore[arg-type]
    written = text[raw.start : raw.end].strip()
    return ParsedDate(
        value=local.astimezone(UTC),
        has_time=has_time,
        inferred_year=inferred,
        tz_source="text" if raw.zone else "default",
        text=written,
        month_only=month_only,
        zone=zone_name,
        notes=_choice_notes(raw, local.date(), text),
    )


_EN_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _long_date(d: date) -> str:
    return f"{d.day} {calendar.month_name[d.month]} {d.year}"


def _choice_notes(raw: _Raw, day: date, text: str) -> tuple[str, ...]:
    """What the reader chose that the text did not settle, in words for the call's notes."""
    notes: list[str] = []
    if raw.numeric is not None:
        how, why, other, written = raw.numeric
        if other is not None:
            alt = f"{other[0]} {calendar.month_name[other[1]]}"
            notes.append(f"date {written} read as {_long_date(day)} ({how}, {why}); could be {alt}")
        elif why != "source locale":
            notes.append(f"date {written} read as {_long_date(day)} ({how}: {why})")
    if raw.weekday is not None and raw.weekday != day.weekday():
        said = _EN_WEEKDAY_NAMES[raw.weekday]
        notes.append(
            f"“{text[raw.start : raw.end].strip()}”: {_long_date(day)} is a "
            f"{_EN_WEEKDAY_NAMES[day.weekday()]}, not a {said} — check the page"
        )
    return tuple(notes)


# --------------------------------------------------------------------------------------------
# Public API


def parse_date(
    text: str,
    *,
    tz: str = "Europe/Paris",
    reference: datetime | None = None,
    end_of_day: bool = True,
    order: str = "DMY",
) -> ParsedDate | None:
    """The first date in text; None when there is none; InvalidDate when it cannot exist.

    end_of_day=False puts a date-only value at 00:00 local (opening dates) and a month-only one
    on the month's first day. order: "DMY" or "MDY", how the source writes 03/04/2027.
    """
    if not text:
        return None
    raws = _scan(text, order)
    if raws:
        _borrow_years(text, raws[:2])
        return _build(raws[0], tz=tz, reference=reference, end_of_day=end_of_day, text=text)
    return _dateparser_fallback(text, tz=tz, end_of_day=end_of_day)


def parse_dates_with_errors(
    text: str, *, tz: str = "Europe/Paris", reference: datetime | None = None, order: str = "DMY"
) -> tuple[list[ParsedDate], list[str]]:
    """Every date in text in order, and the reasons for those that cannot exist."""
    if not text:
        return [], []
    raws = _scan(text, order)
    _borrow_years(text, raws)
    dates: list[ParsedDate] = []
    errors: list[str] = []
    for raw in raws:
        try:
            dates.append(_build(raw, tz=tz, reference=reference, end_of_day=True, text=text))
        except InvalidDate as exc:
            errors.append(str(exc))
    return dates, errors


def parse_dates(
    text: str, *, tz: str = "Europe/Paris", reference: datetime | None = None, order: str = "DMY"
) -> list[ParsedDate]:
    """Every possible date in text, in order ("1st stage: 12 March 2026; 2nd stage: ...")."""
    return parse_dates_with_errors(text, tz=tz, reference=reference, order=order)[0]


_PERIOD_SHARED_DAY_RE = re.compile(
    rf"{_DAY_LB}(?P<d1>[0-3]?\d){_ORD}\s*(?:-|–|—|(?i:au|to|al|a|à|till|until|through))\s*"
    rf"(?P<rest>[0-3]?\d{_ORD}\s*(?:de\s+|of\s+)?{_MON})",
    re.IGNORECASE,
)
_PERIOD_SHARED_MONTH_RE = re.compile(
    rf"(?<![\w])(?P<m1>{_MON})\.?\s*(?:-|–|—|(?i:au|to|al|a|à|till|until|through))\s*"
    rf"(?P<rest>{_MON}\.?,?\s*(?:de\s+|del\s+)?\d{{4}})",
    re.IGNORECASE,
)
_START_ONLY_RE = re.compile(
    r"(?i:\b(?:du|from|desde|del|since|depuis|dès\s+le|à\s+partir\s+du|starting|opens?"
    r"|opening|ouverture|apertura|ouvert\s+le)\b)[^\d]{0,20}$"
)


def parse_period(
    text: str, *, tz: str = "Europe/Paris", reference: datetime | None = None, order: str = "DMY"
) -> tuple[ParsedDate | None, ParsedDate | None]:
    """(start, end) of an application window as written on a listing card.

    Start is read as 00:00 local (or the month's first day), end as 23:59:59 (or the month's
    last day) unless a time is written. A single date is an end ("jusqu'au 31 mars") unless
    introduced as a start ("à partir du 12 décembre"). Raises InvalidDate like parse_date.
    """
    if not text:
        return None, None
    # "du 12 au 15 mars 2025", "12-15 March 2026", "Avril - Juin 2026": the first side shares
    # the month and year (ANR cards, AFD listings) of the second.
    shared = _PERIOD_SHARED_DAY_RE.search(text) or _PERIOD_SHARED_MONTH_RE.search(text)
    if shared:
        rest = [r for r in _scan(text, order) if r.start >= shared.start("rest")]
        if rest:
            end_raw = rest[0]
            end = _build(end_raw, tz=tz, reference=reference, end_of_day=True, text=text)
            start_raw = _shared_start(shared, end.value.astimezone(_zone(end_raw.zone or tz)))
            start_raw.zone = end_raw.zone
            start = _build(start_raw, tz=tz, reference=reference, end_of_day=False, text=text)
            return start, end
    raws = _scan(text, order)
    if not raws:
        return None, None
    _borrow_years(text, raws[:2])
    if len(raws) == 1:
        if _START_ONLY_RE.search(text[: raws[0].start]):
            return _build(raws[0], tz=tz, reference=reference, end_of_day=False, text=text), None
        return None, _build(raws[0], tz=tz, reference=reference, end_of_day=True, text=text)
    start = _build(raws[0], tz=tz, reference=reference, end_of_day=False, text=text)
    end = _build(raws[1], tz=tz, reference=reference, end_of_day=True, text=text)
    return start, end


def _shared_start(m: re.Match[str], local_end: datetime) -> _Raw:
    if m.re is _PERIOD_SHARED_DAY_RE:
        day = int(m.group("d1"))
        return _Raw(m.start(), m.end("d1"), local_end.year, local_end.month, day)
    month = _MONTHS[_fold(m.group("m1"))]
    year = local_end.year - (1 if month > local_end.month else 0)  # "Novembre - Février 2026"
    return _Raw(m.start(), m.end("m1"), year, month, None)


@dataclass(frozen=True)
class DateSpan:
    """One date written in a text, where it is, and both readings the caller may need."""

    start: int  # position in the text (weekday, time and zone written around it included)
    end: int
    text: str
    closing: ParsedDate | None  # read as a deadline: a date only is the end of that day
    opening: ParsedDate | None  # read as an opening: a date only is the start of that day
    error: str | None  # why it cannot exist (closing and opening are None then)
    opens_period: bool = False  # this date and the next one are a window ("du … au …")


# Between the two sides of a window: "du 12 décembre 2026 au 31 mars 2027", "from … to …",
# "del … al …", "17 décembre 2024 - 24 janvier 2025"; "and" only after "between"/"entre".
_PERIOD_GAP_RE = re.compile(
    r"\s*,?\s*(?:-|–|—|→|(?i:au|to|al|a|à|till|until|through|thru|hasta(?:\s+el)?"
    r"|jusqu['’]au|up\s+to))\s*"
)
_AND_GAP_RE = re.compile(r"\s*(?i:and|et|y)\s*")
_BETWEEN_BEFORE_RE = re.compile(r"(?i:\b(?:between|entre))\s+(?:(?i:le|the|el)\s+)?$")


def read_spans(
    text: str,
    *,
    tz: str = "Europe/Paris",
    reference: datetime | None = None,
    order: str = "DMY",
) -> list[DateSpan]:
    """Every date in text, in order, with its position, its deadline and opening readings, and
    whether it opens a window closed by the next one. Never raises: an impossible date comes
    back with its reason in `error`."""
    if not text:
        return []
    raws = _scan(text, order)
    if not raws:
        return []
    _borrow_years(text, raws)
    forced = _add_shared_starts(text, raws)
    n = len(raws)
    pairs = [
        i + 1 < n and (id(raws[i]) in forced or _is_period_gap(text, raws[i], raws[i + 1]))
        for i in range(n)
    ]
    closing: list[ParsedDate | None] = [None] * n
    opening: list[ParsedDate | None] = [None] * n
    errors: list[str | None] = [None] * n
    for i, raw in enumerate(raws):
        ref = reference
        if pairs[i] and raw.year is None and raws[i + 1].year is None:
            # both sides without a year: the start is the last such day up to the end, so
            # "du 12 décembre au 31 mars" spans the new year, whatever the reference
            try:
                end = _build(raws[i + 1], tz=tz, reference=reference, end_of_day=True, text=text)
                ref = end.value - timedelta(days=364)
            except InvalidDate:
                pass
        try:
            closing[i] = _build(raw, tz=tz, reference=ref, end_of_day=True, text=text)
            opening[i] = _build(raw, tz=tz, reference=ref, end_of_day=False, text=text)
        except InvalidDate as exc:
            errors[i] = str(exc)
    spans: list[DateSpan] = []
    for i, raw in enumerate(raws):
        is_pair = pairs[i] and opening[i] is not None and closing[i + 1] is not None
        if is_pair and id(raw) not in forced:
            is_pair = opening[i].value <= closing[i + 1].value  # type: ignore[union-attr]
        at = text[raw.start : raw.end].strip()
        spans.append(DateSpan(raw.start, raw.end, at, closing[i], opening[i], errors[i], is_pair))
    return spans


def _is_period_gap(text: str, a: _Raw, b: _Raw) -> bool:
    if _PERIOD_GAP_RE.fullmatch(text, a.end, b.start):
        return True
    return bool(
        _AND_GAP_RE.fullmatch(text, a.end, b.start)
        and _BETWEEN_BEFORE_RE.search(text, max(0, a.start - 20), a.start)
    )


def _add_shared_starts(text: str, raws: list[_Raw]) -> set[int]:
    """'du 12 au 15 mars 2025', '12-15 March 2026', 'Avril - Juin 2026': the start side is not
    a date on its own; insert it (sharing the end's month and year) before the end. Returns
    the ids of the inserted starts, each forced to pair with the date after it."""
    forced: set[int] = set()
    for rx in (_PERIOD_SHARED_DAY_RE, _PERIOD_SHARED_MONTH_RE):
        # only just before a date already found: the shared form ends in one
        for m in (m for r in list(raws) for m in rx.finditer(text, max(0, r.start - 40), r.end)):
            at = m.start("rest")
            idx = next((i for i, r in enumerate(raws) if r.start <= at < r.end), None)
            if idx is None or any(r.start <= m.start() < r.end for r in raws):
                continue
            end = raws[idx]
            if rx is _PERIOD_SHARED_DAY_RE:
                d1 = int(m.group("d1"))
                if end.day is None or d1 >= end.day:
                    continue
                start = _Raw(m.start(), m.end("d1"), end.year, end.month, d1)
            else:
                if end.year is None:
                    continue
                month = _MONTHS[_fold(m.group("m1"))]
                year = end.year - (1 if month > end.month else 0)  # "Novembre - Février 2026"
                start = _Raw(m.start(), m.end("m1"), year, month, None)
            start.zone = end.zone
            raws.insert(idx, start)
            forced.add(id(start))
    return forced


def to_local(dt: datetime, tz: str = DISPLAY_TZ) -> datetime:
    """dt in the given zone (a naive dt is taken as UTC)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(_zone(tz))


_EN_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_FR_DAYS = ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim.")
_FR_MONTHS = (
    "janv.", "févr.", "mars", "avr.", "mai", "juin",
    "juil.", "août", "sept.", "oct.", "nov.", "déc.",
)  # fmt: skip
_ES_DAYS = ("lun", "mar", "mié", "jue", "vie", "sáb", "dom")
_ES_MONTHS = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic")


def format_local(
    dt: datetime | None,
    tz: str = DISPLAY_TZ,
    lang: str = "en",
    with_time: bool | None = None,
) -> str:
    """'Tue 31 Mar 2026, 12:00 AST' (en), 'mar. 31 mars 2026, 12h00 AST' (fr); '' for None.

    with_time=None shows the time unless it is exactly 00:00 in that zone.
    """
    if dt is None:
        return ""
    local = to_local(dt, tz)
    if lang == "fr":
        days, months = _FR_DAYS, _FR_MONTHS
    elif lang == "es":
        days, months = _ES_DAYS, _ES_MONTHS
    else:
        days, months = _EN_DAYS, _EN_MONTHS
    text = f"{days[local.weekday()]} {local.day} {months[local.month - 1]} {local.year}"
    if with_time is None:
        with_time = (local.hour, local.minute, local.second) != (0, 0, 0)
    if with_time:
        clock = f"{local.hour:02d}h{local.minute:02d}" if lang == "fr" else f"{local:%H:%M}"
        text += f", {clock} {local.tzname() or tz}"
    return text


# Zones whose city name is not what people call the time there.
_ZONE_NAMES: dict[str, dict[str, str]] = {
    "America/St_Lucia": {"en": "Saint Lucia", "fr": "Sainte-Lucie", "es": "Santa Lucía"},
    "Europe/Brussels": {"en": "Brussels", "fr": "Bruxelles", "es": "Bruselas"},
    "Europe/London": {"en": "London", "fr": "Londres", "es": "Londres"},
    "America/New_York": {"en": "New York", "fr": "New York", "es": "Nueva York"},
}
_DEADLINE_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "end_of_day": "end of day, {zone}",
        "zone": "{name} time",
        "rolling": "Rolling (no fixed deadline)",
        "not_found": "Deadline not found — check the page",
    },
    "fr": {
        "end_of_day": "fin de journée, {zone}",
        "zone": "heure de {name}",
        "rolling": "En continu (pas de date limite fixe)",
        "not_found": "Date limite introuvable — voir la page de l'appel",
    },
    "es": {
        "end_of_day": "fin del día, {zone}",
        "zone": "hora de {name}",
        "rolling": "Convocatoria continua (sin fecha límite fija)",
        "not_found": "Fecha límite no encontrada — consulte la página",
    },
}


def zone_label(tz: str, lang: str = "en") -> str:
    """'New York time', 'heure de Paris', 'UTC', 'UTC+01:00': a zone as people name it."""
    if tz == "UTC":
        return "UTC"
    if tz[:1] in "+-":
        return f"UTC{tz}"
    words = _DEADLINE_WORDS.get(lang) or _DEADLINE_WORDS["en"]
    name = _ZONE_NAMES.get(tz, {}).get(lang) or tz.rsplit("/", 1)[-1].replace("_", " ")
    return words["zone"].format(name=name)


def format_deadline(
    deadline: datetime | None,
    kind: str | None,
    tz: str | None = None,
    lang: str = "en",
    display_tz: str = DISPLAY_TZ,
) -> str:
    """A call's deadline for people, as it was given (see `pipeline.record.Call.deadline_kind`).

    - date only: the date it is in the funder's zone, never a converted clock time:
      'Fri 15 Jan 2027 (end of day, New York time)';
    - with a clock time: that instant in Saint Lucia time, 'Tue 31 Mar 2026, 12:00 AST';
    - rolling: 'Rolling (no fixed deadline)'; not found: 'Deadline not found — check the page';
    - '' when nothing is known (a call stored before deadlines had a kind, without one).
    """
    words = _DEADLINE_WORDS.get(lang) or _DEADLINE_WORDS["en"]
    if kind in ("rolling", "not_found") and deadline is None:
        return words[kind]
    if deadline is None:
        return ""
    if kind == "date":
        zone = tz or display_tz
        day = format_local(deadline, zone, lang=lang, with_time=False)
        return f"{day} ({words['end_of_day'].format(zone=zone_label(zone, lang))})"
    return format_local(deadline, display_tz, lang=lang)


# --------------------------------------------------------------------------------------------
# Fallback


_DP_LANGS = ["fr", "en", "es", "nl", "pt", "de", "it"]
_FALLBACK_DAY_RE = re.compile(r"(?<!\d)\d{1,2}(?!\d)")
_FALLBACK_YEAR_RE = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")


def _dateparser_fallback(text: str, *, tz: str, end_of_day: bool) -> ParsedDate | None:
    """Last resort for short strings the patterns miss; never guesses a year or a day."""
    # Strict parsing needs a day and a year: skip the ~3 ms call when neither could be there.
    if len(text) > 100 or not (_FALLBACK_DAY_RE.search(text) and _FALLBACK_YEAR_RE.search(text)):
        return None
    import dateparser  # slow to import (~0.3 s); only needed here

    settings = {
        "DATE_ORDER": "DMY",
        "STRICT_PARSING": True,  # day, month and year must all be written
        "PARSERS": ["absolute-time"],  # never "12h" read as "in 12 hours"
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    found = dateparser.parse(text, languages=_DP_LANGS, settings=settings)  # type: ignore[arg-type]
    if found is None:
        return None
    err = _check_ymd(found.year, found.month, found.day)
    if err:
        raise InvalidDate(f"{text.strip()!r}: {err}")
    has_time = bool(re.search(r"\d\s*[:h]\s*\d", text))
    if not has_time:
        found = found.replace(hour=23, minute=59, second=59) if end_of_day else found
    local = found.replace(tzinfo=_zone(tz))
    return ParsedDate(local.astimezone(UTC), has_time, False, "default", text.strip())
