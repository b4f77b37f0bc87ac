"""Read a call's fields by their *labels* and by page metadata, whatever the CSS classes are.

Funders redesign their sites; the words next to a value ("Date limite", "Closing date", "Fecha
límite") survive far longer than class names (SOURCES.md, design rule 2). So every detail page is
read twice: by the selectors in config/sources.yaml, and by this module, which fills each field
the selectors missed. It understands the layouts labels come in:

- `<dl><dt>Label</dt><dd>value</dd></dl>` and Drupal's `field__label` / `field__item` pairs;
- tables: `<tr><th>Label</th><td>value</td></tr>` (or a first `<td>` as the label);
- inline: `<p><strong>Label :</strong> value</p>`, `<li>Label: value</li>`, `<br>`-separated lines;
- headed sections: `<h3>Éligibilité</h3><p>…</p>` (the text up to the next heading).

`read_metadata` reads JSON-LD (schema.org), microdata and Open Graph tags, the last resort for
title, description and dates.

Values are returned raw, as written: the pipeline (`pipeline.normalise.dates`,
`pipeline.normalise.money`) parses them, so one parser serves every source.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from lxml import etree
from lxml import html as lxml_html
from lxml.etree import ParserError

# Field -> label variants (fr, en, es). Matched case- and accent-insensitively at the start of a
# label; the longest variant wins, so "Date de clôture" is a deadline and not a plain "date".
FIELD_LABELS: dict[str, tuple[str, ...]] = {
    "deadline": (
        "date limite", "date-limite", "date de clôture", "date de cloture", "clôture",
        "clôture des candidatures", "fin de l'appel", "limite de dépôt", "dépôt avant",
        "dépôt des dossiers", "dépôt des candidatures", "date de fin", "échéance",
        "date butoir", "date-butoir", "remise des dossiers", "remise des candidatures",
        "réception des dossiers", "candidatures jusqu'au",
        "closing date", "deadline", "application deadline", "submission deadline", "closes",
        "close date", "due date", "apply by", "closing", "applications close", "apply before",
        "applications due", "fecha límite", "fecha limite", "fecha de cierre", "cierre", "plazo",
        "vencimiento", "fecha máxima", "presentación hasta",
    ),
    "opens": (
        "date d'ouverture", "date d’ouverture", "ouverture", "date de lancement", "lancement",
        "date de début", "opening date", "opens", "open date", "launch date", "start date",
        "fecha de apertura", "apertura", "fecha de inicio", "fecha de lanzamiento",
    ),
    "period": (
        "période", "periode de candidature", "dates de l'appel", "calendrier", "dates",
        "période de dépôt", "période d'ouverture", "dates de candidature",
        "application period", "call period", "period", "application window", "submission window",
        "submission period", "periodo", "período de convocatoria", "período de presentación",
        "fechas",
    ),
    "status": (
        "statut", "état", "etat de l'appel", "status", "call status", "estado", "situación",
    ),
    "budget": (
        "montant", "budget", "enveloppe", "dotation", "financement", "subvention",
        "montant maximum", "montant de l'aide", "taux de cofinancement", "cofinancement",
        "amount", "funding", "grant size", "grant amount", "award", "funding amount",
        "monto", "presupuesto", "financiación", "financiamiento", "importe",
    ),
    "eligibility": (
        "éligibilité", "eligibilité", "critères d'éligibilité", "conditions d'éligibilité",
        "bénéficiaires", "bénéficiaires éligibles", "porteurs éligibles", "qui peut candidater",
        "public cible", "public visé", "pays éligibles", "zone géographique",
        "structures éligibles", "pays prioritaires", "pays partenaires",
        "eligibility", "eligibility criteria", "eligible applicants", "eligible countries",
        "who can apply", "who may apply", "target group",
        "elegibilidad", "criterios de elegibilidad", "beneficiarios", "quién puede postular",
        "países elegibles", "solicitantes elegibles",
    ),
    "published": (
        "date de publication", "publié le", "publication", "mis en ligne le",
        "published", "publication date", "posted on", "posted",
        "fecha de publicación", "publicado el", "publicado",
    ),
    "programme": (
        "programme", "dispositif", "instrument", "mécanisme", "programme de financement",
        "program", "programme name", "funding programme", "scheme",
        "programa", "instrumento",
    ),
}  # fmt: skip

FIELDS = tuple(FIELD_LABELS)
LABEL_MAX = 70  # a label is short; longer text is a sentence that happens to start with "Date"
VALUE_MAX = {"eligibility": 2000, "budget": 600}  # sections; everything else is one line
DEFAULT_VALUE_MAX = 300
SKIP_TAGS = {"script", "style", "noscript", "nav", "footer", "form", "select", "option", "template"}
INLINE_TAGS = {"strong", "b", "em", "i", "span", "label", "small", "abbr", "u", "mark", "a"}
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
BLOCK_TAGS = {"p", "li", "div", "dl", "table", "ul", "ol", "section", "article"}
LINE_TAGS = ("p", "li", "div", "dt", "dd", "td", "th", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
             "section", "article", "header", "aside", "ul", "ol", "dl", "table")  # fmt: skip
SEPARATORS = " \t:：-–—|"


def fold(text: str) -> str:
    """Lower case without accents, *same length as the input*, so positions map back."""
    if text.isascii():  # most text: nothing to decompose, and lower() keeps the length
        return text.lower()
    return fold_each(text)


def fold_each(text: str) -> str:
    """`fold` character by character: the general path, for text that is not plain ASCII."""
    out = []
    for c in text:
        base = unicodedata.normalize("NFKD", c)[:1] or c
        low = base.lower()
        out.append(low if len(low) == 1 else base)
    return "".join(out)


LINE = "\ue000"  # marks a <br> or block boundary; newlines in the HTML source mean nothing


def squash(text: str) -> str:
    """Fold whitespace; keep one line per `<br>` / block boundary (joined with newlines)."""
    # split()/join: the same whitespace as `\s+` (both use str.isspace), without a regex
    lines = [" ".join(ln.split()) for ln in text.split(LINE)]
    return "\n".join(ln for ln in lines if ln)


_VARIANTS = sorted(
    ((fold(v), f) for f, vs in FIELD_LABELS.items() for v in vs), key=lambda p: -len(p[0])
)


@lru_cache(maxsize=16384)  # a pure function of the text; sites repeat their labels page after page
def label_field(text: str) -> str | None:
    """The field a label names ("Date limite de dépôt" -> deadline), or None.

    A label may run on for a few words ("Date limite de la lettre d'intention") but holds no
    figure: "Montant 50 000 €" is a value with its label, handled by the inline reader.
    """
    t = fold(text).strip(SEPARATORS + "*").strip()
    if not t or len(t) > LABEL_MAX:
        return None
    for variant, field in _VARIANTS:
        if t.startswith(variant) and (len(t) == len(variant) or not t[len(variant)].isalnum()):
            rest = t[len(variant) :]
            if any(c.isdigit() for c in rest) or len(rest.split()) > 5 or "€" in rest:
                return None
            return field
    return None


_COLON = re.compile(r"\s*[:：]\s*")


def split_line(line: str) -> tuple[str, str | None] | None:
    """'Date limite : 15 mars 2026' -> ('deadline', '15 mars 2026'); 'Deadline' -> (.., None)."""
    line = line.strip()
    m = _COLON.search(line)
    if m and m.start() <= LABEL_MAX:
        field = label_field(line[: m.start()])
        if field:
            value = line[m.end() :].strip()
            return field, value or None
        return None
    field = label_field(line)
    return (field, None) if field else None


def _text(el: Any) -> str:
    if el is None:
        return ""
    return squash("".join(el.itertext()))


def _next_element(el: Any) -> Any:
    sib = el.getnext()
    while sib is not None and (not isinstance(sib.tag, str) or not _text(sib)):
        sib = sib.getnext()
    return sib


def _section(heading: Any, limit: int) -> str:
    """The text after a heading, up to the next heading of any level."""
    parts: list[str] = []
    sib = heading.getnext()
    while sib is not None and sum(map(len, parts)) < limit:
        if isinstance(sib.tag, str):
            if sib.tag in HEADINGS:
                break
            parts.append(_text(sib))
        sib = sib.getnext()
    return "\n".join(p for p in parts if p)


def _prepare(root: Any) -> Any:
    # `<br>` and block boundaries separate label lines: make them newlines in the text, so a
    # table row reads "Closing date\n15 January 2027", not "Closing date15 January 2027"
    for br in root.iter("br"):
        br.tail = LINE + (br.tail or "")
    for el in root.iter(*LINE_TAGS):
        el.tail = LINE + (el.tail or "")
    for bad in list(root.iter(*SKIP_TAGS)):
        parent = bad.getparent()
        if parent is not None:
            bad.drop_tree()
    # cookie banners (tarteaucitron on French public sites) talk about "durée", "statut"...
    for el in root.xpath('//*[contains(@id,"tarteaucitron") or contains(@class,"cookie")]'):
        if el.getparent() is not None:
            el.drop_tree()
    return root


def _value_for(el: Any, field: str) -> str | None:
    """The value that belongs to a label-only element, by layout."""
    limit = VALUE_MAX.get(field, DEFAULT_VALUE_MAX)
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag == "dt":
        sib = _next_element(el)
        return _text(sib) if sib is not None and sib.tag == "dd" else None
    if tag in ("th", "td"):
        sib = _next_element(el)
        return _text(sib) if sib is not None and sib.tag in ("td", "th") else None
    if tag in HEADINGS:
        return _section(el, limit) or None
    parent = el.getparent()
    if tag in INLINE_TAGS and parent is not None:
        # <p><strong>Date limite :</strong> 15 mars 2026</p>: the rest of the parent's line
        own, whole = _text(el), _text(parent)
        at = whole.find(own)
        if at >= 0:
            rest = whole[at + len(own) :].lstrip(SEPARATORS + "\n")
            line = rest.split("\n")[0].strip() if field not in VALUE_MAX else rest.strip()
            if line and label_field(line) is None:
                return line
        if parent.tag in ("dt", "th", "td") or parent.tag in HEADINGS:
            return _value_for(parent, field)
        # <p><strong>Date limite</strong></p><p>15 mars 2026</p>
        sib = _next_element(parent)
        return _text(sib) if sib is not None else None
    sib = _next_element(el)  # <div class="label">Deadline</div><div>…</div>
    if sib is not None and sib.tag not in HEADINGS:
        return _text(sib)
    return None


def _clip(value: str, field: str) -> str:
    limit = VALUE_MAX.get(field, DEFAULT_VALUE_MAX)
    value = value.strip(SEPARATORS).strip()
    if field not in VALUE_MAX:
        # one line; two when short ("17 décembre 2024" / "à 12h00, heure de Paris")
        lines = value.split("\n")
        two = " ".join(lines[:2])
        value = two if len(two) <= 120 else lines[0]
    return value[:limit].strip()


def parse_html(source: str | bytes | Any) -> Any:
    """An lxml element from HTML text, bytes, an lxml element or a parsel Selector/Response."""
    if hasattr(source, "root") and not isinstance(source, str | bytes):
        source = source.root  # parsel Selector
    if hasattr(source, "text") and hasattr(source, "url") and not isinstance(source, str | bytes):
        source = source.text  # Scrapy TextResponse
    if isinstance(source, str | bytes):
        if not source or not str(source if isinstance(source, str) else source[:1]).strip():
            return lxml_html.fromstring("<div></div>")
        try:
            return lxml_html.fromstring(source)
        except (ParserError, ValueError):
            return lxml_html.fromstring("<div></div>")
    return source


def read_labels(source: str | bytes | Any) -> dict[str, list[str]]:
    """Every labelled value in a page or fragment: field -> values in document order."""
    import copy

    root = parse_html(source)
    root = _prepare(copy.deepcopy(root))
    found: dict[str, list[str]] = {}

    def add(field: str, value: str | None) -> None:
        if not value:
            return
        value = _clip(value, field)
        if not value or label_field(value) == field:
            return
        values = found.setdefault(field, [])
        if not any(value == v or value in v for v in values):
            # keep the longer reading when a shorter one was found first
            values[:] = [v for v in values if v not in value]
            values.append(value)

    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        text = _text(el)
        if not text or len(text) > 4000:
            continue
        lines = text.split("\n")
        if len(lines) == 1 and len(text) <= LABEL_MAX + 4:
            hit = split_line(text)
            if hit:
                field, value = hit
                add(field, value if value else _value_for(el, field))
                continue
        # label and value on one line of a paragraph or list item, or several <br> lines
        if el.tag in ("p", "li", "div", "td", "dd", "span") and len(text) <= 1500:
            blocks = [c for c in el if isinstance(c.tag, str) and c.tag in BLOCK_TAGS]
            if blocks:
                continue  # a container: its children are visited on their own
            for line in lines:
                hit = split_line(line)
                if hit and hit[1]:
                    add(hit[0], hit[1])
    return found


# --------------------------------------------------------------------------------------------
# Metadata: JSON-LD (schema.org), microdata, Open Graph

JSONLD_TITLE_TYPES = {"event", "article", "newsarticle", "webpage", "grant", "monetarygrant",
                      "blogposting", "report", "creativework", "offer"}  # fmt: skip


def _walk_jsonld(node: Any) -> Iterable[dict[str, Any]]:
    if isinstance(node, list):
        for n in node:
            yield from _walk_jsonld(n)
    elif isinstance(node, dict):
        yield node
        for key in ("@graph", "mainEntity", "about"):
            if key in node:
                yield from _walk_jsonld(node[key])


def _types(obj: dict[str, Any]) -> set[str]:
    t = obj.get("@type") or []
    return {str(x).lower() for x in (t if isinstance(t, list) else [t])}


def _str(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("@value") or value.get("name")
    return squash(str(value)) if value not in (None, "") else None


@lru_cache(maxsize=64)
def _xpath(expression: str) -> etree.XPath:
    """A compiled XPath: `element.xpath(str)` compiles the expression on every call."""
    return etree.XPath(expression)


def read_metadata(source: Any) -> dict[str, str]:
    """title, summary, published, opens, deadline from JSON-LD / microdata / Open Graph / <meta>."""
    root = parse_html(source)
    meta: dict[str, str] = {}

    def put(key: str, value: Any) -> None:
        v = _str(value)
        if v and key not in meta:
            meta[key] = v

    for script in root.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue  # broken JSON-LD is common; the other readers still work
        for obj in _walk_jsonld(data):
            types = _types(obj)
            if types & JSONLD_TITLE_TYPES:
                put("title", obj.get("headline") or obj.get("name"))
                put("summary", obj.get("description"))
            put("published", obj.get("datePublished"))
            put("opens", obj.get("startDate") or obj.get("validFrom"))
            put("deadline", obj.get("endDate") or obj.get("validThrough")
                or obj.get("applicationDeadline") or obj.get("expires"))  # fmt: skip

    def first(xpath: str) -> str | None:
        got = _xpath(xpath)(root)
        return str(got[0]).strip() if got and str(got[0]).strip() else None

    for key, prop in (("title", "name"), ("title", "headline"), ("published", "datePublished"),
                      ("opens", "startDate"), ("deadline", "endDate"),
                      ("summary", "description")):  # fmt: skip
        put(key, first(f'//*[@itemprop="{prop}"]/@content')
            or first(f'//*[@itemprop="{prop}"]/@datetime'))  # fmt: skip
    put("title", first('//meta[@property="og:title"]/@content'))
    put("summary", first('//meta[@property="og:description"]/@content'))
    put("summary", first('//meta[@name="description"]/@content'))
    put("published", first('//meta[@property="article:published_time"]/@content'))
    put("url", first('//meta[@property="og:url"]/@content'))
    put("language", first("//html/@lang"))
    return meta
