"""`fundradar sources list | check [--live] | record` and `scrapy list`, as a maintainer runs them.

`sources check` crawls every enabled source offline (child processes, fixture server) once for
the module. `--live` cannot be exercised here (no internet): only its argument handling is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fundradar.config.loader import load_sources
from fundradar.crawlers.spiders.fundsforngos import FundsforngosSpider
from fundradar.fixture_server import FixtureServer
from fundradar.pipeline import db
from fundradar.pipeline.models import CrawlRun

from .conftest import REPO, SAMPLES
from .spider_harness import offline_crawl

SEED = ["eu_ft", "afd", "interreg_caraibes", "anr", "auf", "ird", "expertise_france",
        "fcr_martinique", "fcr_guadeloupe", "region_guadeloupe", "karib_horizon",
        "ambafrance_lc", "fundsforngos"]  # fmt: skip


def run_cli(capsys, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    from fundradar.cli import main

    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


def test_scrapy_list_prints_every_seed_source() -> None:
    proc = subprocess.run([sys.executable, "-m", "scrapy", "list"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert set(SEED) <= set(proc.stdout.split())


def test_all_seed_sources_are_enabled_and_campus_france_is_not_crawled() -> None:
    sources = load_sources()
    assert [s.id for s in sources.enabled][: len(SEED)] == SEED
    assert not any("campusfrance" in u for s in sources.sources for u in s.start_urls)
    assert "Campus France" in (REPO / "README.md").read_text(encoding="utf-8")


def test_sources_list_shows_funder_kind_and_health(capsys) -> None:  # type: ignore[no-untyped-def]
    with db.session_scope() as s:
        s.add(CrawlRun(source="afd", started_at=datetime(2026, 11, 23, 9, tzinfo=UTC),
                       finished_at=datetime(2026, 11, 23, 9, 1, tzinfo=UTC), status="ok",
                       items_seen=6, message="6 calls"))  # fmt: skip
        from fundradar.pipeline.store import quarantine

        for reason in ("no title", "deadline rejected: year 2200"):
            quarantine(s, source="afd", url="https://www.afd.fr/x", reason=reason)
    code, out, _ = run_cli(capsys, "sources", "list")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert set(SEED) <= set(lines)
    assert "Agence française de développement" in lines["afd"] and " html " in lines["afd"]
    assert "2026-11-23 05:01 AST" in lines["afd"] and "ok (6 calls)" in lines["afd"]
    assert " feed " in lines["ambafrance_lc"] and " wordpress " in lines["karib_horizon"]
    assert "never run" in lines["anr"]
    header = out.splitlines()[0]
    col = header.index("quarantined")

    def quarantined(line: str) -> str:
        return line[col : col + len("quarantined")].strip()

    assert quarantined(lines["afd"]) == "2"  # the two items quarantined above
    assert quarantined(lines["anr"]) == "0"


@pytest.fixture(scope="module")
def check_output(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    home = tmp_path_factory.mktemp("check-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUNDRADAR_")}
    env["FUNDRADAR_HOME"] = str(home)
    proc = subprocess.run([sys.executable, "-m", "fundradar", "sources", "check"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
    proc.home = home  # type: ignore[attr-defined]
    return proc


def test_sources_check_offline_reports_every_source(check_output) -> None:  # type: ignore[no-untyped-def]
    assert check_output.returncode == 0, check_output.stdout + check_output.stderr
    rows = {}
    for line in check_output.stdout.splitlines():
        cells = line.split()
        if cells and cells[0] in SEED and len(cells) > 6:
            rows[cells[0]] = cells
    assert set(rows) == set(SEED)
    for sid, cells in rows.items():
        status, items, usable = cells[1], int(cells[2]), int(cells[3])
        assert status == "ok", (sid, cells)
        assert items >= 1 and usable >= 1, (sid, cells)
        assert cells[5] == "100%" and cells[6] == "100%", (sid, "title and url coverage")
    assert "all 13 sources yield calls" in check_output.stdout


def test_sources_check_leaves_the_users_data_alone(check_output) -> None:  # type: ignore[no-untyped-def]
    assert not (check_output.home / "fundradar.db").exists()


def test_sources_check_fails_when_a_source_yields_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    import shutil

    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    with (config / "sources.yaml").open("a", encoding="utf-8") as fh:
        fh.write("\n  - id: gone_funder\n    kind: html\n    funder: A funder that moved\n"
                 "    start_urls: [https://gone.example.org/calls/]\n")  # fmt: skip
    monkeypatch.setenv("FUNDRADAR_CONFIG", str(config))
    code, out, _ = run_cli(capsys, "sources", "check", "gone_funder")
    assert code == 1
    assert "no usable call from: gone_funder" in out


def test_sources_check_live_goes_to_the_real_sites(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """Argument handling only: no internet here. The live path crawls without a fixture server."""
    import fundradar.sources_check as sc

    seen: list[dict] = []

    def fake_crawl(ids, **kwargs):  # type: ignore[no-untyped-def]
        seen.append({"ids": list(ids), **kwargs})
        return []

    monkeypatch.setattr(sc, "crawl", fake_crawl)
    code, out, _ = run_cli(capsys, "sources", "check", "--live", "afd")
    # no fixture_server; crawled here (a throwaway home no Scrapyd job writes to)
    assert seen == [{"ids": ["afd"], "on_done": seen[0]["on_done"], "backend": "local"}]
    assert "against the live sites" in out
    assert code == 1  # nothing came back, so the check fails loudly


def test_record_saves_responses_as_a_capture(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out_dir = tmp_path / "recorded"
    # the local fixture server stands in for the live site
    with FixtureServer([SAMPLES / "fundsforngos"]) as server:
        code, out, err = run_cli(capsys, "sources", "record", "fundsforngos", "--output",
                                 str(out_dir), "--fixture-server", server.url)  # fmt: skip
    assert code == 0, out + err
    index = json.loads((out_dir / "index.json").read_text())
    assert index["origin"] == "capture" and index["source"] == "fundsforngos"
    assert index["captured_at"].startswith(datetime.now(UTC).strftime("%Y-%m-%d"))
    urls = {r["url"]: r for r in index["responses"]}
    feed = urls["https://www2.fundsforngos.org/feed/"]
    assert "rss" in feed["content_type"] and feed["headers"]["ETag"] == '"ffn-feed-1"'
    assert "https://www2.fundsforngos.org/robots.txt" in urls
    saved = out_dir / feed["file"]
    assert saved.read_bytes() == (SAMPLES / "fundsforngos/feed.xml").read_bytes()
    assert "fetched_at" in feed
    assert "Capture of" in (out_dir / "README.md").read_text()
    # the recorded folder serves the spider as the reconstructed one did
    assert len(offline_crawl(FundsforngosSpider, folder=out_dir, known={}).items) == 3


def test_record_keeps_the_reconstructed_index(tmp_path: Path) -> None:
    import shutil

    from fundradar.crawlers.recorder import write_index

    folder = tmp_path / "afd"
    shutil.copytree(SAMPLES / "afd", folder)
    write_index(folder, "afd", [], datetime(2027, 1, 5, tzinfo=UTC), "finished")
    assert (
        json.loads((folder / "index.reconstructed.json").read_text())["origin"] == "reconstructed"
    )
    assert json.loads((folder / "index.json").read_text())["origin"] == "capture"


def test_record_unknown_source_is_one_clear_line(capsys) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run_cli(capsys, "sources", "record", "nosuch")
    assert code == 2 and "unknown source nosuch" in err and "Traceback" not in err


# ------------------------------------------------ record never destroys a good fixture (issue 17)


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def old_fixture(tmp_path: Path) -> Path:
    """A copy of the bundled (reconstructed) fixture, as `record` would find it."""
    import shutil

    target = tmp_path / "fixtures" / "fundsforngos"
    shutil.copytree(SAMPLES / "fundsforngos", target)
    return target


def _leftovers(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.iterdir() if p.name != target.name)


def test_record_swaps_in_a_good_capture(old_fixture: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    with FixtureServer([SAMPLES / "fundsforngos"]) as server:
        code, out, err = run_cli(capsys, "sources", "record", "fundsforngos", "--output",
                                 str(old_fixture), "--fixture-server", server.url)  # fmt: skip
    assert code == 0, out + err
    assert "usable calls saved in" in out
    index = json.loads((old_fixture / "index.json").read_text())
    assert index["origin"] == "capture" and len(index["responses"]) >= 2
    old_index = json.loads((old_fixture / "index.reconstructed.json").read_text())
    assert old_index["origin"] == "reconstructed"  # the reconstructed fixture came along
    assert (old_fixture / "feed.xml").read_bytes() == (
        SAMPLES / "fundsforngos/feed.xml"
    ).read_bytes()
    assert not (old_fixture / ".record-result.json").exists()
    assert _leftovers(old_fixture) == []  # no staging or old folder left behind


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_record_from_a_dead_site_leaves_the_fixture_byte_identical(
    old_fixture: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    before = _tree(old_fixture)
    dead = f"http://127.0.0.1:{_free_port()}"  # nothing listens there: connection refused
    code, _, err = run_cli(capsys, "sources", "record", "fundsforngos", "--output",
                           str(old_fixture), "--fixture-server", dead)  # fmt: skip
    assert code == 1
    assert "no usable call in the capture: connection refused by www2.fundsforngos.org" in err
    assert "left as it was" in err
    assert _tree(old_fixture) == before
    assert _leftovers(old_fixture) == []


def test_record_of_an_empty_page_leaves_the_fixture_byte_identical(
    old_fixture: Path, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    site = tmp_path / "empty-site"  # reconstructed — not a capture: the feed answers, empty
    site.mkdir()
    empty = "<channel><title>fundsforngos</title></channel>"
    (site / "feed.xml").write_text(f'<?xml version="1.0"?>\n<rss version="2.0">{empty}</rss>\n')
    (site / "index.json").write_text(json.dumps({"source": "fundsforngos", "responses": [
        {"url": "https://www2.fundsforngos.org/feed/", "file": "feed.xml",
         "content_type": "application/rss+xml; charset=utf-8"}]}))  # fmt: skip
    before = _tree(old_fixture)
    with FixtureServer([site]) as server:
        code, _, err = run_cli(capsys, "sources", "record", "fundsforngos", "--output",
                               str(old_fixture), "--fixture-server", server.url)  # fmt: skip
    assert code == 1
    assert "no usable call in the capture:" in err
    assert "response(s) saved but none gave a call with a title and an http(s) link" in err
    assert _tree(old_fixture) == before
    assert _leftovers(old_fixture) == []


def test_record_failure_phrases_name_the_host() -> None:
    from scrapy.exceptions import CannotResolveHostError
    from twisted.internet.error import DNSLookupError

    from fundradar.crawlers.recorder import CaptureResult, failure_text, why_unusable

    url = "https://www.anr.fr/fr/appels/"
    assert failure_text(CannotResolveHostError("no"), url) == "DNS lookup failed for www.anr.fr"
    assert failure_text(DNSLookupError("no"), url) == "DNS lookup failed for www.anr.fr"
    result = CaptureResult(failures=[{"url": url, "error": "DNS lookup failed for www.anr.fr"}],
                           reason="finished")  # fmt: skip
    assert why_unusable(result) == "no usable call in the capture: DNS lookup failed for www.anr.fr"
    http = CaptureResult(responses=1, statuses=[(503, url)], reason="finished")
    assert why_unusable(http) == f"no usable call in the capture: HTTP 503 from {url}"


def test_promote_puts_the_old_fixture_back_when_the_swap_fails(tmp_path: Path) -> None:
    from fundradar.crawlers.recorder import promote

    target = tmp_path / "afd"
    target.mkdir()
    (target / "index.json").write_text("old")
    missing = tmp_path / ".afd.recording-gone"  # a staging folder that vanished
    with pytest.raises(OSError):
        promote(missing, target)
    assert (target / "index.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afd"]
