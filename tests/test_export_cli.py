"""`fundradar export csv|ics|atom|json|verdicts`: filters, files, standard output."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner
from icalendar import Calendar

from fundradar.cli import cli, main
from fundradar.cli.exports import parse_since
from fundradar.pipeline import db
from fundradar.pipeline.models import utcnow
from fundradar.pipeline.review import record_verdict
from tests.pipeline.exports.exports_factory import add_call


@pytest.fixture
def stored() -> None:
    now = utcnow()
    with db.session_scope() as s:
        add_call(s, 1, title="high ocean", band="high", themes=["ocean"], first_seen=now,
                 deadline=now + timedelta(days=20))  # fmt: skip
        add_call(s, 2, title="medium energy afd", key="afd:2", source="afd", band="medium",
                 themes=["energy"], first_seen=now - timedelta(days=3),
                 deadline=now + timedelta(days=9))  # fmt: skip
        add_call(s, 3, title="low closed", band="low", status="closed",
                 deadline=now - timedelta(days=1), first_seen=now - timedelta(days=50))  # fmt: skip
        gone = add_call(s, 4, title="dismissed", band="high", deadline=now + timedelta(days=5))
        record_verdict(s, gone, "not-relevant", reason="EU members only", author="ana")


def invoke(*args: str):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def titles(data: bytes) -> list[str]:
    assert data.startswith(b"\xef\xbb\xbf")
    return [r["title"] for r in csv.DictReader(io.StringIO(data.decode("utf-8-sig")))]


def test_csv_to_stdout_default_selection(stored) -> None:  # type: ignore[no-untyped-def]
    out = invoke("export", "csv").stdout_bytes
    assert titles(out) == ["high ocean", "medium energy afd"]


def test_csv_filters(stored) -> None:  # type: ignore[no-untyped-def]
    assert titles(invoke("export", "csv", "--all").stdout_bytes) == [
        "high ocean",
        "medium energy afd",
        "low closed",
    ]
    assert titles(invoke("export", "csv", "--min-band", "high").stdout_bytes) == ["high ocean"]
    assert titles(invoke("export", "csv", "--status", "closed").stdout_bytes) == ["low closed"]
    assert titles(invoke("export", "csv", "--since", "2d").stdout_bytes) == ["high ocean"]
    assert titles(invoke("export", "csv", "--theme", "energy").stdout_bytes) == [
        "medium energy afd"
    ]
    assert titles(invoke("export", "csv", "--source", "afd").stdout_bytes) == ["medium energy afd"]
    assert "dismissed" in titles(invoke("export", "csv", "--include-dismissed").stdout_bytes)


def test_csv_to_file_reports_count(stored, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "out" / "calls.csv"
    result = invoke("export", "csv", "-o", str(target))
    assert result.stderr.strip() == f"wrote 2 calls to {target}"
    assert titles(target.read_bytes()) == ["high ocean", "medium energy afd"]


def test_ics_atom_json_verdicts_files(stored, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    invoke("export", "ics", "-o", str(tmp_path / "c.ics"))
    cal = Calendar.from_ical((tmp_path / "c.ics").read_bytes())
    assert sorted(str(e["SUMMARY"]) for e in cal.walk("VEVENT")) == [
        "Deadline: high ocean",
        "Deadline: medium energy afd",
    ]
    invoke("export", "atom", "-o", str(tmp_path / "c.atom"))
    feed = feedparser.parse((tmp_path / "c.atom").read_bytes())
    assert not feed.bozo and [e.title for e in feed.entries] == ["high ocean", "medium energy afd"]
    result = invoke("export", "json", "--all")
    objs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["title"] for o in objs] == ["high ocean", "medium energy afd", "low closed"]
    result = invoke("export", "verdicts", "-o", str(tmp_path / "v.jsonl"))
    assert "wrote 1 verdict to" in result.stderr
    (line,) = (tmp_path / "v.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["verdict"] == "not-relevant"


def test_bad_since_is_a_clear_error(stored, capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exc:
        main(["export", "csv", "--since", "last tuesday"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--since" in err and "Traceback" not in err


def test_parse_since() -> None:
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("2w", now) == now - timedelta(weeks=2)
    assert parse_since("36h", now) == now - timedelta(hours=36)
    # a bare date is midnight in Saint Lucia (04:00 UTC)
    assert parse_since("2026-11-01", now) == datetime(2026, 11, 1, 4, 0, tzinfo=UTC)
    assert parse_since("2026-11-01T10:00+00:00", now) == datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert parse_since(None, now) is None


def test_broken_pipe_is_a_quiet_success() -> None:
    """`fundradar export csv | head -c 200`: the reader stops early; no error, exit code 0."""
    import os
    import subprocess
    import sys

    with db.session_scope() as s:
        for i in range(800):  # ~250 KB of CSV: more than a pipe buffer holds
            add_call(s, i + 1)
    proc = subprocess.Popen(
        [sys.executable, "-m", "fundradar", "export", "csv"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ),
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    head = proc.stdout.read(200)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(30) == 0, err
    assert head.startswith(b"\xef\xbb\xbfscore,band,title")
    assert err == ""
