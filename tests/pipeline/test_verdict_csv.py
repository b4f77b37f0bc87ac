"""The CSV round trip: export, verdicts typed in Excel and saved as Excel saves, applied back.

The calls are reconstructed — not captures (`exports_factory`). The edited files are written
here the way Excel writes them: "CSV (Comma delimited)" on a French Windows (semicolons,
Windows-1252, CRLF) and "CSV UTF-8" (byte-order mark, commas); the reasons hold accents,
quotes, semicolons and a formula start, which each of those has to carry.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from fundradar.exceptions import VerdictError
from fundradar.pipeline import db
from fundradar.pipeline.exports.csv_feed import neutralise, unneutralise
from fundradar.pipeline.models import Verdict
from fundradar.pipeline.review import parse_verdict_words, verdict_words
from tests.pipeline.exports.exports_factory import add_call
from tests.pipeline.store.test_review import run_cli

REASON = 'Coût trop élevé; "EU members only" =SUM(1)'


def store_calls() -> list[int]:
    with db.session_scope() as s:
        ids = [add_call(s, n).id for n in range(1, 6)]
        s.add(Verdict(call_id=ids[1], verdict="shortlist", author="earlier"))
        s.add(Verdict(call_id=ids[4], verdict="relevant", author="earlier"))
    return ids


def export(capsys, tmp_path: Path, name: str) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    code, _, err = run_cli(capsys, "export", "csv", "-o", str(path), "--include-dismissed")
    assert code == 0, err
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig"), newline="")))


def save_as_excel(rows: list[dict[str, str]], path: Path, variant: str) -> None:
    """Write `rows` as Excel saves a CSV: `semicolon-cp1252` (French Windows, "CSV (Comma
    delimited)") or `bom-utf8` ("CSV UTF-8 (Comma delimited)")."""
    buf = io.StringIO(newline="")
    delimiter = ";" if variant == "semicolon-cp1252" else ","
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), delimiter=delimiter,
                            lineterminator="\r\n")  # fmt: skip
    writer.writeheader()
    writer.writerows(rows)
    if variant == "semicolon-cp1252":
        path.write_bytes(buf.getvalue().encode("cp1252"))
    else:
        path.write_bytes(buf.getvalue().encode("utf-8-sig"))


@pytest.mark.parametrize("variant", ["semicolon-cp1252", "bom-utf8"])
def test_round_trip_export_excel_apply_export(capsys, monkeypatch, tmp_path, variant) -> None:  # type: ignore[no-untyped-def]
    ids = store_calls()
    monkeypatch.setenv("FUNDRADAR_AUTHOR", "Marie-Claire (DCRM)")
    rows = export(capsys, tmp_path, "calls.csv")
    by_id = {int(r["id"]): r for r in rows}
    assert set(by_id) == set(ids)
    assert by_id[ids[1]]["verdict"] == "shortlist" and by_id[ids[0]]["verdict"] == ""

    by_id[ids[0]]["verdict"] = f"  Not-Relevant :  {REASON} "  # as typed, spaces and all
    by_id[ids[2]]["verdict"] = "RELEVANT"
    by_id[ids[3]]["verdict"] = "not relevant: ocean only"
    # ids[1] keeps "shortlist" (unchanged), ids[4] keeps "relevant" (unchanged)
    edited = tmp_path / "edited.csv"
    save_as_excel(rows, edited, variant)
    if variant == "semicolon-cp1252":
        assert b";" in edited.read_bytes()[:200] and "é".encode("cp1252") in edited.read_bytes()

    code, out, err = run_cli(capsys, "review", "--from-csv", str(edited))
    assert code == 0, out + err
    row_of = {int(r["id"]): n for n, r in enumerate(rows, start=2)}
    assert f"row {row_of[ids[0]]} (id {ids[0]}): applied not-relevant" in out
    assert f"row {row_of[ids[2]]} (id {ids[2]}): applied relevant" in out
    assert f"row {row_of[ids[1]]} (id {ids[1]}): unchanged shortlist" in out
    assert f"row {row_of[ids[4]]} (id {ids[4]}): unchanged relevant" in out
    assert "3 applied, 2 unchanged, 0 refused by Marie-Claire (DCRM)" in out

    with db.session_scope() as s:
        stored = s.scalars(select(Verdict).order_by(Verdict.id)).all()
        assert [(v.call_id, v.verdict, v.reason, v.author) for v in stored[2:]] == [
            (ids[0], "not-relevant", REASON, "Marie-Claire (DCRM)"),
            (ids[2], "relevant", None, "Marie-Claire (DCRM)"),
            (ids[3], "not-relevant", "ocean only", "Marie-Claire (DCRM)"),
        ]
        assert len(stored) == 5  # the two unchanged rows were not recorded again

    again = {int(r["id"]): r["verdict"] for r in export(capsys, tmp_path, "again.csv")}
    assert again == {
        ids[0]: f"not relevant: {REASON}", ids[1]: "shortlist", ids[2]: "relevant",
        ids[3]: "not relevant: ocean only", ids[4]: "relevant",
    }  # fmt: skip

    # the same file applied twice records nothing new
    code, out, _ = run_cli(capsys, "review", "--from-csv", str(edited))
    assert code == 0 and "0 applied, 5 unchanged, 0 refused" in out
    with db.session_scope() as s:
        assert len(s.scalars(select(Verdict)).all()) == 5


