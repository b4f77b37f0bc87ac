"""The fast CSV feed equals the reference formatter's, byte for byte, on hostile data.

`csv_feed.RowFormatter` (written by csv.writer) is the plain reference; `csv_fast.fast_lines`
takes shortcuts (memoised cells kept as finished CSV fields, a printable-title path, a
plain-link path, raw database values converted once). These tests compare the two whole files
(every column, header included, so a column added to the reference and not to the fast path
fails here), then check the two facts the shortcuts rest on over their whole domain.

The calls are reconstructed — not captures: generated from a fixed seed out of hostile pieces
(formula starts, tabs, CR/LF, NUL bytes, invisible and bidi characters, non-breaking and
Unicode spaces, accents, emoji, non-http and tricky links, empty and missing fields, every
deadline kind, odd budgets and JSON lists holding other things than text).
"""

from __future__ import annotations

import csv
import io
import random
import string
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from fundradar.pipeline.exports import clean_text
from fundradar.pipeline.exports.csv_fast import FAST_COLUMNS, PLAIN_URL, fast_lines
from fundradar.pipeline.exports.csv_feed import COLUMNS, RowFormatter, write_csv
from fundradar.pipeline.exports.query import CallFilter
from fundradar.pipeline.models import CallRow, Sighting, Verdict
from fundradar.pipeline.normalise.urls import safe_url
from tests.conftest import DIALECT
from tests.pipeline.exports.exports_factory import NOW, add_call, add_hostile

# NUL bytes reach the table only on SQLite (PostgreSQL refuses them in text); there they are
# written with Core statements, as rows stored before the NUL rule existed would be.
NUL = "\x00" if DIALECT == "sqlite" else ""
PIECES = [
    "=", "+", "-", "@", "\t", "\r", "\n", "\r\n", " ", "  ", "\xa0", "\u2003", "\u3000",
    "\u2028", "\x85", "\x0b", "\x1f", "\x7f", NUL, "\u200b", "\u00ad", "\ufeff", "\u202e",
    "\u200f", "\u061c", "\ufffe", "＝", "＋", "'", '"', ",", ";", "|", "é", "Ñ", "ü", "—",
    "€", "🌊", "אב", "ع", "Appel à projets", "=HYPERLINK(\"http://evil.example\")",
    "cmd|' /C calc'!A0", "2026", "<b>x</b>", "SUM(1+1)",
]  # fmt: skip
URLS = [
    "https://ec.europa.eu/info/funding-tenders/topic/1", "http://afd.fr/a?b=1&c=%20x",
    "https://example.org", "https://example.org/", "https://example.org/?",
    "https://example.org/a,b?c=1,2", "https://example.org/\"q\"",
    "https://example.org/#top", "HTTPS://EXAMPLE.ORG/A", "https://Example.org/x",
    "https://ec.europa.eu@evil.example/", "https://example.org:8443/x", "https://1.2.3.4/x",
    "https://[::1]/x", "javascript:alert(1)", "data:text/html,x", "mailto:a@b.c", "/relative",
    "//example.org/x", "ftp://example.org/x", "https://exa mple.org/x", "https://example.org/a b",
    "https://example.org/\tx", " https://example.org/x ", "https://bücher.de/x",
    "https://xn--bcher-kva.de/x", "https://localhost/x", "https://example.org:0/x",
    "https://example.org:99999/", "https://ex_ample.org/x", "https://-bad.org/x",
    "https://example.org/a@b", "https://example.org/a\\b", "http://a.b.c.d.e.f/%zz?%",
    f"https://example.org/{NUL}x", "", None,
]  # fmt: skip
# Reasons officers type are hostile too (pasted from a page, or typed to test the feed).
REASONS = [
    None, "", "=HYPERLINK(\"http://evil.example\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)",
    f"EU members{NUL} only", 'says "not for SIDS", twice', "line one\r\nline two", "\t=1+1",
    "  ", "'=already quoted", "; semicolons; too", "Coût trop élevé — 🌊", "\u202eevil",
]  # fmt: skip
KINDS = ["datetime", "date", "rolling", "not_found", None, "weird"]
ZONES = [None, "America/New_York", "Europe/Paris", "Pacific/Kiritimati", "America/St_Lucia"]


def hostile_text(rng: random.Random, parts: int = 4) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(0, parts)))


def json_items(rng: random.Random) -> Any:
    items: list[Any] = [hostile_text(rng) for _ in range(rng.randint(0, 4))]
    if rng.random() < 0.3:
        items.append("ocean")  # a theme the filter test selects
    if rng.random() < 0.2:
        items.append(rng.choice([1, 1.0, True, False, None, 0, "", {"a": 1}, ["x"]]))
    return items if rng.random() < 0.9 else rng.choice([None, [], "ab", "=ab"])


