"""AUF — Agence universitaire de la Francophonie: calls for applications.

Source: https://www.auf.org/nouvelles/appels-a-candidatures/ (global listing, S) and the
    Caribbean office's https://www.auf.org/caraibe/nouvelles/appels-a-candidatures/ (V: its
    detail pages carry "Date limite" in the body).
Caveats:
    - listing markup is a guess (`article` with an `h2`/`h3` link); the detail fields are read
      by their labels in the body text ("Date limite de candidature :", "Montant :");
    - the same call can be listed globally and by the Caribbean office: one request (Scrapy's
      duplicate filter), one item.
Fixture: crawlers/samples/auf/ — reconstructed — not a capture (see README.md).
"""

from __future__ import annotations

from fundradar.crawlers.html import HtmlListSpider


class AufSpider(HtmlListSpider):
    name = "auf"