def test_refused_rows_say_why_and_the_others_are_applied(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ids = store_calls()
    lines = [
        "title,id,verdict",
        f"a,{ids[0]},shortlist",  # row 2: applied
        "b,999,relevant",  # row 3: no such call
        f"c,{ids[2]},rélevant",  # row 4: an accent
        f"d,{ids[3]},not relevent: typo",  # row 5: a typo
        f"e,{ids[3]},not relevant",  # row 6: no reason
        f"f,{ids[3]},not relevant:   ",  # row 7: an empty reason
        "g,abc,relevant",  # row 8: not an id
        ",,",  # a blank row: skipped, still counted as a row of the sheet
        f"h,{ids[2]},",  # row 10: no verdict typed: ignored
        ",,shortlist",  # row 11: no id
    ]
    path = tmp_path / "typed.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")  # UTF-8, no byte-order mark
    code, out, err = run_cli(capsys, "review", "--from-csv", str(path))
    assert code == 1, err
    assert f"row 2 (id {ids[0]}): applied shortlist" in out
    assert "row 3: refused — no call with id 999" in out
    assert f"row 4 (id {ids[2]}): refused — unknown verdict 'rélevant'" in out
    assert f"row 5 (id {ids[3]}): refused — unknown verdict 'not relevent'" in out
    assert f"row 6 (id {ids[3]}): refused — say why it is not relevant" in out
    assert f"row 7 (id {ids[3]}): refused — say why it is not relevant" in out
    assert "row 8: refused — 'abc' is not a call id" in out
    assert "row 11: refused — the id cell is empty" in out
    assert "row 10" not in out
    assert "1 applied, 0 unchanged, 7 refused" in out and "1 row without a verdict" in out
    with db.session_scope() as s:
        new = s.scalars(select(Verdict).where(Verdict.author != "earlier")).all()
        assert [(v.call_id, v.verdict) for v in new] == [(ids[0], "shortlist")]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"title,id,verdict\r\n\x81\x8d\x90,1,relevant\r\n", "not UTF-8 or Windows-1252"),
        (b"title;url\r\nx;https://example.org\r\n", "no 'id' and 'verdict' columns"),
        (b"", "no 'id' and 'verdict' columns"),
        (None, "cannot read"),
    ],
    ids=["bad-bytes", "no-columns", "empty", "missing"],
)
def test_unreadable_file_exits_2_and_applies_nothing(capsys, tmp_path, content, message) -> None:  # type: ignore[no-untyped-def]
    store_calls()
    path = tmp_path / "file.csv"
    if content is not None:
        path.write_bytes(content)
    code, out, err = run_cli(capsys, "review", "--from-csv", str(path))
    assert code == 2 and "applied" not in out
    assert message in err and "Traceback" not in err
    with db.session_scope() as s:
        assert len(s.scalars(select(Verdict)).all()) == 2


def test_from_csv_takes_no_call(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run_cli(capsys, "review", "1", "--from-csv", str(tmp_path / "x.csv"))
    assert code == 2 and "--from-csv takes no CALL" in err


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("relevant", ("relevant", None)),
        ("  Relevant  ", ("relevant", None)),
        ("SHORTLIST", ("shortlist", None)),
        ("not relevant: too small", ("not-relevant", "too small")),
        ("Not-Relevant:too small", ("not-relevant", "too small")),
        ("not_relevant :  a:b  c ", ("not-relevant", "a:b c")),
        ("not   relevant", ("not-relevant", None)),
        ("", None),
        ("   ", None),
    ],
)
def test_verdict_words_accepted(typed: str, expected: object) -> None:
    assert parse_verdict_words(typed) == expected


@pytest.mark.parametrize(
    "typed", ["rélevant", "relevent", "non pertinent", "pertinent", "short list", "maybe: x"]
)
def test_verdict_words_refused(typed: str) -> None:
    with pytest.raises(VerdictError, match="relevant, not relevant: <reason> or shortlist"):
        parse_verdict_words(typed)


def test_words_written_are_words_read() -> None:
    for verdict, reason in [("relevant", None), ("shortlist", "for May"),
                            ("not-relevant", 'quotes " and ; and =1+1')]:  # fmt: skip
        assert parse_verdict_words(verdict_words(verdict, reason)) == (verdict, reason)
    assert verdict_words(None) == ""
    assert verdict_words("not-relevant", "line one\r\nline\x00 two") == (
        "not relevant: line one line two"
    )


@pytest.mark.parametrize("text", ["=1+1", "  =1+1", "+cmd", "-2", "@SUM(1)", "\t=x", "plain",
                                  "'quoted'", "'", ""])  # fmt: skip
def test_unneutralise_undoes_neutralise_only(text: str) -> None:
    assert unneutralise(neutralise(text)) == text


def test_an_apostrophe_before_a_formula_start_reads_as_excel_reads_it() -> None:
    # "'=x" is what the feed writes for "=x"; Excel too takes a leading apostrophe as "text"
    assert unneutralise("'=x") == "=x"
