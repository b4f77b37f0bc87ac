"""Ambassade de France à Sainte-Lucie (Castries) — calls of its cooperation service.

Source: https://lc.ambafrance.org/spip.php?page=backend — the SPIP RSS of French embassy sites
    (S); the address for lc.ambafrance.org follows the SPIP pattern (I). The embassy's
    cooperation service covers the Eastern Caribbean and the OECS (V, a stored page).
Caveats:
    - SPIP serves the feed with a wrong content type (text/html, S): it is parsed from the bytes
      as XML, never by Content-Type;
    - news and calls are mixed: entries are kept when they name a call or a fund
      (options.keywords); an entry whose text gives no deadline gets its page read
      (options.detail: missing), by labels and headed sections ("Deadline", "Who can apply");
    - French and English entries (`xml:lang` per item).
Fixture: crawlers/samples/ambafrance_lc/ — reconstructed — not a capture (see README.md).
"""

from __future__ import annotations

from fundradar.crawlers.feed import FeedSpider


class AmbafranceLcSpider(FeedSpider):
    name = "ambafrance_lc"
