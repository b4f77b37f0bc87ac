"""Préfecture de la Martinique — Fonds de coopération régionale (FCR) calls.

Source: https://www.martinique.gouv.fr/Publications/Appels-a-projets/Appels-a-projets-en-cours/
    Fonds-de-cooperation-regionale — the path is from a stored page of the older host
    martinique.pref.gouv.fr (V); préfecture sites now live on <department>.gouv.fr (I).
Caveats:
    - préfecture sites share one national CMS, so `fcr_martinique` and `fcr_guadeloupe` share
      one configuration (a YAML anchor in sources.yaml) that lists the DSFR card layout and
      the older list layout;
    - the call itself is often a PDF linked from the page; the spider reads the page (labels
      such as "Date limite de dépôt des dossiers") and does not download PDFs;
    - yearly calls: last year's closed call usually stays listed (the pipeline marks it closed).
Fixture: crawlers/samples/fcr_martinique/ — reconstructed — not a capture (see README.md).
"""

from __future__ import annotations

from fundradar.crawlers.html import HtmlListSpider


class PrefectureFcrSpider(HtmlListSpider):
    """Shared by both préfectures (no `name`: Scrapy does not list it as a spider)."""


class FcrMartiniqueSpider(PrefectureFcrSpider):
    name = "fcr_martinique"
