"""The weekly job end to end: a real crawl (child processes, bundled pages served on
127.0.0.1) followed by the digest to the outbox; a second run the same week sends nothing."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from fundradar.fixture_server import FixtureServer
from fundradar.pipeline import db
from fundradar.pipeline.models import CallRow
from fundradar.weekly import weekly_job
from tests.digest_support import parse, parts

REPO = Path(__file__).resolve().parent.parent
UTC = dt.UTC


@pytest.fixture
def one_source_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The packaged config with only eu_ft enabled (keeps the crawl to a few seconds)."""
    folder = tmp_path / "config"
    shutil.copytree(REPO / "config", folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    sources = yaml.safe_load((folder / "sources.yaml").read_text(encoding="utf-8"))
    for s in sources["sources"]:
        s["enabled"] = s["id"] == "eu_ft"
    (folder / "sources.yaml").write_text(yaml.safe_dump(sources), encoding="utf-8")
    (folder / "recipients.yaml").write_text(
        "digest:\n  from: fundradar@oecs.example\n"
        "recipients:\n  - email: dcrm@oecs.example\n    min_band: none\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("FUNDRADAR_CONFIG", str(folder))
    return folder


def test_weekly_job_crawls_then_sends_once(one_source_config: Path, fundradar_home: Path) -> None:
    lines: list[str] = []
    with FixtureServer() as server:
        report = weekly_job(send=True, echo=lines.append, fixture_server=server.url)
        assert report.ok, lines
        assert [s.source for s in report.crawls] == ["eu_ft"]
        assert report.crawls[0].status == "ok" and report.crawls[0].calls > 0
        assert report.digest.count("sent") == 1

        now = dt.datetime.now(UTC)
        with db.session_scope() as s:
            rows = s.scalars(select(CallRow)).all()
            expected = [
                r.title for r in rows
                if r.status != "closed" and (r.deadline is None or r.deadline >= now)
            ]  # fmt: skip
        assert expected, "the fixture crawl should give open calls"
        [eml] = (fundradar_home / "outbox").glob("*.eml")
        text, _html = parts(parse(eml.read_bytes()))
        for title in expected:
            assert " ".join(title.split()) in text
        # the health section is one line when every source was checked (issue 17)
        assert "[ok] The only source was checked." in text and "[!!]" not in text

        # the same week again: crawled again, digest not sent twice
        again = weekly_job(send=True, echo=lines.append, fixture_server=server.url)
    assert again.ok and again.digest.count("sent") == 0 and again.digest.count("skipped") == 1
    assert len(list((fundradar_home / "outbox").glob("*.eml"))) == 1
    assert any("already sent" in line for line in lines)


def test_weekly_job_without_digest(one_source_config: Path, fundradar_home: Path) -> None:
    with FixtureServer() as server:
        report = weekly_job(send=False, echo=lambda _m: None, fixture_server=server.url)
    assert report.ok and report.digest is None
    assert not (fundradar_home / "outbox").exists() or not any(
        (fundradar_home / "outbox").iterdir()
    )


def test_a_crawl_stopped_before_it_started_is_a_problem_not_a_quiet_success(
    one_source_config: Path, fundradar_home: Path
) -> None:
    from fundradar.crawlers import runner

    runner.request_stop()  # SIGTERM arrived as the weekly job began
    try:
        report = weekly_job(send=False, echo=lambda _m: None)
    finally:
        runner.clear_stop()
    assert [(s.source, s.status) for s in report.crawls] == [("eu_ft", "interrupted")]
    assert "not started" in report.crawls[0].message
    assert not report.ok and report.problems == ["sources with problems: eu_ft"]
