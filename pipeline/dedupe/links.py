"""The pages an aggregator's copy of a call links out to: its strongest evidence of which call
it copied ("Plus d'informations sur le site de l'AFD", "Apply here").

Read from the item's HTML *before* normalise turns it into text (`crawlers.base.SourceSpider.
make_call` stores them as `Call.extra["links_to"]`, for aggregator sources only: a funder's own
page links to its other calls, which are not the same call). Dedupe then looks these canonical
URLs up among the stored calls and sightings (`pipeline.dedupe.find_match`), and a funder page
arriving later finds the aggregator's copy that links to it (`pipeline.dedupe.match.judge`).
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml import html as lxml_html

from fundradar.pipeline.normalise.urls import canonical_url, safe_url

MAX_LINKS = 8  # a post linking to more pages than this is a list, not one call's copy
# Hosts that are never a funder's call page: sharing buttons, social networks, short links,
# document viewers. Compared on the registrable end of the host name.
_NOT_A_CALL_PAGE = frozenset(
    """facebook.com twitter.com x.com linkedin.com instagram.com youtube.com youtu.be
    whatsapp.com wa.me t.me telegram.org pinterest.com reddit.com tiktok.com flickr.com
    bit.ly tinyurl.com ow.ly buff.ly lnkd.in goo.gl google.com docs.google.com
    forms.gle addtoany.com sharethis.com gravatar.com wordpress.org wordpress.com
    feedburner.com mailchi.mp list-manage.com eepurl.com""".split()  # noqa: SIM905
)


def _site(host: str) -> str:
    """The last two labels of a host ("www2.fundsforngos.org" -> "fundsforngos.org"), three for
    a country's second level ("www.gov.lc" stays "gov.lc", "afd.gouv.fr" -> "afd.gouv.fr")."""
    labels = host.lower().rstrip(".").split(".")
    if len(labels) >= 3 and labels[-2] in ("gov", "gouv", "gob", "co", "com", "org", "ac", "edu"):
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def outbound_links(html: str | None, page_url: str, *, limit: int = MAX_LINKS) -> list[str]:
    """Canonical URLs of the http(s) links in `html` that leave the page's own site, in page
    order, without duplicates, sharing buttons or social networks; at most `limit`."""
    if not html or "href" not in html:
        return []
    try:
        root = lxml_html.fromstring(html)
    except (etree.ParserError, ValueError):
        return []
    own = _site(urlsplit(page_url).hostname or "")
    found: list[str] = []
    for href in root.xpath("//a/@href"):
        url = safe_url(urljoin(page_url, str(href).strip()))
        if url is None:
            continue  # mailto:, javascript:, a broken link
        host = urlsplit(url).hostname or ""
        site = _site(host)
        if site == own or site in _NOT_A_CALL_PAGE or host in _NOT_A_CALL_PAGE:
            continue
        canon = canonical_url(url)
        if canon not in found:
            found.append(canon)
        if len(found) >= limit:
            break
    return found
