"""URLs: which links are safe to put in a mail or a CSV, and one canonical form for dedupe.

The same call reaches us as `https://www.afd.fr/fr/appels-a-projets/x/?utm_source=newsletter`,
`HTTPS://WWW.AFD.FR:443/fr/appels-a-projets/x` and `...x#candidater`; `canonical_url` turns them
into one string so dedupe sees one call. It never changes what the server would serve: path
case is kept, only unreserved percent-escapes are decoded, and query parameters other than
tracking and session ids are kept (sorted).
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, quote, unquote, urlsplit, urlunsplit

import idna

__all__ = ["canonical_url", "safe_url"]

_SAFE_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

# Analytics and mailing tags (Google, Meta, Microsoft, Mailchimp, HubSpot, Matomo, and
# AT Internet's xtor / at_* used by French government sites such as the préfectures').
_TRACKING_KEYS = frozenset(
    {"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "twclid"}
    | {"mc_cid", "mc_eid", "_ga", "_gl", "xtor", "xts", "xtref", "mkt_tok", "_hsenc", "_hsmi"}
    | {"hsctatracking", "oly_anon_id", "oly_enc_id", "vero_id", "vero_conv", "wt.mc_id"}
    | {"s_kwcid", "ref_src", "trk", "ncid", "cmpid", "sc_campaign", "__s", "ss_source"}
)
_TRACKING_PREFIXES = ("utm_", "at_", "mtm_", "pk_", "piwik_", "matomo_", "hsa_", "_hs")
# Session ids make every visit's URL different (Java, PHP, ASP, ColdFusion back ends).
_SESSION_KEYS = frozenset(
    {"jsessionid", "phpsessid", "sid", "sessionid", "session_id", "cfid", "cftoken"}
)
_SESSION_PREFIXES = ("aspsessionid",)
_JSESSIONID_RE = re.compile(r";jsessionid=[^/?#]*", re.IGNORECASE)

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PATH_SAFE = frozenset("/:@!$&'()*+,;=")
_QUERY_SAFE = frozenset("/:@!$'()*+,;=?")  # "&" separates pairs; kept escaped inside them
_FRAGMENT_SAFE = frozenset("/:@!$&'()*+,;=?")
_HEX = frozenset("0123456789abcdefABCDEF")
_HOST_LABEL_RE = re.compile(r"^(?!-)[\w-]{1,63}(?<!-)$")
_IPV4_RE = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_STRIPPED = dict.fromkeys(map(ord, "\t\n\r"), None)  # browsers drop these anywhere in a URL


def safe_url(url: str | None) -> str | None:
    """The URL if it is an absolute http(s) link to a real host, else None.

    Refused: other schemes (javascript:, data:, vbscript:, mailto:, file:), relative and
    protocol-relative links, credentials in the URL ("https://ec.europa.eu@evil.example/"
    shows one host and opens another), hosts that are not host names, bad ports.
    Tabs and newlines are removed as browsers do ("java\\nscript:"); spaces are escaped.
    """
    if not url:
        return None
    u = url.translate(_STRIPPED).strip(" \x00\x0b\x0c")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in u):
        return None
    try:
        parts = urlsplit(u)
        port = parts.port
    except ValueError:  # "http://[::1", "http://host:99999"
        return None
    scheme = parts.scheme.lower()
    if scheme not in _SAFE_SCHEMES or not parts.netloc or "@" in parts.netloc:
        return None
    if "\\" in parts.netloc or not _valid_host(parts.hostname or ""):
        return None
    if port == 0:
        return None
    return urlunsplit(parts._replace(scheme=scheme)).replace(" ", "%20")


def _valid_host(host: str) -> bool:
    host = host.rstrip(".")
    if not host:
        return False
    if ":" in host:  # IPv6 literal; urlsplit already checked the brackets
        return all(c in _HEX or c in ":." for c in host)
    if _IPV4_RE.match(host):
        return all(int(p) <= 255 for p in host.split("."))
    labels = host.split(".")
    if len(labels) < 2 or not all(_HOST_LABEL_RE.match(lb) for lb in labels):
        return False
    if not host.isascii():
        try:
            idna.encode(host, uts46=True)
        except idna.IDNAError:
            return False
    return True


def _normalise_pct(s: str, safe: frozenset[str]) -> str:
    """Decode escapes of unreserved characters, upper-case the others, escape what must be.

    Idempotent: the output only holds unreserved or safe characters and upper-case escapes.
    """
    out: list[str] = []
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c == "%" and i + 2 < n and s[i + 1] in _HEX and s[i + 2] in _HEX:
            ch = chr(int(s[i + 1 : i + 3], 16))
            out.append(ch if ch in _UNRESERVED else "%" + s[i + 1 : i + 3].upper())
            i += 3
            continue
        out.append(c if c in _UNRESERVED or c in safe else quote(c, safe=""))
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4: '/a/./b/../c' -> '/a/c'."""
    if "." not in path:
        return path
    segments = path.split("/")
    out: list[str] = []
    for seg in segments:
        if seg == "..":
            if len(out) > 1:
                out.pop()
        elif seg != ".":
            out.append(seg)
    if segments[-1] in (".", ".."):
        out.append("")
    return "/".join(out)


def _is_noise(key: str) -> bool:
    k = unquote(key.replace("+", " ")).lower()
    return (
        k in _TRACKING_KEYS
        or k in _SESSION_KEYS
        or k.startswith(_TRACKING_PREFIXES)
        or k.startswith(_SESSION_PREFIXES)
    )


def _canonical_query(query: str) -> str:
    pairs: list[tuple[str, str, str]] = []
    for piece in query.split("&"):
        if not piece:
            continue
        key, sep, value = piece.partition("=")
        if _is_noise(key):
            continue
        pairs.append(
            (_normalise_pct(key, _QUERY_SAFE - {"="}), sep, _normalise_pct(value, _QUERY_SAFE))
        )
    pairs.sort()
    return "&".join(k + sep + v for k, sep, v in pairs)


def _canonical_host(parts: SplitResult) -> str:
    host = (parts.hostname or "").rstrip(".")
    if host and not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError:
            host = host.lower()
    if ":" in host:
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        netloc += f":{port}"
    return f"{userinfo}@{netloc}" if userinfo else netloc


def canonical_url(url: str) -> str:
    """One spelling per page, for dedupe. Idempotent; relative or opaque URLs come back trimmed.

    Lower-case scheme and host (IDN hosts in punycode), no default port, no fragment (except
    "#!/..." and "#/..." routes of single-page sites, which name the page), no tracking or
    session parameters, the other parameters sorted, percent-escapes normalised, dot segments
    resolved, no trailing slash except the root. Path case is kept: servers differ on it.
    """
    u = url.translate(_STRIPPED).strip()
    try:
        parts = urlsplit(u)
    except ValueError:
        return u
    if not parts.netloc:
        return u
    scheme = parts.scheme.lower()
    path = _JSESSIONID_RE.sub("", parts.path)
    path = _remove_dot_segments(_normalise_pct(path, _PATH_SAFE)) or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    fragment = parts.fragment
    fragment = _normalise_pct(fragment, _FRAGMENT_SAFE) if fragment[:1] in ("!", "/") else ""
    return urlunsplit(
        (scheme, _canonical_host(parts), path, _canonical_query(parts.query), fragment)
    )
