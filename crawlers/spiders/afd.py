"""AFD — Agence française de développement: calls for projects (FR and EN listings).

Source: https://www.afd.fr/fr/appels-a-projets/liste and /en/calls-for-projects/list, filtered
    on open and forthcoming calls (`?status[ongoing]=ongoing&status[soon]=soon`), pages counted
    from 0 (`&page=1` is the second page, linked by `a.fr-pagination__link--next`). Detail pages
    `/fr/appels-a-projets/<slug>`, `/en/calls-for-projects/<slug>` (S).
Caveats:
    - the markup is the French state design system (DSFR) on Drupal, second-hand (S): the card
      and pagination classes in config are guesses from other scrapers; detail fields ("Date
      d'ouverture / Statut / Date de clôture", "Opening date / Status / Closing date", V as page
      text) are read by the label reader, whatever their classes;
    - cards may carry a date range ("17 décembre 2024 - 24 janvier 2025") kept as period_text;
    - the budget is only in the body text ("enveloppe de 2,5 M€"); the pipeline finds it there;
    - a tarteaucitron cookie banner sits in every page; whether content needs JavaScript is
      disputed (S) — if a live check yields nothing, that is the first thing to look at;
    - the same call appears in French and English (two pages, one call: dedupe links them).
Fixture: crawlers/samples/afd/ — reconstructed — not a capture (see its README.md).
"""

from __future__ import annotations

from fundradar.crawlers.html import HtmlListSpider


class AfdSpider(HtmlListSpider):
    name = "afd"
