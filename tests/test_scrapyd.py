"""Crawls through a real Scrapyd server (issue 11 item 3): `crawl_backend: scrapyd`.

Scrapyd runs on 127.0.0.1 (a free port) from a fresh venv that holds no fundradar: the
third-party libraries come from the test venv through a .pth file naming its site-packages (a
plain path line, so the editable install's finder there is not run), and the checkout is on no
path, so each job imports fundradar from the egg `fundradar scrapyd deploy` built, zipped, as
Scrapyd keeps it (config defaults and Alembic migrations read from inside it). The jobs get the
test's database (SQLite, or PostgreSQL with FUNDRADAR_TEST_DATABASE_URL) through the server's
environment and crawl the bundled sample pages on the fixture server. Select with `-m scrapyd`.
"""

from __future__ import annotations

import csv
import io
import os
import re
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from click.testing import CliRunner
from sqlalchemy import func, select

from fundradar import settings
from fundradar.cli import cli
from fundradar.crawlers.runlog import TOKEN_STAT
from fundradar.crawlers.scrapyd_backend import deploy
from fundradar.crawling import crawl
from fundradar.exceptions import ScrapydError
from fundradar.fixture_server import FixtureServer
from fundradar.pipeline import db
from fundradar.pipeline.exports.csv_feed import feed_path
from fundradar.pipeline.models import CallRow, CrawlRun
from tests.conftest import REPO, SAMPLES

pytestmark = pytest.mark.scrapyd

