"""ANR — Agence nationale de la recherche: calls for proposals.

Source: https://anr.fr/fr/appels/ (listing), detail pages /fr/detail/call/<slug>/ (V, links);
    pages ?tx_solr[page]=N.
Caveats:
    - card markup `div.card.appel`, `h2 a`, `div.date`, `span.tag-type`, `div.abstract p` is
      second-hand ("verified 2026-04" by another scraper, S); an older layout used
      `div.tx-solr-results-item`, so both are in config — ANR changes layouts;
    - card dates are a range, numeric ("02/04/2026 - 04/06/2026") or month-only ("Avril 2026 -
      Juin 2026"), kept as period_text; the detail page's "Date de clôture" (read by label) is
      more precise when present;
    - most ANR calls are for French laboratories: the scorer, not the spider, decides relevance.
Fixture: crawlers/samples/anr/ — reconstructed — not a capture (see README.md).
"""

from __future__ import annotations

from fundradar.crawlers.html import HtmlListSpider


class AnrSpider(HtmlListSpider):
    name = "anr"
