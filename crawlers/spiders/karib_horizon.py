"""Karib Horizon — the Caribbean cooperation network's "appels à projets" (WordPress).

Source: https://www.karib-horizon.org/wp-json/wp/v2/appel-projet?per_page=20 (WordPress REST
    API, paged by X-WP-TotalPages), falling back to https://www.karib-horizon.org/appel-projet/feed/
    when the API is refused. Call pages karib-horizon.org/appel-projet/<slug> are documented
    (V); WordPress, the REST route and the feed are inferred (I).
Caveats:
    - it republishes other funders' calls (FCR, CORÉOM, DAECT): the same call arrives from its
      funder too, and dedupe links the two as sightings;
    - deadlines sit in the post body ("Date limite :"), read by the label reader.
Fixture: crawlers/samples/karib_horizon/ — reconstructed — not a capture (see README.md).
"""

from __future__ import annotations

from fundradar.crawlers.feed import WordPressSpider


class KaribHorizonSpider(WordPressSpider):
    name = "karib_horizon"
