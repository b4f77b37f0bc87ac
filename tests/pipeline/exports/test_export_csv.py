"""The CSV feed: what officers open in Excel. Read back with the csv module and with pandas."""

from __future__ import annotations

import csv
import io
import threading
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from fundradar.pipeline.exports.csv_feed import (
    COLUMNS,
    csv_row,
    neutralise,
    refresh_feed,
    write_csv,
    write_csv_file,
)
from fundradar.pipeline.exports.files import atomic_text
from fundradar.pipeline.exports.query import CallFilter
from fundradar.pipeline.models import Sighting, Verdict
from tests.pipeline.exports.exports_factory import NOW, add_call, add_hostile


def export(session, flt: CallFilter | None = None) -> str:  # type: ignore[no-untyped-def]
    buf = io.StringIO(newline="")
    write_csv(buf, session, flt, now=NOW)
    return buf.getvalue()


def rows_of(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


# ---------------------------------------------------------------------------------- format


def test_columns_are_twelve_plus_the_link_then_id_and_verdict(session) -> None:  # type: ignore[no-untyped-def]
    add_call(session)
    header = next(csv.reader(io.StringIO(export(session)[1:])))
    assert header == list(COLUMNS)
    assert header[12] == "url" and header[13:] == ["id", "verdict"] and len(header) == 15
    for must in ("title", "funder", "programme", "deadline", "status", "score", "band",
                 "themes", "reasons", "url"):  # fmt: skip
        assert must in header


def test_file_is_utf8_with_bom_and_accents_survive(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    add_call(session, title="Fonds de coopération régionale — Sainte-Lucie", funder="Préfecture")
    path = tmp_path / "calls.csv"
    write_csv_file(path, session, now=NOW)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert "coopération régionale".encode() in raw
    assert b"\r\n" in raw  # RFC 4180 line ends, as Excel writes
    rows = list(csv.DictReader(path.open(encoding="utf-8-sig", newline="")))
    assert rows[0]["title"] == "Fonds de coopération régionale — Sainte-Lucie"
    assert rows[0]["funder"] == "Préfecture"


def test_values_dates_in_saint_lucia_time_and_empty_unknowns(session) -> None:  # type: ignore[no-untyped-def]
    # 2026-12-15 16:00 UTC is 12:00 in Castries (UTC-4, no daylight saving)
    add_call(session, deadline=NOW.replace(month=12, day=15, hour=16), budget_min=100000.0,
             budget_max=500000.0, currency="EUR", budget_scope="per_project",
             themes=["climate_resilience", "ocean"],
             reasons=["one", "two", "three", "four"], first_seen=NOW.replace(hour=2))  # fmt: skip
    add_call(session, 2, deadline=None, score=None, band=None, funder=None, programme=None,
             status=None, themes=[], reasons=[])  # fmt: skip
    rows = rows_of(export(session))
    full, bare = rows
    assert full["deadline"] == "2026-12-15T12:00-04:00"
    assert full["days_left"] == "18"
    assert full["status"] == "open"
    assert full["budget"] == "EUR 100,000 – 500,000 per project"
    assert full["themes"] == "climate_resilience; ocean"
    assert full["reasons"] == "one | two | three"  # the top three only
    # 02:00 UTC on 27 Nov is still 26 Nov in Saint Lucia
    assert full["first_seen"] == "2026-11-26"
    assert full["url"] == "https://ec.europa.eu/info/funding-tenders/topic/1"
    for col in ("score", "band", "funder", "programme", "deadline", "days_left", "status",
                "budget", "themes", "reasons"):  # fmt: skip
        assert bare[col] == "", col


def test_pandas_reads_numbers_dates_and_blanks(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    add_call(session, 1, score=81, band="high")
    add_call(session, 2, score=55, band="medium", deadline=None)
    add_call(session, 3, score=12, band="low", status="forthcoming")
    path = tmp_path / "calls.csv"
    write_csv_file(path, session, now=NOW)
    df = pd.read_csv(path, encoding="utf-8-sig")
    assert list(df.columns) == list(COLUMNS)
    assert len(df) == 3
    assert pd.api.types.is_numeric_dtype(df["score"])
    assert df["score"].tolist() == [81, 55, 12]
    assert df["days_left"].isna().tolist() == [False, True, False]
    deadlines = pd.to_datetime(df["deadline"].dropna(), format="ISO8601", utc=True)
    assert deadlines.iloc[0] == pd.Timestamp(NOW + timedelta(days=11))


def test_order_is_band_then_deadline(session) -> None:  # type: ignore[no-untyped-def]
    add_call(session, 1, band="medium", deadline=NOW + timedelta(days=3), title="m-soon")
    add_call(session, 2, band="high", deadline=NOW + timedelta(days=30), title="h-late")
    add_call(session, 3, band="high", deadline=NOW + timedelta(days=5), title="h-soon")
    add_call(session, 4, band="high", deadline=None, title="h-none")
    add_call(session, 5, band=None, score=None, title="unscored")
    add_call(session, 6, band="low", deadline=NOW + timedelta(days=1), title="l-soon")
    titles = [r["title"] for r in rows_of(export(session))]
    assert titles == ["h-soon", "h-late", "h-none", "m-soon", "l-soon", "unscored"]
    assert titles == [r["title"] for r in rows_of(export(session))]  # stable


# ---------------------------------------------------------------------------------- hostile


@pytest.mark.parametrize(
    "cell",
    ["=1+1", "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1", "\n=1", "  =1+1", " \t@x", "＝1+1"],
)
def test_neutralise_formula_starts(cell: str) -> None:
    assert neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["Horizon Europe", "", "a=b", "1-2", "e-mail", "'=x"])
def test_neutralise_leaves_plain_text(cell: str) -> None:
    assert neutralise(cell) == cell


def test_hostile_call_is_neutralised(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    add_hostile(session)
    path = tmp_path / "calls.csv"
    write_csv_file(path, session, now=NOW)
    for reader_rows in (
        list(csv.DictReader(path.open(encoding="utf-8-sig", newline=""))),
        pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False, dtype=str).to_dict(
            "records"
        ),
    ):
        (row,) = reader_rows
        for col, value in row.items():
            # no cell a spreadsheet would evaluate
            assert not str(value).lstrip().startswith(("=", "+", "-", "@")), (col, value)
        assert row["title"].startswith("'=HYPERLINK(")
        assert row["funder"] == "'+cmd|' /C calc'!A0"
        assert row["programme"].startswith("'@SUM")
        assert row["reasons"].startswith("'-2+3")
        assert row["themes"] == "<b>bold</b>; =theme"  # text, not at the start: harmless
        assert row["url"] == ""  # the javascript: link is dropped, not exported
    assert b"javascript:" not in path.read_bytes()


def test_numbers_are_not_prefixed(session) -> None:  # type: ignore[no-untyped-def]
    row = add_call(session, deadline=NOW - timedelta(days=3), status="closed")
    cells = dict(zip(COLUMNS, csv_row(row, now=NOW), strict=True))
    assert cells["days_left"] == -3  # a number, shown as a number, not "'-3"


# ---------------------------------------------------------------------------------- filters


def _titles(session, flt: CallFilter) -> set[str]:  # type: ignore[no-untyped-def]
    return {r["title"] for r in rows_of(export(session, flt))}


def test_filters(session) -> None:  # type: ignore[no-untyped-def]
    add_call(session, 1, title="high open", band="high", themes=["ocean"])
    add_call(session, 2, title="medium forthcoming", band="medium", status="forthcoming",
             themes=["ocean", "energy"])  # fmt: skip
    add_call(session, 3, title="low closed", band="low", status="closed",
             deadline=NOW - timedelta(days=2), themes=["energy"])  # fmt: skip
    add_call(session, 4, title="old afd", key="afd:X-4", source="afd", band="high",
             first_seen=NOW - timedelta(days=60), themes=["water_sanitation"])  # fmt: skip
    seen_twice = add_call(session, 5, title="eu seen on afd too", band="none", status=None)
    seen_twice.sightings.append(
        Sighting(source="afd", url="https://afd.fr/5", canonical_url="https://afd.fr/5")
    )
    session.flush()

    assert _titles(session, CallFilter()) == {
        "high open",
        "medium forthcoming",
        "old afd",
        "eu seen on afd too",
    }  # default: not closed (undated/unknown status kept)
    assert "low closed" in _titles(session, CallFilter(statuses=()))
    assert _titles(session, CallFilter(statuses=("closed",))) == {"low closed"}
    assert _titles(session, CallFilter(min_band="medium")) == {
        "high open",
        "medium forthcoming",
        "old afd",
    }
    assert _titles(session, CallFilter(min_band="high")) == {"high open", "old afd"}
    assert _titles(session, CallFilter(since=NOW - timedelta(days=7))) == {
        "high open",
        "medium forthcoming",
        "eu seen on afd too",
    }
    assert _titles(session, CallFilter(themes=("energy",), statuses=())) == {
        "medium forthcoming",
        "low closed",
    }
    assert _titles(session, CallFilter(themes=("ocean", "water_sanitation"))) == {
        "high open",
        "medium forthcoming",
        "old afd",
    }
    # source: first seen there, or also seen there
    assert _titles(session, CallFilter(sources=("afd",))) == {"old afd", "eu seen on afd too"}


def test_theme_filter_is_exact(session) -> None:  # type: ignore[no-untyped-def]
    add_call(session, 1, title="a", themes=["ocean_economy"])
    add_call(session, 2, title="b", themes=["ocean"])
    add_call(session, 3, title="c", themes=["50%_off"])
    assert _titles(session, CallFilter(themes=("ocean",))) == {"b"}
    assert _titles(session, CallFilter(themes=("50%_off",))) == {"c"}


def test_dismissed_calls_leave_the_feed(session) -> None:  # type: ignore[no-untyped-def]
    a = add_call(session, 1, title="kept")
    b = add_call(session, 2, title="dismissed")
    c = add_call(session, 3, title="dismissed then relevant again")
    session.add_all([
        Verdict(call_id=b.id, verdict="not-relevant", reason="EU members only", author="x"),
        Verdict(call_id=c.id, verdict="not-relevant", reason="?", author="x"),
        Verdict(call_id=c.id, verdict="relevant", author="y"),
        Verdict(call_id=a.id, verdict="shortlist", author="y"),
    ])  # fmt: skip
    session.flush()
    assert _titles(session, CallFilter()) == {"kept", "dismissed then relevant again"}
    assert "dismissed" in _titles(session, CallFilter(include_dismissed=True))


# ---------------------------------------------------------------------------------- the feed file


def test_refresh_feed_writes_exports_calls_csv(session, fundradar_home: Path) -> None:  # type: ignore[no-untyped-def]
    add_call(session, title="first")
    session.commit()
    path = refresh_feed(now=NOW)
    assert path == fundradar_home / "exports" / "calls.csv"
    assert [r["title"] for r in rows_of(path.read_text(encoding="utf-8"))] == ["first"]
    assert [p.name for p in path.parent.iterdir()] == ["calls.csv"]  # no temp file left
    assert path.stat().st_mode & 0o777 == 0o644


def test_after_crawl_refreshes_the_feed(session, fundradar_home: Path) -> None:  # type: ignore[no-untyped-def]
    from fundradar.crawling import after_crawl

    add_call(session, title="crawled")
    session.commit()
    after_crawl()
    text = (fundradar_home / "exports" / "calls.csv").read_text(encoding="utf-8")
    assert [r["title"] for r in rows_of(text)] == ["crawled"]


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    path.write_text("old complete file\n", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_text(path) as fh:
        fh.write("half a new fi")
        raise RuntimeError("disk full, say")
    assert path.read_text(encoding="utf-8") == "old complete file\n"
    assert [p.name for p in tmp_path.iterdir()] == ["calls.csv"]


def test_unwritable_folder_is_a_clear_error(tmp_path: Path) -> None:
    from fundradar.exceptions import ExportError

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(ExportError, match="cannot write"), atomic_text(blocker / "calls.csv"):
        pass


def test_reader_never_sees_half_a_file(session, fundradar_home: Path) -> None:  # type: ignore[no-untyped-def]
    """A reader polling the feed while it is rewritten sees whole files only."""
    for i in range(1500):
        add_call(session, i + 1, title=f"call {i}")
    session.commit()
    path = refresh_feed(now=NOW)
    assert path is not None
    full = path.read_bytes()
    stop = threading.Event()
    seen: list[bytes] = []

    def reader() -> None:
        while not stop.is_set():
            seen.append(path.read_bytes())

    t = threading.Thread(target=reader)
    t.start()
    try:
        for _ in range(5):
            refresh_feed(now=NOW)
    finally:
        stop.set()
        t.join()
    assert seen
    assert all(s == full for s in seen)  # same content each time: never a truncated copy
