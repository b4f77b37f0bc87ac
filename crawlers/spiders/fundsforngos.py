"""fundsforNGOs — an aggregator of grant calls, through its WordPress RSS feed.

Source: https://www2.fundsforngos.org/feed/ (S; also /category/listing/feed/ and the WordPress
    API /wp-json/wp/v2/posts).
Caveats:
    - worldwide calls, mostly irrelevant to the OECS: the scorer filters, not the spider;
    - the deadline is a line of the post body ("Deadline: 15-Jan-2027"), read by label;
    - it republishes funders' calls, so dedupe links them to the funder's own page.
Fixture: crawlers/samples/fundsforngos/ — reconstructed — not a capture (see README.md).
"""

from __future__ import annotations

from fundradar.crawlers.feed import FeedSpider


class FundsforngosSpider(FeedSpider):
    name = "fundsforngos"
