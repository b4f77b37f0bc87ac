"""pipeline.normalise.urls: safe links and one canonical spelling per page."""

from __future__ import annotations

import pytest

from fundradar.pipeline.normalise.urls import canonical_url, safe_url

SAFE = [
    (
        "https://www.afd.fr/fr/appels-a-projets/liste",
        "https://www.afd.fr/fr/appels-a-projets/liste",
    ),
    ("  HTTPS://ec.europa.eu/info/funding-tenders  ", "https://ec.europa.eu/info/funding-tenders"),
    ("http://10.0.0.1/x", "http://10.0.0.1/x"),
    ("https://[2001:db8::1]/x", "https://[2001:db8::1]/x"),
    ("https://exämple.fr/appel", "https://exämple.fr/appel"),
    # scraped hrefs with a raw space in a PDF name: escaped, still a good link
    ("https://www.afd.fr/fr/appel 2025.pdf", "https://www.afd.fr/fr/appel%202025.pdf"),
    ("https://www.interreg-caraibes.com/\n", "https://www.interreg-caraibes.com/"),
]


@pytest.mark.parametrize(("url", "expected"), SAFE)
def test_safe_url_keeps_http_links(url, expected):
    assert safe_url(url) == expected


UNSAFE = [
    None,
    "",
    "   ",
    "javascript:alert(1)",
    " JaVaScRiPt:alert(document.cookie)",
    "java\nscript:alert(1)",  # browsers drop the newline
    "java\tscript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD4=",
    "vbscript:msgbox(1)",
    "mailto:dcrm@oecs.int",
    "file:///etc/passwd",
    "ftp://ftp.example.org/call.pdf",
    "//evil.example/x",  # protocol-relative: relative garbage for us
    "/fr/appels-a-projets",
    "appel-a-projets.html",
    "https://ec.europa.eu@evil.example/",  # shows one host, opens another
    "https://user:pass@example.org/",
    "https:\\\\evil.example",
    "https://good.example\\@evil.example",
    "http://[::1",
    "http://example.org:99999/",
    "http://example.org:0/",
    "https://localhost/admin",
    "https://exa mple.org/",
    "https://-bad-.example/",
    "http://192.168.1.300/",
    "https://example.org/\x01x",
]


@pytest.mark.parametrize("url", UNSAFE)
def test_safe_url_refuses_everything_else(url):
    assert safe_url(url) is None


CANONICAL = [
    (
        "HTTPS://WWW.AFD.FR:443/fr/appels-a-projets/x/?utm_source=newsletter&utm_medium=email",
        "https://www.afd.fr/fr/appels-a-projets/x",
    ),
    (
        "https://www.afd.fr/fr/appels-a-projets/x#candidater",
        "https://www.afd.fr/fr/appels-a-projets/x",
    ),
    ("http://Example.com:80/", "http://example.com/"),
    ("https://example.com", "https://example.com/"),
    ("http://example.com:8080/a/", "http://example.com:8080/a"),
    ("https://x.fr/a/./b/../c/", "https://x.fr/a/c"),
    ("https://x.fr/Appels/FCR-2025/", "https://x.fr/Appels/FCR-2025"),  # path case kept
    ("https://x.fr/list?page=2&type=1&status=open", "https://x.fr/list?page=2&status=open&type=1"),
    (
        "https://x.fr/a?fbclid=1&gclid=2&at_medium=x&xtor=RSS-1&mc_cid=1&mc_eid=2&_ga=3&id=7",
        "https://x.fr/a?id=7",
    ),
    ("https://www.x.fr/page;jsessionid=ABC123?PHPSESSID=1&id=5", "https://www.x.fr/page?id=5"),
    ("https://x.fr/p?sid=abc&SessionID=d&ASPSESSIONIDQA=e&q=1", "https://x.fr/p?q=1"),
    ("https://x.fr/Appel%7e%2fx%41", "https://x.fr/Appel~%2FxA"),  # unreserved decoded only
    ("https://x.fr/caf%c3%a9", "https://x.fr/caf%C3%A9"),
    ("https://x.fr/café?q=été", "https://x.fr/caf%C3%A9?q=%C3%A9t%C3%A9"),
    ("https://x.fr/a%", "https://x.fr/a%25"),
    ("https://exämple.fr/appel", "https://xn--exmple-cua.fr/appel"),
    ("https://WWW.Région-Guadeloupe.fr./x", "https://www.xn--rgion-guadeloupe-bqb.fr/x"),
    ("https://x.fr/a?&&b=1&", "https://x.fr/a?b=1"),
    ("https://x.fr/search?q=a+b&q=a%20c", "https://x.fr/search?q=a%20c&q=a+b"),
    ("https://x.fr/?utm_campaign=x", "https://x.fr/"),
    # single-page sites name the page in the fragment: keep those routes
    ("https://portal.example/#!/calls/123", "https://portal.example/#!/calls/123"),
    (
        "https://portal.example/app/#/topic/HORIZON-CL6",
        "https://portal.example/app#/topic/HORIZON-CL6",
    ),
    ("/relative/path?utm_source=x", "/relative/path?utm_source=x"),  # not absolute: left alone
]


@pytest.mark.parametrize(("url", "expected"), CANONICAL)
def test_canonical_url(url, expected):
    assert canonical_url(url) == expected


@pytest.mark.parametrize("url", [u for u, _ in CANONICAL] + [u for u, _ in SAFE])
def test_canonical_url_is_idempotent(url):
    once = canonical_url(url)
    assert canonical_url(once) == once


def test_variants_of_one_call_share_one_canonical_url():
    variants = [
        "https://www.afd.fr/fr/appels-a-projets/fisong-2025",
        "https://www.afd.fr/fr/appels-a-projets/fisong-2025/",
        "HTTPS://WWW.AFD.FR/fr/appels-a-projets/fisong-2025?utm_source=twitter",
        "https://www.afd.fr:443/fr/appels-a-projets/fisong-2025#eligibilite",
        "https://www.afd.fr/fr/appels-a-projets/./fisong-2025?xtor=RSS-2",
    ]
    assert {canonical_url(v) for v in variants} == {
        "https://www.afd.fr/fr/appels-a-projets/fisong-2025"
    }


def test_distinct_pages_stay_distinct():
    assert canonical_url("https://anr.fr/fr/appels/?page=1") != canonical_url(
        "https://anr.fr/fr/appels/?page=2"
    )
    assert canonical_url("http://x.fr/a") != canonical_url("https://x.fr/a")
    assert canonical_url("https://x.fr/A") != canonical_url("https://x.fr/a")
