"""Région Guadeloupe — calls announced in its news, notably "Je coopère avec les pays de l'OECO".

Source: https://www.regionguadeloupe.fr/actualites-et-agendas/toute-lactualite-du-conseil/
    (V, a stored page) with detail pages .../detail/actualites/<slug>/.
Caveats:
    - a news listing: most items are not calls, so only items naming one are kept
      (options.keywords: "appel à projets", "OECO", "candidature");
    - markup (TYPO3-style news list) is a guess; dates and amounts are read by label
      ("Date limite de dépôt", "Montant", headed sections such as "Calendrier").
Fixture: crawlers/samples/region_guadeloupe/ — reconstructed — not a capture (see README.md).
"""

from __future__ import annotations

from fundradar.crawlers.html import HtmlListSpider


class RegionGuadeloupeSpider(HtmlListSpider):
    name = "region_guadeloupe"
