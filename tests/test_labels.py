"""The label-based reader: values found by the words next to them, not by CSS classes.

The redesign tests run a configured spider (AFD: selectors `h1`, `main`) over pages whose markup
shares none of those classes or structures, in French, English and Spanish, and check the call
still comes out with its dates, status and budget — what keeps a source alive after a redesign.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse

from fundradar.crawlers.html import Entry
from fundradar.crawlers.labels import label_field, read_labels, read_metadata, split_line
from fundradar.crawlers.spiders.afd import AfdSpider

from .conftest import make_spider
from .spider_harness import normalised


@pytest.mark.parametrize(
    ("label", "field"),
    [
        ("Date limite", "deadline"), ("Date de clôture", "deadline"),
        ("DATE DE CLOTURE", "deadline"),
        ("Closing date", "deadline"), ("Deadline", "deadline"), ("Fecha límite", "deadline"),
        ("Date limite de la lettre d'intention", "deadline"), ("Date d'ouverture", "opens"),
        ("Opening date", "opens"), ("Fecha de apertura", "opens"), ("Statut", "status"),
        ("Status", "status"), ("Estado", "status"), ("Montant", "budget"), ("Budget", "budget"),
        ("Enveloppe indicative", "budget"), ("Presupuesto", "budget"),
        ("Éligibilité", "eligibility"), ("Eligibility", "eligibility"),
        ("Países elegibles", "eligibility"), ("Date de publication", "published"),
        ("Date butoir", "deadline"), ("Remise des dossiers", "deadline"),
        ("Applications close", "deadline"), ("Fecha máxima", "deadline"),
        ("Application window", "period"), ("Période de dépôt", "period"),
        ("Período de presentación", "period"),
    ],
)  # fmt: skip
def test_labels_in_three_languages(label: str, field: str) -> None:
    assert label_field(label) == field
    assert label_field(label + " :") == field


@pytest.mark.parametrize(
    "text",
    ["Montant 50 000 €", "Le budget est un sujet important de ce programme européen",
     "Statutory instruments", "Deadlines are strict for all applicants of this programme"],
)  # fmt: skip
def test_sentences_and_values_are_not_labels(text: str) -> None:
    assert label_field(text) is None


def test_split_line() -> None:
    assert split_line("Date limite : 15 mars 2026") == ("deadline", "15 mars 2026")
    assert split_line("Deadline") == ("deadline", None)
    assert split_line("Voir le règlement : page 3") is None


def test_layouts() -> None:
    html = """<div>
      <dl><dt>Date d'ouverture</dt><dd>12 décembre 2026</dd></dl>
      <table><tr><th>Closing date</th><td>15 January 2027</td></tr></table>
      <p><strong>Montant :</strong> 50 000 €</p>
      <p>Statut : ouvert<br>Publié le : 3 novembre 2026</p>
      <h3>Éligibilité</h3><p>Associations de Martinique.</p><p>Partenaire à Sainte-Lucie.</p>
      <h3>Contact</h3><p>cooperation@example.org</p>
    </div>"""
    found = read_labels(html)
    assert found["opens"] == ["12 décembre 2026"]
    assert found["deadline"] == ["15 January 2027"]
    assert found["budget"] == ["50 000 €"]
    assert found["status"] == ["ouvert"]
    assert found["published"] == ["3 novembre 2026"]
    assert found["eligibility"] == ["Associations de Martinique.\nPartenaire à Sainte-Lucie."]


def test_scripts_navigation_and_cookie_banners_are_ignored() -> None:
    html = """<body><nav><p>Deadline : 1 janvier 2000</p></nav>
      <div id="tarteaucitronRoot"><p>Statut : en attente de votre choix</p></div>
      <script>var s = "Status: 2";</script><main><p>Statut : clôturé</p></main></body>"""
    found = read_labels(html)
    assert found == {"status": ["clôturé"]}


def test_metadata_json_ld_and_open_graph() -> None:
    html = """<html lang="es"><head>
      <meta property="og:title" content="Convocatoria 2027">
      <meta property="og:description" content="Proyectos en el Caribe">
      <meta property="article:published_time" content="2026-11-02T10:00:00Z">
      <script type="application/ld+json">{"@context": "https://schema.org", "@graph": [
        {"@type": "Organization", "name": "Not the title"},
        {"@type": "Event", "name": "Convocatoria de propuestas 2027",
         "startDate": "2026-12-01", "endDate": "2027-02-28"}]}</script>
      <script type="application/ld+json">{broken</script></head><body></body></html>"""
    meta = read_metadata(html)
    assert meta["title"] == "Convocatoria de propuestas 2027"
    assert meta["opens"] == "2026-12-01"
    assert meta["deadline"] == "2027-02-28"
    assert meta["summary"] == "Proyectos en el Caribe"
    assert meta["published"] == "2026-11-02T10:00:00Z"
    assert meta["language"] == "es"


# --- a configured spider on three redesigned pages ---------------------------------------------

REDESIGNS = {
    # French: Tailwind-like utility classes, label/value spans in list items, no <main>
    "fr": (
        "https://www.afd.fr/fr/appels-a-projets/fisong-2027-oceans",
        """<!DOCTYPE html>
<html lang="fr"><head><title>FISONG 2027 – Océans | AFD</title></head>
<body><div class="min-h-screen flex">
<div class="text-4xl font-bold">FISONG 2027 – Océans</div>
<ul class="grid grid-cols-3 gap-4">
 <li class="p-4 rounded"><span class="text-xs uppercase">Date d'ouverture</span>
   <span class="text-lg">4 janvier 2027</span></li>
 <li class="p-4 rounded"><span class="text-xs uppercase">État de l'appel</span>
   <span class="text-lg">Prochainement</span></li>
 <li class="p-4 rounded"><span class="text-xs uppercase">Date limite de dépôt</span>
   <span class="text-lg">2 avril 2027 à 12h00</span></li>
</ul>
<div class="prose"><p>Une enveloppe de 3 M€ pour l'économie bleue.</p></div>
</div></body></html>""",
    ),
    # English: cards with small headings and JSON-LD, no dl/table
    "en": (
        "https://www.afd.fr/en/calls-for-projects/fisong-2027-oceans",
        """<!DOCTYPE html>
<html lang="en"><head><script type="application/ld+json">{"@type": "WebPage",
 "name": "FISONG 2027 – Oceans", "datePublished": "2026-11-20"}</script></head>
<body><section class="c-hero"><div class="c-hero__heading">FISONG 2027 – Oceans</div></section>
<div class="row"><div class="col-4"><h6>Opening date</h6><div>4 January 2027</div></div>
<div class="col-4"><h6>Call status</h6><div>Upcoming</div></div>
<div class="col-4"><h6>Closing date</h6><div>2 April 2027, 12:00 (Paris time)</div></div></div>
<div class="c-body"><h4>Funding</h4><p>Grants of EUR 500,000 to EUR 1,000,000.</p></div>
</body></html>""",
    ),
    # Spanish: a definition-like grid of divs with colons, and a bare text line
    "es": (
        "https://www.afd.fr/es/convocatorias/fisong-2027-oceanos",
        """<!DOCTYPE html>
<html lang="es"><head><title>FISONG 2027 – Océanos</title></head>
<body><article class="ficha">
<div class="ficha-titulo">FISONG 2027 – Océanos</div>
<div class="ficha-datos"><div>Fecha de apertura:</div><div>4 de enero de 2027</div>
<div>Estado:</div><div>Próximamente</div></div>
<p>Fecha límite: 2 de abril de 2027</p>
<p>Presupuesto: 3.000.000 EUR</p>
</article></body></html>""",
    ),
}


@pytest.mark.parametrize("lang", ["fr", "en", "es"])
def test_redesigned_pages_still_yield_the_call(lang: str, now: datetime) -> None:
    url, html = REDESIGNS[lang]
    spider = make_spider(AfdSpider)
    # the configured selectors (h1, main, fr-card...) match nothing on these pages
    response = HtmlResponse(url, body=html.encode(), encoding="utf-8", request=Request(url))
    assert not response.css("h1") and not response.css("main")
    entry = Entry(url=url, title=None, hash="x")
    (call,) = list(spider.parse_detail(response, entry))
    assert call.extra["found_by"]["deadline"] == "label"
    assert call.extra["found_by"]["opens"] == "label"
    assert call.extra["found_by"]["status"] == "label"
    if lang != "fr":  # the French page states its budget in a sentence: read from the body
        assert call.extra["found_by"]["budget"] == "label"
    assert call.language == lang
    n = normalised(call, now)
    assert n.title and n.title.startswith("FISONG 2027")
    assert n.deadline is not None and (n.deadline.year, n.deadline.month, n.deadline.day)[:2] == (
        2027, 4)  # fmt: skip
    assert n.opens_at is not None and n.opens_at.astimezone(UTC).month in (1, 12)
    assert n.status == "forthcoming"
    assert n.budget_max is not None and n.currency == "EUR"
