"""`fundradar demo` and the first-slice acceptance, checked as a new user would.

One real run (child processes, real HTTP on 127.0.0.1, real Scrapy, real SQLite, real digest)
is shared by the tests of this module: it takes tens of seconds.
"""

from __future__ import annotations

import csv
import email
import io
import json
import os
import subprocess
import sys
from email import policy
from pathlib import Path

import pytest

from .conftest import REPO, SAMPLES


def run_cli(*args: str, home: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUNDRADAR_")}
    env["FUNDRADAR_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "fundradar", *args],
        capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env,
    )  # fmt: skip


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    home = tmp_path_factory.mktemp("demo-home")
    proc = run_cli("demo", home=home, timeout=600)
    return home, proc


def eu_topics() -> set[str]:
    data = json.loads((SAMPLES / "eu_ft" / "eu_sedia_search_response.json").read_text())
    return {r["metadata"]["identifier"][0] for r in data["results"]}


def test_demo_exits_0_and_says_it_ran_on_samples(demo) -> None:  # type: ignore[no-untyped-def]
    home, proc = demo
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SAMPLE" in proc.stdout
    assert str(home) in proc.stdout
    assert (home / "fundradar.db").exists()
    assert list((home / "outbox").glob("*.eml"))
    assert (home / "exports" / "calls.csv").exists()


def test_every_source_stored_calls(demo) -> None:  # type: ignore[no-untyped-def]
    home, _ = demo
    from fundradar.config.loader import load_sources

    proc = run_cli("export", "csv", "--all", home=home)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout.lstrip("\ufeff"))))
    hosts = {r["url"].split("/")[2] for r in rows}
    enabled = [s for s in load_sources(REPO / "config").enabled]
    for source in enabled:
        source_hosts = {u.split("/")[2] for u in source.start_urls}
        if source.id == "eu_ft":
            source_hosts = {"ec.europa.eu"}  # API on one host, call pages on the portal
        assert hosts & source_hosts, f"no call from {source.id} in the CSV"


def test_csv_all_has_one_row_per_unique_eu_call(demo) -> None:  # type: ignore[no-untyped-def]
    home, _ = demo
    proc = run_cli("export", "csv", "--all", home=home)
    rows = list(csv.DictReader(io.StringIO(proc.stdout.lstrip("\ufeff"))))
    eu = [r for r in rows if "ec.europa.eu" in r["url"]]
    topics = eu_topics()
    assert len(topics) == 8  # the fixture's 9 rows hold one exact duplicate
    assert len(eu) == len(topics)
    assert {r["url"].rsplit("/", 1)[-1] for r in eu} == topics
    for column in ("title", "funder", "programme", "deadline", "status", "score", "band",
                   "themes", "reasons", "url"):  # fmt: skip
        assert column in rows[0]
    two_stage = next(r for r in eu if r["url"].endswith("HORIZON-MISS-2027-05-SOIL-01-two-stage"))
    assert two_stage["deadline"].startswith("2027-04-0")  # the first stage is the next deadline
    assert two_stage["deadline"][-6:] in ("-04:00",)  # ISO 8601 with offset, Saint Lucia time
    assert two_stage["programme"] == "Horizon Europe"
    assert two_stage["status"] == "forthcoming"
    legacy = next(r for r in eu if r["url"].endswith("HORIZON-INFRA-2024-EOSC-01-03"))
    assert legacy["status"] == "closed"  # stale "forthcoming" code; the dates say closed
    assert legacy["url"].startswith(
        "https://ec.europa.eu/info/funding-tenders/opportunities/portal/"
    )
    assert all(r["band"] in ("high", "medium", "low", "none") for r in eu)
    assert all(0 <= int(r["score"]) <= 100 for r in eu)


def test_digest_eml_is_multipart_alternative_with_the_same_calls(demo) -> None:  # type: ignore[no-untyped-def]
    home, _ = demo
    eml = sorted((home / "outbox").glob("*.eml"))[0]
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert msg["Message-ID"] and msg["Subject"] and msg["Date"] and msg["From"]
    import re

    links = set(re.findall(r'href="(https?://[^"]+)"', html))
    call_links = {u for u in links if "fundradar" not in u}
    assert call_links, "the HTML part links the calls"
    for url in call_links:
        assert url.replace("&amp;", "&") in text, f"{url} is in the HTML part but not the text part"


def test_second_demo_run_reuses_its_own_sample_folder(demo) -> None:  # type: ignore[no-untyped-def]
    home, _ = demo
    proc = run_cli("demo", home=home, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert f"data folder: {home}" in proc.stdout
    again = run_cli("export", "csv", "--all", home=home)
    rows = list(csv.DictReader(io.StringIO(again.stdout.lstrip("\ufeff"))))
    eu = [r for r in rows if "ec.europa.eu" in r["url"]]
    assert len(eu) == 8  # idempotent: a second crawl of the same pages adds no duplicate


def test_demo_never_writes_into_a_home_with_real_data(tmp_path: Path) -> None:
    home = tmp_path / "real"
    home.mkdir()
    (home / "notes.txt").write_text("a maintainer's folder")
    from fundradar.demo import choose_home

    messages: list[str] = []
    os.environ["FUNDRADAR_HOME"] = str(home)  # restored by the autouse fixture's monkeypatch
    chosen = choose_home(messages.append)
    assert chosen != home
    assert chosen.name.startswith("fundradar-demo-")
    assert "not empty" in messages[-1]
    assert (home / "notes.txt").read_text() == "a maintainer's folder"


def test_live_crawl_into_a_sample_database_is_refused() -> None:
    from fundradar.crawling import guard_dataset
    from fundradar.exceptions import SampleDataError

    guard_dataset(sample=True)
    with pytest.raises(SampleDataError, match="sample"):
        guard_dataset(sample=False)
