"""Hostile strings reach the database cut to their column and without NUL bytes, through an
import and through a crawl's item pipeline, on SQLite and (FUNDRADAR_TEST_DATABASE_URL) on
PostgreSQL, which refuses both where SQLite stores anything: each line or item is stored or
quarantined with a one-line reason, never a crash. Every value here is made up for the test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from fundradar.cli import main
from fundradar.crawlers.spiders.eu_ft import EuFtSpider
from fundradar.pipeline import db, db_safety
from fundradar.pipeline.models import CallRow, CrawlRun, Quarantine, Sighting
from fundradar.pipeline.record import Call
from tests.pipeline_harness import run_pipelines

LONG_URL = "https://calls.example.org/call?" + "q=" + "x" * 4967  # 5,000 characters
NUL_TEXTS = {
    "title": "Appel\x00 à projets climat Caraïbes",
    "summary": "Un\x00 appel pour les petits États insulaires (OECS).",
    "funder": "Agence\x00 test",
    "programme": "Programme\x00 test",
    "instrument": "Subvention\x00",
    "eligibility_text": "Organisations\x00 des États de l'OECS",
    "source_ref": "ref-\x00nul-1",
}
LONG_LANGUAGE = "f" + "r" * 299  # 300 characters


def _no_nul(value: object) -> bool:
    return "\x00" not in json.dumps(value, ensure_ascii=False, default=str)


def _import(tmp_path: Path, lines: list[object], capsys) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    path = tmp_path / "hostile.jsonl"
    text = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines)
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["import", str(path)])
    out = capsys.readouterr()
    return int(exit_info.value.code or 0), out.out + out.err


def test_import_of_hostile_lines_stores_or_quarantines_each(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    lines = [
        {"title": "A call with a very long link", "url": LONG_URL, "deadline": "2027-03-31",
         "summary": "long\x00 link"},
        {**NUL_TEXTS, "url": "https://calls.example.org/nul\x00", "deadline": "31 mars 2027",
         "language": "fr\x00"},
        # a title too short for language detection: the line's own language is kept
        {"title": "Grant XYZ-7", "url": "https://calls.example.org/lang",
         "deadline": "2027-04-30", "language": LONG_LANGUAGE, "source_ref": "lang-1"},
        # a raw NUL byte, not JSON-escaped: not JSON, so quarantined with the line as evidence
        '{"title": "Raw\x00 byte", "url": "https://calls.example.org/raw"}',
    ]  # fmt: skip
    code, out = _import(tmp_path, lines, capsys)
    assert code == 1  # lines rejected, the others stored
    assert "Traceback" not in out and "[SQL:" not in out and "INSERT" not in out
    rejected = [x for x in out.splitlines() if "line 1" in x]
    assert len(rejected) == 1 and "url of 5000 characters" in rejected[0], out
    assert "calls.language of 300 characters cut to 8" in out  # the cut is said

    with db.session_scope() as s:
        calls = {c.source_ref: c for c in s.scalars(select(CallRow))}
        assert set(calls) == {"ref-nul-1", "lang-1"}
        nul = calls["ref-nul-1"]
        assert nul.title == "Appel à projets climat Caraïbes"
        assert nul.funder == "Agence test" and nul.instrument == "Subvention"
        assert nul.url == "https://calls.example.org/nul"
        assert nul.language == "fr"
        assert calls["lang-1"].language == LONG_LANGUAGE[:8]
        for row in [*calls.values(), *s.scalars(select(Sighting)), *s.scalars(select(CrawlRun))]:
            for column in row.__table__.columns:
                assert _no_nul(getattr(row, column.key, None)), (row, column.key)
        kept, raw = s.scalars(select(Quarantine).order_by(Quarantine.id))
        assert kept.reason.startswith("line 1: ") and "\n" not in kept.reason
        assert kept.url is not None and len(kept.url) == 2000  # cut: evidence, not the link
        assert _no_nul(kept.payload) and kept.payload["summary"] == "long link"
        assert raw.reason.startswith("line 4: not JSON (Invalid control character")
        assert raw.payload == {
            "line": '{"title": "Raw byte", "url": "https://calls.example.org/raw"}'
        }


def test_reimport_of_the_cleaned_line_is_unchanged(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    line = {**NUL_TEXTS, "url": "https://calls.example.org/nul", "deadline": "31 mars 2027"}
    assert _import(tmp_path, [line], capsys)[0] == 0
    code, out = _import(tmp_path, [line], capsys)
    assert code == 0 and "1 unchanged" in out, out


def _item(**values: object) -> Call:
    base: dict[str, object] = {
        "source": "eu_ft", "url": "https://calls.example.org/item", "title": "Item call",
        "deadline_texts": ["2027-05-31"], "source_ref": "item-1",
    }  # fmt: skip
    base.update(values)
    return Call(**base)  # type: ignore[arg-type]


def test_crawl_items_with_hostile_strings_are_stored_or_quarantined() -> None:
    items = [
        _item(url=LONG_URL, source_ref="long-url", title="Long link"),
        _item(url="https://calls.example.org/nul", **NUL_TEXTS, language="fr\x00"),
        _item(url="https://calls.example.org/lang", source_ref="lang-2", language=LONG_LANGUAGE),
    ]
    result = run_pipelines(EuFtSpider, items)
    assert [c.source_ref for c in result.stored] == ["ref-nul-1", "lang-2"]
    ((dropped, reason),) = result.dropped
    assert dropped.source_ref == "long-url" and "url of 5000 characters" in reason
    assert "\n" not in reason
    assert result.stats["fundradar/bad_input/cut_to_column"] == 1

    with db.session_scope() as s:
        calls = {c.source_ref: c for c in s.scalars(select(CallRow))}
        assert calls["ref-nul-1"].title == "Appel à projets climat Caraïbes"
        assert calls["ref-nul-1"].eligibility_text == "Organisations des États de l'OECS"
        assert calls["lang-2"].language == LONG_LANGUAGE[:8]
        reasons = [q.reason for q in s.scalars(select(Quarantine).order_by(Quarantine.id))]
        assert any(r.startswith("invalid: url of 5000 characters") for r in reasons), reasons
        assert "repaired: calls.language of 300 characters cut to 8; " in "; ".join(reasons)
        run = s.get(CrawlRun, result.run_id)
        assert run is not None and run.status != "failed"


def test_every_string_and_json_column_is_cleaned_before_a_flush(session) -> None:  # type: ignore[no-untyped-def]
    """The hook, on a model the pipelines never fill by hand: the quarantine itself."""
    payload = {"k\x00": ["v\x00", {"n": "\x00"}], "ok": 1}
    row = Quarantine(source="s\x00" + "s" * 79, url="https://x.example/" + "u" * 3000,
                     reason="why\x00", payload=payload)  # fmt: skip
    session.add(row)
    session.flush()
    cuts = db_safety.take_cuts(session)
    assert [str(c) for c in cuts] == [
        "quarantine.source of 80 characters cut to 50",
        "quarantine.url of 3018 characters cut to 2000",
    ]
    assert db_safety.take_cuts(session) == []  # taken once
    session.expire_all()
    again = session.get(Quarantine, row.id)
    assert again.source == "s" * 50 and len(again.url) == 2000 and again.reason == "why"
    assert again.payload == {"k": ["v", {"n": ""}], "ok": 1}


def test_clean_json_keeps_the_same_object_when_nothing_changes() -> None:
    value = {"a": ["b", {"c": 1}], "d": None}
    assert db_safety.clean_json(value) is value
    assert db_safety.clean_json(["x\x00"]) == ["x"]
