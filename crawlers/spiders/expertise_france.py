"""Expertise France: calls for proposals (French, Spanish and English pages).

Source: https://www.expertisefrance.fr/appels-a-propositions (S).
Caveats:
    - listing and detail markup are guesses; programmes for Latin America and the Caribbean
      publish in Spanish ("Fecha límite de presentación", "Presupuesto", "Países elegibles"),
      which the label reader knows; language comes from the page's `lang`.
Fixture: crawlers/samples/expertise_france/ — reconstructed — not a capture (see README.md).
"""

from __future__ import annotations

from fundradar.crawlers.html import HtmlListSpider


class ExpertiseFranceSpider(HtmlListSpider):
    name = "expertise_france"
