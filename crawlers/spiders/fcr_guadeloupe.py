"""Préfecture de la Guadeloupe — Fonds de coopération régionale (FCR) calls.

Source: https://www.guadeloupe.gouv.fr/Publications/Appels-a-projets/Fonds-de-cooperation-regionale
    — **an inferred address** on the national préfecture CMS (I).
Caveats:
    - same CMS and configuration as `fcr_martinique` (see there); the FCR Guadeloupe co-funds
      35–60 % and names priority partner countries (V, page text), read by label
      ("Taux de cofinancement", "Pays prioritaires");
    - the listing also holds non-call publications (committee membership); only entries
      naming a call are kept (options.keywords).
Fixture: crawlers/samples/fcr_guadeloupe/ — reconstructed — not a capture (see README.md).
"""

from __future__ import annotations

from fundradar.crawlers.spiders.fcr_martinique import PrefectureFcrSpider


class FcrGuadeloupeSpider(PrefectureFcrSpider):
    name = "fcr_guadeloupe"