def random_call(rng: random.Random, n: int) -> dict[str, Any]:
    deadline = NOW + timedelta(minutes=rng.randint(-400_000, 800_000))
    if rng.random() < 0.3:  # midnight in some zone, where dates tip over
        deadline = deadline.replace(hour=rng.choice([0, 3, 4, 5, 23]), minute=rng.choice([0, 59]))
    budget = rng.choice([None, 0.0, -0.0, 1.0, 1, 2_500_000.0, 99_999.5, 1e12, float("nan")])
    return {
        "title": hostile_text(rng, 6) + f" call {n}" + hostile_text(rng, 2),
        "funder": rng.choice([None, "", "European Commission", hostile_text(rng)]),
        "programme": rng.choice([None, "Horizon Europe", hostile_text(rng)]),
        "deadline": None if rng.random() < 0.2 else deadline,
        "deadline_kind": rng.choice(KINDS),
        "timezone": rng.choice(ZONES),
        "status": rng.choice(["open", "forthcoming", "closed", None, "=open"]),
        "score": rng.choice([None, 0, 1, 55, 100]),
        "band": rng.choice(["high", "medium", "low", "none", None]),
        "budget_min": rng.choice([None, budget]),
        "budget_max": rng.choice([None, budget, 500_000.0]),
        "currency": rng.choice([None, "EUR", "USD", "", "=X"]),
        "budget_scope": rng.choice([None, "total", "per_project", "other"]),
        "themes": json_items(rng),
        "reasons": json_items(rng),
        "first_seen": NOW - timedelta(minutes=rng.randint(0, 200_000)),
        "url": rng.choice(URLS),
    }


def store_calls(session, count: int, seed: int) -> None:  # type: ignore[no-untyped-def]
    """`count` random hostile calls plus the factory's hostile one, stored as they are."""
    rng = random.Random(seed)
    add_hostile(session)
    for n in range(1, count + 1):
        fields = random_call(rng, n)
        row = add_call(session, n, **{k: v for k, v in fields.items() if k != "url"})
        # written with Core, past the ORM's cleaning: rows as an older version stored them
        session.execute(update(CallRow).where(CallRow.id == row.id).values(
            url=fields["url"] or "", title=fields["title"],
        ))  # fmt: skip
        for _ in range(rng.choice([0, 0, 1, 1, 2])):  # none, one, or a change of mind
            verdict = rng.choice(["relevant", "not-relevant", "shortlist", "=odd"])
            session.add(Verdict(call_id=row.id, verdict=verdict, reason=rng.choice(REASONS),
                                author="officer"))  # fmt: skip
    session.flush()


def both(session, flt: CallFilter | None = None) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    out = []
    for reference in (True, False):
        buf = io.StringIO(newline="")
        write_csv(buf, session, flt, now=NOW, reference=reference)
        out.append(buf.getvalue())
    return out[0], out[1]


def test_fast_feed_is_byte_identical_on_hostile_calls(session) -> None:  # type: ignore[no-untyped-def]
    store_calls(session, 400, seed=16)
    flt = CallFilter(statuses=(), include_dismissed=True)
    reference, fast = both(session, flt)
    assert reference.count("\r\n") > 400  # the calls are there (and some cells span lines)
    assert fast.encode("utf-8") == reference.encode("utf-8")
    # the shortcuts were taken and the hostile values are in the data, not just plain rows
    assert "'=HYPERLINK(" in fast and "'+" in fast and "rolling" in fast
    assert "not found — check the page" in fast and "javascript:" not in fast
    assert '"not relevant: says ""not for SIDS"", twice"' in fast  # a verdict cell, quoted
    assert 'relevant: =HYPERLINK(""http://evil.example"")"' in fast
    assert "\x00" not in fast and "\u202e" not in fast


@pytest.mark.parametrize(
    "flt",
    [
        CallFilter(),  # default: not closed, dismissed calls out
        CallFilter(themes=("ocean", "=ab"), statuses=()),  # the theme filter checked in Python
        CallFilter(min_band="medium", sources=("eu_ft",)),
    ],
    ids=["default", "themes", "band-source"],
)
def test_fast_feed_is_byte_identical_under_filters(session, flt: CallFilter) -> None:  # type: ignore[no-untyped-def]
    store_calls(session, 150, seed=7)
    first = session.query(CallRow).order_by(CallRow.id).first()
    session.add(Verdict(call_id=first.id, verdict="not-relevant", author="x"))
    first.sightings.append(Sighting(source="afd", url="https://afd.fr/1",
                                    canonical_url="https://afd.fr/1"))  # fmt: skip
    session.flush()
    reference, fast = both(session, flt)
    assert fast == reference
    assert reference.count("\r\n") > 1  # some calls pass each filter