SOURCES = ("afd", "fundsforngos")  # an HTML listing with detail pages, and a feed
# in this test's config only (added after the deploy): a source the deployed egg has no spider for
NOT_DEPLOYED = "late_feed"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(folder: Path, scrapyd_url: str, *, extra_source: bool = False) -> Path:
    """The packaged sources.yaml crawled through Scrapyd at `scrapyd_url`."""
    data = yaml.safe_load((REPO / "config" / "sources.yaml").read_text(encoding="utf-8"))
    data["defaults"].update(crawl_backend="scrapyd", scrapyd_url=scrapyd_url)
    if extra_source:  # reconstructed — not a capture: a feed source added after the deploy
        data["sources"].append({
            "id": NOT_DEPLOYED, "kind": "feed", "funder": "A funder added later",
            "start_urls": ["https://late.example.org/feed.xml"], "enabled": False,
        })  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("recipients.yaml", "priorities.yaml"):
        (folder / name).write_bytes((REPO / "config" / name).read_bytes())
    (folder / "sources.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return folder


@pytest.fixture
def scrapyd_server(tmp_path: Path, fundradar_home: Path) -> Iterator[str]:
    """A Scrapyd server on 127.0.0.1 with its own config, eggs, logs and queues under tmp_path,
    its jobs writing to this test's database; its URL."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    paths = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    Path(site, "zz_third_party_from_test_venv.pth").write_text("\n".join(paths) + "\n")

    work = tmp_path / "scrapyd"
    work.mkdir()
    port = _free_port()
    (work / "scrapyd.conf").write_text(
        "[scrapyd]\n"
        f"bind_address = 127.0.0.1\nhttp_port = {port}\n"
        f"eggs_dir = {work / 'eggs'}\nlogs_dir = {work / 'logs'}\ndbs_dir = {work / 'dbs'}\n"
        "items_dir =\npoll_interval = 0.2\nmax_proc = 2\n"
    )
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("FUNDRADAR_", "PYTHON", "COVERAGE_", "SCRAPY")) and k != "VIRTUAL_ENV"
    }  # fmt: skip
    env.update(
        HOME=str(work),  # no ~/.scrapyd.conf of the user's
        FUNDRADAR_HOME=str(fundradar_home),
        FUNDRADAR_DATABASE_URL=settings.load().database_url,  # SQLite file or PostgreSQL schema
    )
    # the jobs' interpreter has no fundradar but the egg's
    probe = subprocess.run(
        [str(python), "-c", "import fundradar"], cwd=work, env=env, capture_output=True
    )
    assert probe.returncode != 0 and b"No module named 'fundradar'" in probe.stderr
    log = (work / "scrapyd.log").open("wb")
    proc = subprocess.Popen(
        [str(python), "-m", "scrapyd"],
        cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (work / "scrapyd.log").read_text()[-3000:]
            try:
                if requests.get(url + "daemonstatus.json", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "Scrapyd did not start"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_crawls_run_as_scrapyd_jobs_and_each_reports_its_own_run(
    scrapyd_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an egg without a spider for an enabled source fails the deploy, naming the source
    broken = _config(tmp_path / "broken", scrapyd_server)
    data = yaml.safe_load((broken / "sources.yaml").read_text(encoding="utf-8"))
    data["sources"].append({  # reconstructed — not a capture: an API source has no module yet
        "id": "late_api", "kind": "api", "funder": "A funder with an API",
        "start_urls": ["https://api.example.org/search"],
    })  # fmt: skip
    (broken / "sources.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    monkeypatch.setenv("FUNDRADAR_CONFIG", str(broken))
    with pytest.raises(ScrapydError, match="has no spider for late_api, so it was removed again"):
        deploy(scrapyd_server)
    listed = requests.get(scrapyd_server + "listprojects.json", timeout=10).json()["projects"]
    assert "fundradar" not in listed  # its only version is gone: nothing broken left to run

    monkeypatch.setenv("FUNDRADAR_CONFIG", str(_config(tmp_path / "config", scrapyd_server)))
    deployed = CliRunner().invoke(cli, ["scrapyd", "deploy"])
    assert deployed.exit_code == 0, deployed.output
    assert re.search(r"deployed fundradar version \d+ to http://127\.0\.0\.1:\d+/: \d+ spiders",
                     deployed.output), deployed.output  # fmt: skip

    # the parent's config has a source the deployed egg does not know: refused, reported, and
    # the other sources crawl all the same
    config = _config(tmp_path / "config2", scrapyd_server, extra_source=True)
    monkeypatch.setenv("FUNDRADAR_CONFIG", str(config))
    seen = []
    with FixtureServer([SAMPLES / s for s in SOURCES]) as server:
        summaries = crawl([*SOURCES, NOT_DEPLOYED], fixture_server=server.url, sample=True,
                          on_done=seen.append)  # fmt: skip
    assert seen == summaries
    by_source = {s.source: s for s in summaries}
    late = by_source.pop(NOT_DEPLOYED)
    assert late.status == "failed" and late.run_id is None
    assert "not crawled" in late.message and f"spider '{NOT_DEPLOYED}' not found" in late.message

    with db.session_scope() as session:
        for source, summary in by_source.items():
            assert summary.status == "ok", summary
            assert summary.calls > 0 and summary.new > 0  # a first crawl
            run = session.get(CrawlRun, summary.run_id)
            assert run is not None and run.source == source and run.sample
            assert (run.stats or {}).get(TOKEN_STAT)  # the job's own token found it
            stored = session.scalar(
                select(func.count()).select_from(CallRow).where(CallRow.source == source)
            )
            assert stored == summary.new  # (a call seen twice, in two languages, is one)
        runs = session.scalars(select(CrawlRun)).all()
        urls = set(session.scalars(select(CallRow.url)))
    assert sorted(r.id for r in runs) == sorted(s.run_id for s in by_source.values())
    # the CSV feed was rewritten after the jobs ended, from the calls they stored
    feed = feed_path()
    assert feed.stat().st_mtime >= max(r.finished_at.timestamp() for r in runs)
    rows = list(csv.DictReader(io.StringIO(feed.read_text(encoding="utf-8-sig"))))
    assert rows and {r["url"] for r in rows} <= urls

    # a job that ends without a run this database can see (here: the Scrapyd service writes to
    # another database) is a failed source that says where to look, not a crash or an "ok"
    elsewhere = tmp_path / "elsewhere.db"
    monkeypatch.setenv("FUNDRADAR_DATABASE_URL", f"sqlite:///{elsewhere}")
    db.reset_caches()
    with FixtureServer([SAMPLES / "fundsforngos"]) as server:
        (lost,) = crawl(["fundsforngos"], fixture_server=server.url, sample=True)
    assert lost.status == "failed" and lost.run_id is None
    assert "ended without recording its run" in lost.message
    assert (
        "FUNDRADAR_DATABASE_URL" in lost.message and "/logs/fundradar/fundsforngos/" in lost.message
    )
