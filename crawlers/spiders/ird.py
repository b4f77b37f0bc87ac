"""IRD — Institut de recherche pour le développement: calls (LMI, JEAI, research networks).

Source: https://www.ird.fr/appels-a-projets — **an inferred address** (no listing URL is
    documented, I); LMI and research-network calls with a letter-of-intent and a full-proposal
    deadline are documented (V).
Caveats:
    - listing address and markup are guesses: the first live check
      (`fundradar sources check --live`) says whether they hold;
    - two-stage calls: every "Date limite ..." label is kept, in page order, as deadline_texts
      (the pipeline picks the next one ahead).
Fixture: crawlers/samples/ird/ — reconstructed — not a capture (see README.md).
"""

from __future__ import annotations

from fundradar.crawlers.html import HtmlListSpider


class IrdSpider(HtmlListSpider):
    name = "ird"
