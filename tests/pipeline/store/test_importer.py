"""`fundradar import FILE.jsonl`: good lines stored, bad lines rejected with line number and
reason while the rest go on, through the same pipeline (and the same database) as a crawl."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from fundradar.cli import main
from fundradar.pipeline import db, store
from fundradar.pipeline.importer import import_lines
from fundradar.pipeline.models import CallChange, CallRow, CrawlRun, Quarantine
from fundradar.pipeline.normalise import normalise
from fundradar.pipeline.record import Call

GOOD = {
    "id": "rg-oeco-2027",
    "title": "Appel à projets « Je coopère avec les pays de l'OECO » 2027",
    "url": "https://www.regionguadeloupe.fr/appels/je-coopere-2027",
    "funder": "Région Guadeloupe",
    "deadline": "30 avril 2027 à 12h00",
    "opens": "1er février 2027",
    "budget": "enveloppe de 500 000 €",
    "text": "<p>Coopération régionale avec <b>Sainte-Lucie</b> et la Dominique.</p>",
    "eligibility": "Associations et collectivités de Guadeloupe",
    "timezone": "America/Guadeloupe",
}
SECOND = {
    "title": "Canada Fund for Local Initiatives – Eastern Caribbean 2027",
    "url": "https://www.international.gc.ca/cfli-eastern-caribbean-2027",
    "description": "Small grants for local projects in the OECS member states.",
    "deadlines": ["May 3, 2027"],
    "budget": 25000,
    "currency": "CAD",
    "colour": "blue",
}


def write(tmp_path: Path, lines: list[object]) -> Path:
    path = tmp_path / "calls.jsonl"
    text = "\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def run_cli(*args: str) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(["import", *args])
    return int(exit_info.value.code or 0)


def test_good_and_bad_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, [
        GOOD,
        "",  # blank: skipped, not a call
        {"title": "", "url": "https://x.org/untitled", "deadline": "2027-01-31"},
        "this is not json",
        {"title": "Ocean grants", "url": "javascript:alert(1)", "deadline": "2027-03-01"},
        SECOND,
        {"title": "A call from 1900", "url": "https://x.org/old", "deadline": "1 janvier 1900"},
        ["a", "list"],
        {"title": "No link", "deadline": "2027-05-01"},
    ])  # fmt: skip
    code = run_cli(str(path))
    out, err = capsys.readouterr()
    assert code == 1  # some lines rejected, the others stored
    assert err.splitlines() == [
        "line 3: rejected: no title",
        "line 4: rejected: not JSON (Expecting value at column 1)",
        "line 5: rejected: javascript: link, not http(s)",
        "line 8: rejected: expected a JSON object, got list",
        "line 9: rejected: no url (the call's page, http or https)",
    ]
    assert "line 1: new: Appel à projets" in out and "line 6: new: Canada Fund" in out
    # a call whose only date is impossible is kept, with "deadline not found", and says why
    assert "line 7: new (deadline rejected: '1 janvier 1900': year 1900 is out of range " in out
    assert "8 line(s): 3 stored (3 new), 5 rejected; ignored unknown fields: colour (1)" in out

    with db.session_scope() as s:
        rows = {r.source_ref or r.url: r for r in s.scalars(select(CallRow))}
        assert len(rows) == 3
        old = rows["https://x.org/old"]
        assert (old.deadline, old.deadlines, old.deadline_kind) == (None, [], "not_found")
        rg = rows["rg-oeco-2027"]
        assert rg.source == "import" and rg.key == "import:rg-oeco-2027"
        # free text read in the line's own time zone: 12:00 in Guadeloupe is 16:00 UTC
        assert rg.deadline == datetime(2027, 4, 30, 16, 0, tzinfo=UTC)
        assert rg.opens_at is not None and rg.opens_at.date().isoformat() == "2027-02-01"
        assert (rg.budget_max, rg.currency) == (500000, "EUR")
        assert rg.summary == "Coopération régionale avec Sainte-Lucie et la Dominique."
        assert rg.eligibility_text == "Associations et collectivités de Guadeloupe"
        assert rg.score is not None and rg.band is not None
        cfli = rows["https://www.international.gc.ca/cfli-eastern-caribbean-2027"]
        assert (cfli.budget_max, cfli.currency) == (25000, "CAD")
        assert cfli.summary.startswith("Small grants") and cfli.deadline.year == 2027

        run = s.scalars(select(CrawlRun)).one()
        assert (run.source, run.status, run.items_seen, run.items_new, run.items_dropped) == (
            "import", "degraded", 8, 3, 5,
        )  # fmt: skip
        assert run.stats["fundradar/no_deadline"] == 1  # counted for the source's health
        kept = s.scalars(select(Quarantine).order_by(Quarantine.id)).all()
        assert [q.reason.split(":")[0] for q in kept] == [
            "line 3", "line 4", "line 5", "line 8", "line 9"]  # fmt: skip
        assert all(q.source == "import" and q.run_id == run.id for q in kept)
        assert kept[2].url == "javascript:alert(1)" and kept[1].payload == {
            "line": "this is not json"}  # fmt: skip
        assert store.quarantine_counts(s) == {"import": 5}


def test_reimport_is_idempotent_and_a_correction_is_a_change(tmp_path: Path) -> None:
    lines = [json.dumps(GOOD), json.dumps(SECOND)]
    first = import_lines(lines, now=datetime(2026, 11, 20, tzinfo=UTC))
    again = import_lines(lines, now=datetime(2026, 11, 21, tzinfo=UTC))
    assert [r.status for r in first.results] == ["new", "new"]
    assert [r.status for r in again.results] == ["unchanged", "unchanged"]
    moved = dict(GOOD, deadline="15 mai 2027 à 12h00")
    fixed = import_lines([json.dumps(moved)], now=datetime(2026, 11, 22, tzinfo=UTC))
    assert fixed.results[0].status == "updated" and fixed.results[0].changes == ("deadlines",)
    with db.session_scope() as s:
        change = s.scalars(select(CallChange)).one()
        assert change.old_value == ["2027-04-30T16:00:00+00:00"]
        assert change.new_value == ["2027-05-15T16:00:00+00:00"]
        assert s.scalar(select(CrawlRun.status).order_by(CrawlRun.id.desc())) == "ok"


def test_a_later_line_of_the_same_call_is_marked(tmp_path: Path) -> None:
    again = dict(GOOD, url=GOOD["url"] + "?utm_source=newsletter")  # same page, tracked link
    report = import_lines([json.dumps(GOOD), json.dumps(again)])
    assert [r.status for r in report.results] == ["new", "duplicate"]
    assert report.results[1].reason.startswith("same call as line 1")


def test_all_good_exits_zero_and_source_option(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run_cli(str(write(tmp_path, [SECOND])), "--source", "email_dcrm", "-q") == 0
    out = capsys.readouterr().out
    assert out.strip() == "1 line(s): 1 stored (1 new), 0 rejected; ignored unknown fields: " \
        "colour (1) (source email_dcrm, run #1)"  # fmt: skip
    with db.session_scope() as s:
        assert s.scalars(select(CallRow.source)).one() == "email_dcrm"


def test_not_utf8_is_a_clear_error_and_imports_nothing(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(json.dumps(GOOD, ensure_ascii=False).encode("latin-1", "replace") + b"\n")
    assert run_cli(str(path)) == 2
    err = capsys.readouterr().err
    assert "not UTF-8 text (byte 0xe0 on line 1)" in err and "Traceback" not in err
    assert run_cli(str(tmp_path / "missing.jsonl")) == 2
    assert "no such file" in capsys.readouterr().err
    with db.session_scope() as s:
        assert s.scalars(select(CrawlRun)).first() is None


def test_bad_options_are_refused(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = str(write(tmp_path, [GOOD]))
    assert run_cli(path, "--source", "Not An Id") == 2
    assert run_cli(path, "--timezone", "Mars/Olympus") == 2


def test_the_funders_own_site_outranks_an_import(tmp_path: Path) -> None:
    """An officer types a call in; the crawl finds it on the funder's site later: one call,
    the funder's data, the import kept as a sighting."""
    import_lines([json.dumps(SECOND)], now=datetime(2026, 11, 20, tzinfo=UTC))
    site = Call(source="cfli_site", url="https://www.international.gc.ca/cfli-2027-page",
                title="Canada Fund for Local Initiatives – Eastern Caribbean 2027",
                funder="Global Affairs Canada", deadline_texts=["3 May 2027"],
                summary="The funder's own description.")  # fmt: skip
    now = datetime(2026, 11, 27, tzinfo=UTC)
    with db.session_scope() as s:
        stored = store.upsert(s, normalise(site, now=now), now=now)
        assert stored.match == "title" and stored.row.extra["data_source"] == "cfli_site"
        assert stored.row.summary == "The funder's own description."
        assert {x.source for x in stored.row.sightings} == {"import", "cfli_site"}
