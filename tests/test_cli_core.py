"""The core commands through the real command line: init, score, crawl (child processes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fundradar.cli import cli


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_init_creates_then_reports_up_to_date(runner: CliRunner, fundradar_home: Path) -> None:
    first = runner.invoke(cli, ["init"])
    assert first.exit_code == 0, first.output
    assert "database created" in first.output
    assert str(fundradar_home) in first.output
    again = runner.invoke(cli, ["init"])
    assert "database up to date" in again.output


def test_init_never_prints_the_database_password(runner: CliRunner, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fundradar.pipeline import db

    # an unreachable server: the command fails, but the URL it names must hide the password
    monkeypatch.setenv("FUNDRADAR_DATABASE_URL", "sqlite:///" + str(tmp_path / "x.db"))
    db.reset_caches()
    assert "s3cret" not in runner.invoke(cli, ["init"]).output
    from fundradar.cli.core import _safe_url

    assert (
        _safe_url("postgresql://bob:s3cret@db.example/fr") == "postgresql://bob:***@db.example/fr"
    )


def test_score_command_keeps_order_and_answers_bad_lines(runner: CliRunner, tmp_path: Path) -> None:
    lines = [
        json.dumps(
            {
                "id": "a",
                "title": "Blue economy grants for Saint Lucia and Dominica",
                "text": "Governments of OECS member states may apply. Ocean governance, "
                "fisheries and marine protected areas.",
            }
        ),
        "{not json",
        json.dumps(
            {
                "id": "c",
                "title": "Soil living labs",
                "summary": "Only legal entities established in an EU Member State.",
            }
        ),
        json.dumps({"id": "d"}),
    ]
    path = tmp_path / "calls.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(cli, ["score", str(path)])
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert [o["id"] for o in out] == ["a", 2, "c", "d"]
    assert out[0]["band"] in ("high", "medium") and out[0]["eligible"] is True
    assert any("Saint Lucia" in r or "Dominica" in r for r in out[0]["reasons"])
    assert "error" in out[1] and "error" in out[3]
    assert out[2]["band"] in ("low", "none") and out[2]["eligible"] is False
    assert out[0]["score"] > out[2]["score"]


def test_score_reads_stdin(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["score", "-"], input='{"id": 1, "title": "Call for Grenada"}\n')
    assert result.exit_code == 0
    assert json.loads(result.output)["id"] == 1


def test_crawl_unknown_source_is_one_line_exit_2(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["crawl", "no_such_source"], standalone_mode=False)
    from fundradar.exceptions import UnknownSourceError

    assert isinstance(result.exception, UnknownSourceError)
    assert result.exception.exit_code == 2
    assert "known: eu_ft" in str(result.exception)


def test_crawl_fixtures_prints_a_summary_and_stores(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["crawl", "--fixtures", "eu_ft"])
    assert result.exit_code == 0, result.output
    assert "source" in result.output and "requests" in result.output  # the summary table
    row = next(line for line in result.output.splitlines() if line.startswith("eu_ft "))
    assert " ok " in row and " 8 " in row  # 8 unique topics, all new
    from sqlalchemy import func, select

    from fundradar.pipeline import db
    from fundradar.pipeline.models import CallRow, CrawlRun

    with db.session_scope() as s:
        assert s.scalar(select(func.count()).select_from(CallRow)) == 8
        run = s.scalars(select(CrawlRun)).one()
        assert run.status == "ok" and run.sample is True
        assert run.coverage["title"] == 1.0
