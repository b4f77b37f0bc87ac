"""Budgets as funders write them: "2,5 M€", "US$ 150,000 to US$ 500,000", "hasta 200.000 euros".

Pure functions, no dependencies. Three decisions a reader should know:

- A number is an amount only with a currency next to it ("€", "EUR", "d'euros", "US$", "EC$",
  "FCFA"...), or next to an amount that has one ("entre 10 000 et 50 000 euros"). Years, dates,
  phone numbers, topic codes and percentages are never amounts. `parse_money`, which reads a
  field the spider already labelled as a budget, also accepts a bare number (not a year).
- Separators: both "," and "." present -> the last one is the decimal mark; one kind repeated ->
  thousands ("1.000.000", "1,000,000"); a single one followed by exactly three digits ->
  thousands ("200.000" in Spanish and French pages), otherwise decimal ("2,5 M€", "2.5 M EUR").
- A bare "$" is read as USD: the funders we crawl quote US dollars with "$"; Eastern Caribbean
  dollars are written "EC$" or "XCD".

A percentage is a rate (co-financing "jusqu'à 70 %"), never turned into an amount.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

__all__ = ["Money", "parse_amounts", "parse_money", "pick_budget"]


@dataclass(frozen=True)
class Money:
    min: float | None
    max: float | None
    currency: str | None  # ISO 4217
    scope: str | None  # "per_project" | "total" | None when the text is silent
    rate: float | None  # a percentage such as co-financing "jusqu'à 70 %" -> 70.0
    text: str  # the substring it was read from


# --------------------------------------------------------------------------------------------
# Patterns

_SP = "[ \u00a0\u202f\u2009]"  # French pages group thousands with (narrow) no-break spaces
_NUM_RE = re.compile(
    rf"""(?<![\w.,+/:])(?:
        \d{{1,3}}(?:(?:{_SP}\d{{3}})+|(?:\.\d{{3}})+|(?:,\d{{3}})+|(?:'\d{{3}})+)(?:[.,]\d{{1,2}})?
        |\d+(?:[.,]\d+)?
    )(?!\d|{_SP}\d|[.,/:]\d)""",
    re.VERBOSE,
)
# "HORIZON-CL5-2025-01": a code (a hyphenated word with a letter), while "€1-3 million" is not.
_CODE_DASH_RE = re.compile(r"[^\W\d_]\w*(?:-\w+)*-$")
_NEXT_NUM_RE = re.compile(rf"{_SP}?\d")
_PREV_NUM_RE = re.compile(rf"\d{_SP}?$")

_ISO_CODES = frozenset(
    {"EUR", "USD", "GBP", "XCD", "XOF", "XAF", "CAD", "CHF", "JPY", "AUD", "NZD", "BBD", "TTD"}
    | {"JMD", "BSD", "BZD", "GYD", "SRD", "HTG", "DOP", "XPF", "SEK", "NOK", "DKK", "CNY", "INR"}
    | {"BRL", "MXN", "ZAR"}
)
_CODE = rf"(?:{'|'.join(sorted(_ISO_CODES))})"
_PREFIX_RE = re.compile(
    rf"""(?<![A-Za-z])(?P<cur>US\s?\$|U\.S\.\s?\$|EC\s?\$|CA?\$|TT\$|J\$|BDS\$|{_CODE}|€|£|\$
        |(?i:euros?))\s?$""",
    re.VERBOSE,
)
_MULT = rf"""(?P<mult>
      (?i:mil\s+millones|millions?|millones|millón|million|milliards?|billions?|mill\.|mio\.?)
    | (?i:mille|mil|mds?)(?![^\W\d_])
    | Md|bn|mn|[kK](?![^\W\d_])|M(?![^\W\d_])|m(?![^\W\d_])
    | [kKM](?={_CODE})
)"""
_SUFFIX_CUR = rf"""(?P<cur>
      €|£|{_CODE}(?![A-Za-z])|US\s?\$|EC\s?\$|\$
    | (?i:euros?|eur\b|d['’]\s?euros)
    | (?i:(?:Eastern\s+Caribbean|EC)\s+dollars?|dollars?\s+des\s+Caraïbes\s+orientales)
    | (?i:(?:US|U\.S\.|American|Canadian)\s+dollars?)
    | (?i:dollars?(?:\s+(?:US|américains|canadiens|des\s+États-Unis))?)
    | (?i:dólares(?:\s+(?:estadounidenses|americanos|EE\.?\s?UU\.?))?)
    | (?i:livres?\s+sterling|pounds?(?:\s+sterling)?)
    | FCFA|F\s?CFA|(?i:francs?\s+CFA)
)"""
_SUFFIX_RE = re.compile(
    rf"""{_SP}?(?:{_MULT})?(?:\s?(?:(?i:d['’]\s?|de\s+|of\s+))?{_SUFFIX_CUR})?""",
    re.VERBOSE,
)
_PERCENT_RE = re.compile(r"\s?(?:%|(?i:pour\s?cent|per\s?cent|percent|por\s?ciento)\b)")
_MULTIPLIERS = {
    "k": 1e3, "mil": 1e3, "mille": 1e3,
    "m": 1e6, "mn": 1e6, "mio": 1e6, "mill": 1e6, "million": 1e6, "millions": 1e6,
    "millones": 1e6, "millón": 1e6,
    "bn": 1e9, "billion": 1e9, "billions": 1e9, "md": 1e9, "mds": 1e9, "milliard": 1e9,
    "milliards": 1e9, "mil millones": 1e9,
}  # fmt: skip

# Connectors between the two ends of a range. "and", "et", "y" only after "between"/"entre".
_RANGE_GAP_RE = re.compile(
    r"\s*(?:-|–|—|(?i:to|à|a|au|up\s+to|jusqu['’]à|hasta|through|and|et|y|à\s+un\s+maximum\s+de))"
    r"\s*$"
)
_BETWEEN_RE = re.compile(r"(?i:between|entre|range\s+from|ranging\s+from)\s*$")
_AND_RE = re.compile(r"\s*(?i:and|et|y)\s*$")

_MAX_MARKERS = (
    r"up\s+to|jusqu['’]à(?:\s+concurrence\s+de)?|hasta(?:\s+un)?|maximum|max\.?|maximal[e]?"
    r"|plafonnée?s?\s+à|plafond|not\s+(?:to\s+)?exceed(?:ing)?|no\s+more\s+than|at\s+most"
    r"|n['’]excédant\s+pas|ne\s+(?:pouvant|peut|doit)\s+(?:pas\s+)?(?:dépasser|excéder)"
    r"|dans\s+la\s+limite\s+de|à\s+hauteur\s+de|máximo|ceiling|capped\s+at|limited\s+to"
    r"|limitée?s?\s+à"
)
_MIN_MARKERS = (
    r"at\s+least|minimum|min\.|au\s+moins|not\s+less\s+than|no\s+less\s+than|à\s+partir\s+de"
    r"|a\s+partir\s+de|starting\s+(?:at|from)|supérieure?\s+à|mínimo|superior\s+a"
)
# Short words that mean "at least" only right before the amount ("from over £4,000,000"), not
# anywhere in the clause ("a € 10 million budget from ERDF and a € 7 million one").
_MIN_NEAR = r"plus\s+de|more\s+than|over|above|más\s+de|from"
_BOUND_RE = re.compile(
    rf"(?i:\b(?:(?P<max>{_MAX_MARKERS})|(?P<min>{_MIN_MARKERS}))(?![^\W\d_]))[^\d]*$"
    rf"|(?i:\b(?P<near>{_MIN_NEAR}))\s*:?\s*$"
)

_PER_PROJECT = (
    r"par\s+(?:projet|dossier|bénéficiaire|porteur|candidat|lauréat|opération|action)"
    r"|/\s?(?:projet|project|proyecto)|per\s+(?:project|grant|award|applicant|beneficiary"
    r"|proposal|organi[sz]ation|action)|por\s+(?:proyecto|beneficiario|propuesta)"
    r"|each\s+(?:project|grant|award)|chaque\s+projet|cada\s+proyecto"
    r"|maximum\s+grant|grant\s+(?:size|amount|ceiling|of)|size\s+of\s+(?:the\s+)?grants?"
    r"|grants?\s+(?:of|range|ranging|between|up\s+to)|small\s+grants?|award\s+(?:size|amount)s?"
    r"|(?:montant|plafond)\s+(?:\w+\s+){0,2}(?:de\s+la\s+|d['’]une\s+|de\s+l['’])?"
    r"(?:subvention|aide)|subvention\s+(?:maximale|plafonnée|comprise|de|d['’]un)"
    r"|aide\s+(?:maximale|plafonnée)|projects?\s+(?:of|up\s+to|can\s+range|may\s+range"
    r"|will\s+range|between|ranging)|projets?\s+(?:de|d['’]un\s+montant|jusqu)"
    r"|(?:single|multi)[\w-]*\s+(?:country\s+)?projects?|EU\s+contribution|requested\s+amount"
    r"|montant\s+demandé|monto\s+(?:máximo\s+)?(?:por|de\s+la\s+subvención)"
    r"|subvención\s+(?:máxima|de\s+hasta)|financiamiento\s+de\s+hasta"
)
_TOTAL = (
    r"enveloppe|budget\s+(?:total|global|indicatif|de\s+l['’]appel|du\s+programme|disponible"
    r"|allocated|available)|total\s+(?:budget|amount|envelope|funding|of)"
    r"|overall\s+(?:budget|envelope)|(?:programme|program|call)\s+budget|budget\s+(?:of|for)"
    r"\s+(?:the|this)\s+(?:call|programme|program|topic)|indicative\s+budget"
    r"|montant\s+(?:total|global)|dotation|dotación|presupuesto\s+(?:total|global|anual)"
    r"|allocated|totali[sz]ing|totall?ing|in\s+total|au\s+total|en\s+total|a\s+total\s+of"
    r"|un\s+total\s+de|available\s+(?:budget|funding)|crédits\s+(?:disponibles|alloués)"
    r"|fonds\s+doté|doté\s+de"
)
_SCOPE_RE = re.compile(rf"(?i:(?:\b|(?=/))(?:(?P<per>{_PER_PROJECT})|(?P<total>{_TOTAL})))")
_RATE_CONTEXT_RE = re.compile(
    r"(?i:co-?financ|cofinanc|taux|rate|financ|fund|subvention|subvenci|aide|grant|contribution"
    r"|jusqu['’]à|up\s+to|hasta|maximum|éligibles|eligible|costs?|coûts?|costos|costes|dépenses"
    r"|gastos)"
)
_RATE_EXCLUDE_RE = re.compile(
    rf"(?:\+\s*|(?i:\b(?:{_MIN_MARKERS}|{_MIN_NEAR})\s*(?:un\s+)?))$"  # "+20 %", "au moins 50 %"
)
_CLAUSE_END_RE = re.compile(r"[.;!?](?:\s|$)|\n")


# --------------------------------------------------------------------------------------------
# Tokens: one number with what is written around it


@dataclass
class _Tok:
    start: int  # including a currency written before
    end: int  # including multiplier, currency or % written after
    num_start: int
    value: float
    raw: float  # before the multiplier
    grouped: bool  # written with thousands separators
    mult: float | None
    currency: str | None
    is_rate: bool
    crowded: bool = False  # another number right next to it: a phone number or a code


def _to_float(s: str) -> tuple[float, bool]:
    """'1 000 000' -> (1e6, True); '2,5' -> (2.5, False); '200.000' -> (200000, True)."""
    s = re.sub(_SP + "|'", "", s)
    grouped = len(s) != len(s.replace(" ", ""))
    has_c, has_d = "," in s, "." in s
    if has_c and has_d:
        dec = "," if s.rfind(",") > s.rfind(".") else "."
        thou = "." if dec == "," else ","
        return float(s.replace(thou, "").replace(dec, ".")), True
    sep = "," if has_c else "." if has_d else None
    if sep is None:
        return float(s), grouped
    if s.count(sep) > 1 or len(s) - s.rfind(sep) - 1 == 3:
        return float(s.replace(sep, "")), True
    return float(s.replace(sep, ".")), grouped


def _currency_code(token: str) -> str:
    t = token.lower().replace(" ", "").replace(".", "")
    if "€" in t or t.startswith("eur") or "euro" in t:
        return "EUR"
    if "£" in t or t in ("gbp",) or "livre" in t or "pound" in t:
        return "GBP"
    if "cfa" in t or t == "xof":
        return "XOF"
    if t.startswith("ec") or t == "xcd" or "caribbean" in t or "caraïbes" in t:
        return "XCD"
    if t in ("ca$", "c$", "cad") or "canad" in t:
        return "CAD"
    if t in ("tt$", "ttd"):
        return "TTD"
    if t in ("j$", "jmd"):
        return "JMD"
    if t in ("bds$", "bbd"):
        return "BBD"
    if len(t) == 3 and t.upper() in _ISO_CODES:
        return t.upper()
    return "USD"  # "$", "US$", "dollars", "dólares": see the module docstring


def _tokens(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    for m in _NUM_RE.finditer(text):
        if (
            m.start()
            and text[m.start() - 1] in "-–"
            and _CODE_DASH_RE.search(text, max(0, m.start() - 40), m.start())
        ):
            continue
        raw, grouped = _to_float(m.group())
        start, end = m.start(), m.end()
        currency = None
        pm = _PREFIX_RE.search(text, max(0, start - 8), start)
        if pm:
            currency = _currency_code(pm.group("cur"))
            start = pm.start()
        pct = _PERCENT_RE.match(text, end)
        if pct:
            toks.append(_Tok(start, pct.end(), m.start(), raw, raw, grouped, None, None, True))
            continue
        mult = None
        sm = _SUFFIX_RE.match(text, end)
        if sm and sm.end() > end and sm.group("cur") and _NEXT_NUM_RE.match(text, sm.end()):
            # "...-01 EUR 3 million": that EUR is written before the next number, not after this one
            sm = _SUFFIX_RE.match(text[: sm.start("cur")], end)
        if sm and sm.end() > end:
            if sm.group("mult"):
                word = re.sub(r"\s+", " ", sm.group("mult").rstrip(".")).lower()
                mult = _MULTIPLIERS[word]
            if sm.group("cur"):
                currency = currency or _currency_code(sm.group("cur"))
            if sm.group("mult") and sm.group("mult") == "m" and not currency:
                mult = None  # "65 m" without a currency is more likely metres
            else:
                end = sm.end() if (sm.group("cur") or mult) else end
        value = raw * mult if mult else raw
        crowded = bool(
            _PREV_NUM_RE.search(text, max(0, m.start() - 2), m.start())
            or _NEXT_NUM_RE.match(text, m.end())
        )
        toks.append(
            _Tok(start, end, m.start(), value, raw, grouped, mult, currency, False, crowded)
        )
    return toks


# --------------------------------------------------------------------------------------------
# From tokens to Money


@dataclass
class _Amount:
    start: int
    end: int
    lo: float | None
    hi: float | None
    currency: str | None
    explicit: bool  # a currency or multiplier is written (not only a bare number)
    is_rate: bool = False
    crowded: bool = False


def _clause_start(text: str, pos: int, limit: int) -> int:
    lo = max(0, pos - limit)
    last = lo
    for m in _CLAUSE_END_RE.finditer(text, lo, pos):
        last = m.end()
    return last


def _clause_end(text: str, pos: int, limit: int) -> int:
    m = _CLAUSE_END_RE.search(text, pos, min(len(text), pos + limit))
    return m.start() if m else min(len(text), pos + limit)


def _join_ranges(text: str, toks: list[_Tok]) -> list[_Amount]:
    out: list[_Amount] = []
    i = 0
    while i < len(toks):
        a = toks[i]
        b = toks[i + 1] if i + 1 < len(toks) else None
        if b is not None and a.is_rate == b.is_rate and _is_range(text, a, b):
            lo, hi = a.value, b.value
            if not a.is_rate and a.mult is None and b.mult and not a.grouped and a.raw < 1000:
                lo = a.raw * b.mult  # "€1-3 million", "entre 2 et 5 M€"
            currency = a.currency or b.currency
            if lo < hi and (a.currency is None or b.currency is None or a.currency == b.currency):
                explicit = bool(currency or a.mult or b.mult)
                out.append(_Amount(a.start, b.end, lo, hi, currency, explicit, a.is_rate))
                i += 2
                continue
        explicit = bool(a.currency or a.mult)
        out.append(
            _Amount(a.start, a.end, a.value, a.value, a.currency, explicit, a.is_rate, a.crowded)
        )
        i += 1
    return out


def _is_range(text: str, a: _Tok, b: _Tok) -> bool:
    gap = text[a.end : b.start]
    if len(gap) > 25 or not _RANGE_GAP_RE.fullmatch(gap):
        return False
    if _AND_RE.fullmatch(gap):
        return bool(_BETWEEN_RE.search(text, max(0, a.start - 25), a.start))
    return True


def _bounds(text: str, amt: _Amount) -> tuple[float | None, float | None]:
    """(min, max) of an amount: 'up to X' has no minimum, 'at least X' no maximum."""
    if amt.lo != amt.hi:
        return amt.lo, amt.hi
    start = _clause_start(text, amt.start, 60)
    m = _BOUND_RE.search(text, start, amt.start)
    if m and m.group("max"):
        return None, amt.hi
    if m and (m.group("min") or m.group("near")):
        return amt.lo, None
    return amt.lo, amt.hi


def _scope(text: str, amt: _Amount) -> str | None:
    """The nearest scope word in the same clause: 'enveloppe de 3 M€', '50 000 € par projet'."""
    before = _clause_start(text, amt.start, 120)
    after = _clause_end(text, amt.end, 50)
    best: tuple[int, str] | None = None
    for m in _SCOPE_RE.finditer(text, before, after):
        if m.end() <= amt.start:
            dist = amt.start - m.end()
        elif m.start() >= amt.end:
            dist = m.start() - amt.end
        else:
            continue
        kind = "per_project" if m.group("per") else "total"
        if best is None or dist < best[0]:
            best = (dist, kind)
    return best[1] if best else None


def _is_cofinancing_rate(text: str, amt: _Amount, *, need_context: bool) -> bool:
    if amt.hi is None or amt.hi > 100:
        return False
    if _RATE_EXCLUDE_RE.search(text, max(0, amt.start - 20), amt.start):
        return False
    if not need_context:
        return True
    start = _clause_start(text, amt.start, 80)
    end = _clause_end(text, amt.end, 60)
    return bool(_RATE_CONTEXT_RE.search(text, start, end))


def _merge_min_max(text: str, items: list[tuple[_Amount, Money]]) -> list[Money]:
    """'Minimum amount: €5,000; maximum amount: €30,000.' -> one range."""
    out: list[Money] = []
    i = 0
    while i < len(items):
        amt, money = items[i]
        if i + 1 < len(items):
            amt2, nxt = items[i + 1]
            gap = text[amt.end : amt2.start]
            if (
                money.max is None
                and money.min is not None
                and nxt.min is None
                and nxt.max is not None
                and money.min < nxt.max
                and money.currency == nxt.currency
                and len(gap) <= 60
                and not re.search(r"[.!?](?:\s|$)|\n", gap)
            ):
                scope = money.scope or nxt.scope
                out.append(
                    Money(
                        money.min, nxt.max, money.currency, scope, None, text[amt.start : amt2.end]
                    )
                )
                i += 2
                continue
        out.append(money)
        i += 1
    return out


def _amounts(
    text: str, *, default_currency: str | None, bare_ok: bool
) -> tuple[list[Money], list[_Amount]]:
    amounts = _join_ranges(text, _tokens(text))
    items: list[tuple[_Amount, Money]] = []
    rates: list[_Amount] = []
    for amt in amounts:
        if amt.is_rate:
            rates.append(amt)
            continue
        if not amt.explicit and (not bare_ok or amt.crowded or _looks_like_year_or_small(amt)):
            continue
        currency = amt.currency or default_currency
        if currency is None and not (bare_ok or default_currency):
            continue
        lo, hi = _bounds(text, amt)
        money = Money(lo, hi, currency, _scope(text, amt), None, text[amt.start : amt.end].strip())
        items.append((amt, money))
    return _merge_min_max(text, items), rates


def _looks_like_year_or_small(amt: _Amount) -> bool:
    """A bare number that is a year ("2025", "2021-2027") or a count ("3 projects")."""
    ends = [v for v in (amt.lo, amt.hi) if v is not None]
    return not ends or max(ends) < 100 or any(v.is_integer() and 1900 <= v <= 2100 for v in ends)


def _first_rate(text: str, rates: list[_Amount], *, need_context: bool) -> _Amount | None:
    for r in rates:
        if _is_cofinancing_rate(text, r, need_context=need_context):
            return r
    return None


# --------------------------------------------------------------------------------------------
# Public API


def parse_money(text: str | None, *, default_currency: str | None = None) -> Money | None:
    """The first amount (or range) in a budget field, with the first rate written there.

    Returns a rate-only Money for "jusqu'à 70 %", None when there is neither.
    """
    if not text:
        return None
    amounts, rates = _amounts(text, default_currency=default_currency, bare_ok=True)
    rate_amt = _first_rate(text, rates, need_context=False)
    rate = rate_amt.hi if rate_amt else None
    if amounts:
        return dataclasses.replace(amounts[0], rate=rate)
    if rate_amt is not None:
        return Money(None, None, None, None, rate, text[rate_amt.start : rate_amt.end].strip())
    return None


def parse_amounts(text: str | None, *, default_currency: str | None = None) -> list[Money]:
    """Every amount with a currency in a longer body text, in order (rates left out)."""
    if not text:
        return []
    return _amounts(text, default_currency=default_currency, bare_ok=False)[0]


def pick_budget(text: str | None, *, default_currency: str | None = None) -> Money | None:
    """The best single budget for a call from its body text.

    Preference: a per-project range, a per-project amount, an unlabelled range or ceiling
    ("up to USD 50,000"), the total envelope, then any other amount. The co-financing rate found
    in the text (a percentage near "co-financing", "taux", "up to", "eligible costs"...) is
    attached. A text with only a rate gives a rate-only Money.
    """
    if not text:
        return None
    amounts, rates = _amounts(text, default_currency=default_currency, bare_ok=False)
    rate_amt = _first_rate(text, rates, need_context=True)
    rate = rate_amt.hi if rate_amt else None
    if not amounts:
        if rate_amt is None:
            return None
        return Money(None, None, None, None, rate, text[rate_amt.start : rate_amt.end].strip())

    def rank(m: Money) -> int:
        is_range = m.min is not None and m.max is not None and m.min < m.max
        ceiling = m.min is None and m.max is not None
        if m.scope == "per_project":
            return 0 if is_range else 1
        if m.scope is None and (is_range or ceiling):
            return 2
        if m.scope == "total":
            return 3
        return 4

    best = min(enumerate(amounts), key=lambda im: (rank(im[1]), im[0]))[1]
    return dataclasses.replace(best, rate=rate)