def test_memo_tables_stay_bounded_and_right_when_full(session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from fundradar.pipeline.exports import csv_fast

    monkeypatch.setattr(csv_fast, "MEMO_LIMIT", 3)  # every table fills and starts again
    store_calls(session, 120, seed=3)
    reference, fast = both(session, CallFilter(statuses=(), include_dismissed=True))
    assert fast == reference


def typed(row: CallRow) -> tuple[Any, ...]:
    """A CallRow as a tuple of FAST_COLUMNS, its latest verdict read from its history."""
    latest = row.verdicts[-1] if row.verdicts else None
    extra = {"verdict": latest and latest.verdict, "verdict_reason": latest and latest.reason}
    return tuple(extra[c] if c in extra else getattr(row, c) for c in FAST_COLUMNS)


def reference_lines(rows: list[Any]) -> list[str]:
    """Each row as csv.writer writes RowFormatter's cells: one line per call."""
    out = []
    for row in rows:
        buf = io.StringIO(newline="")
        csv.writer(buf, lineterminator="\r\n").writerow(RowFormatter(NOW)(row))
        out.append(buf.getvalue())
    return out


def test_fast_lines_from_typed_rows_equal_the_reference(session) -> None:  # type: ignore[no-untyped-def]
    """Rows already converted (as a driver that decodes JSON gives them) take the other
    branches of the memo tables: same lines, and each has every column of the reference."""
    store_calls(session, 60, seed=11)
    rows = session.query(CallRow).order_by(CallRow.id).all()
    fast = list(fast_lines([typed(r) for r in rows], NOW))
    assert fast == reference_lines(rows)
    assert all(len(next(csv.reader(io.StringIO(line)))) == len(COLUMNS) for line in fast)


# ------------------------------------------------------------- the facts the shortcuts rest on


def test_printable_text_is_already_clean_and_has_no_other_space() -> None:
    """Over all of Unicode: `clean_text` leaves printable characters alone, and the only
    printable white space is the plain space, so a printable title needs only its spaces
    folded (what `fast_lines` does instead of `one_line`)."""
    printable = "".join(c for c in map(chr, range(0x110000)) if c.isprintable())
    assert len(printable) > 100_000
    assert clean_text(printable) == printable
    assert [c for c in printable if c.isspace()] == [" "]


def _plain_url(rng: random.Random) -> str:
    alnum, inner = string.ascii_lowercase + string.digits, string.ascii_lowercase + "0123456789-"

    def label(first: str) -> str:
        body = "".join(rng.choice(inner) for _ in range(rng.randint(0, 12)))
        return rng.choice(first) + (body + rng.choice(alnum) if body else "")

    host = ".".join([label(alnum) for _ in range(rng.randint(1, 3))] + [label("abcdefxyz")])
    path_chars = string.ascii_letters + string.digits + "._~!$&'()*+,;=:%/-"
    url = f"{rng.choice(['http', 'https'])}://{host}"
    if rng.random() < 0.8:
        url += "/" + "".join(rng.choice(path_chars) for _ in range(rng.randint(0, 30)))
    if rng.random() < 0.5:
        url += "?" + "".join(rng.choice(path_chars + "?") for _ in range(rng.randint(1, 20)))
    return url


def test_plain_links_are_what_safe_url_returns_unchanged() -> None:
    rng = random.Random(1616)
    for _ in range(5000):
        url = _plain_url(rng)
        assert PLAIN_URL.fullmatch(url), url
        assert safe_url(url) == url, url


def test_links_safe_url_changes_are_never_plain() -> None:
    changed = [u for u in URLS if u and safe_url(u) != u]
    assert len(changed) > 15
    assert not [u for u in changed if PLAIN_URL.fullmatch(u)]


def test_values_that_compare_equal_but_print_apart(session) -> None:  # type: ignore[no-untyped-def]
    """-0.0 == 0.0 and 1 == True == 1.0: memo keys that are equal must not share a cell."""
    cases = [(0.0, ["1"]), (-0.0, [1]), (0.0, [True]), (-0.0, [1.0]), (1, ["x"]), (1.0, ["x"])]
    for n, (lo, themes) in enumerate(cases):
        add_call(session, n + 1, budget_min=lo, budget_max=None, currency="EUR", themes=themes,
                 reasons=themes)  # fmt: skip
    reference, fast = both(session)
    assert fast == reference
    assert "EUR 0," in fast and ",True,True," in fast and ",1.0,1.0," in fast
    # SQLite gives -0.0 back as 0.0; the formatter itself must still keep them apart
    rows = session.query(CallRow).order_by(CallRow.id).all()
    for row, (lo, _) in zip(rows, cases, strict=True):
        row.budget_min = lo
    lines = list(fast_lines([typed(r) for r in rows], NOW))
    assert lines == reference_lines(rows)
    budgets = [next(csv.reader(io.StringIO(line)))[8] for line in lines[:4]]
    assert budgets == ["EUR 0", "EUR -0", "EUR 0", "EUR -0"]
