"""The built wheel, installed (not editable) in a fresh venv, runs every kind of command from a
folder outside the checkout: the sample pages, the config defaults and the Alembic migrations
all come from inside the installed package (issue 11 item 1).

The wheel is built from a copy of the checkout (a stale build/ folder in the checkout would put
deleted files into it). The fresh venv gets only the wheel; the third-party libraries it needs
come from the venv running the tests, through a .pth file that names that venv's site-packages
(a plain path line: the editable install's own .pth finder there is not run), so no network and
no second download of Scrapy. The checkout is never on the fresh interpreter's path: the test
asserts `fundradar` is imported from the fresh venv. Select with `-m wheel`.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from fundradar.config.loader import load_sources
from fundradar.fixture_server import FixtureServer
from fundradar.pipeline import db
from tests.conftest import REPO, SAMPLES

pytestmark = pytest.mark.wheel

NOT_COPIED = (
    ".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
    ".ruff_cache", ".scrapy", "htmlcache", "var", ".ci-results.xml",
)  # fmt: skip
STAGES = ("crawlers", "pipeline", "alerts", "config")


@dataclass
class Installed:
    wheel: Path
    python: Path
    script: Path
    site: Path  # the fresh venv's site-packages
    outside: Path  # a working folder outside the checkout

    def run(self, *args: str, home: Path, timeout: float = 180) -> subprocess.CompletedProcess:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("FUNDRADAR_", "PYTHON", "COVERAGE_")) and k != "VIRTUAL_ENV"
        }
        env["FUNDRADAR_HOME"] = str(home)
        env["PATH"] = f"{self.script.parent}{os.pathsep}{env.get('PATH', '')}"
        return subprocess.run(
            [str(a) for a in args], cwd=self.outside, env=env, capture_output=True, text=True,
            timeout=timeout, check=False,
        )  # fmt: skip


def _ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(*NOT_COPIED))
    dist = work / "dist"
    build = subprocess.run(
        # no build isolation: the build backend comes from the test venv (the `test` extra),
        # so building touches no package registry
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", str(dist), str(src)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    (wheel,) = dist.glob("fundradar-*.whl")

    venv = work / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # nothing on PYTHONPATH: a checkout there (with a fundradar.egg-info) would make pip think
    # fundradar is installed already and skip it
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--no-deps", "--no-index", str(wheel)],
        capture_output=True, text=True, timeout=300, check=False, env=clean,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    where = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    site = Path(where.stdout.strip())
    paths = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site / "zz_third_party_from_test_venv.pth").write_text("\n".join(paths) + "\n")
    outside = work / "elsewhere"
    outside.mkdir()
    return Installed(wheel, python, venv / "bin" / "fundradar", site, outside)


def test_the_wheel_holds_one_top_level_package_with_its_data(installed: Installed) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"fundradar", installed.wheel.name.split("-py")[0]
                                                + ".dist-info"}  # fmt: skip
    assert not [n for n in names if "/tests/" in n or "fixtures" in n]
    for source in load_sources(REPO / "config").enabled:
        assert f"fundradar/crawlers/samples/{source.id}/index.json" in names, source.id
    bundled = {f"fundradar/crawlers/samples/{p.relative_to(SAMPLES).as_posix()}"
               for p in SAMPLES.rglob("*") if p.is_file()}  # fmt: skip
    assert bundled <= set(names)
    for yaml in ("sources", "recipients", "priorities"):
        assert f"fundradar/config/{yaml}.yaml" in names
    migrations = REPO / "pipeline" / "migrations"
    for f in [migrations / "env.py", migrations / "script.py.mako",
              *migrations.glob("versions/*.py")]:  # fmt: skip
        assert f"fundradar/pipeline/migrations/{f.relative_to(migrations).as_posix()}" in names


def test_nothing_but_fundradar_is_installed(installed: Installed) -> None:
    top = sorted(p.name for p in installed.site.iterdir() if not p.name.endswith(".pth"))
    assert [n for n in top if not n.startswith("fundradar")] == []
    assert not any((installed.site / name).exists() for name in (*STAGES, "tests"))
    probe = installed.run(
        installed.python, "-c",
        "import importlib.util as u, fundradar; print(fundradar.__file__); "
        f"print([n for n in {(*STAGES, 'tests')!r} if u.find_spec(n)])",
        home=installed.outside / "h0",
    )  # fmt: skip
    where, bare = _ok(probe).splitlines()
    assert Path(where).is_relative_to(installed.site), where  # the wheel, not the checkout
    assert bare == "[]"  # no generic top-level name is importable


def test_help_and_init_from_outside_the_checkout(installed: Installed) -> None:
    assert "demo" in _ok(installed.run(installed.script, "--help", home=installed.outside / "h1"))
    home = installed.outside / "h1"
    _ok(installed.run(installed.script, "init", home=home))
    with sqlite3.connect(home / "fundradar.db") as con:
        (revision,) = con.execute("select version_num from alembic_version").fetchone()
    assert revision == db._head()  # every migration ran from inside the installed package


def test_sources_check_and_crawl_fixtures_read_the_bundled_pages(installed: Installed) -> None:
    home = installed.outside / "h2"
    out = _ok(installed.run(installed.script, "sources", "check", "eu_ft", home=home))
    assert "the 1 source yields calls" in out
    out = _ok(installed.run(installed.script, "crawl", "--fixtures", "fundsforngos", home=home))
    assert "fundsforngos" in out
    with sqlite3.connect(home / "fundradar.db") as con:
        (calls,) = con.execute("select count(*) from calls where source='fundsforngos'").fetchone()
    assert calls == 3


def test_record_saves_into_the_home_not_the_installed_package(installed: Installed) -> None:
    home = installed.outside / "h3"
    with FixtureServer([SAMPLES / "fundsforngos"]) as server:  # stands in for the live site
        out = _ok(installed.run(installed.script, "sources", "record", "fundsforngos",
                                "--fixture-server", server.url, home=home))  # fmt: skip
    saved = home / "samples" / "fundsforngos"
    assert "not for writing" in out and str(saved) in out
    assert json.loads((saved / "index.json").read_text())["origin"] == "capture"
    # the bundled pages came along as the starting point, and stayed as they were in the venv
    assert json.loads((saved / "index.reconstructed.json").read_text())["origin"] == (
        "reconstructed"
    )
    bundled = installed.site / "fundradar" / "crawlers" / "samples" / "fundsforngos"
    assert json.loads((bundled / "index.json").read_text())["origin"] == "reconstructed"


def test_demo_runs_from_the_wheel(installed: Installed) -> None:
    home = installed.outside / "h4"
    out = _ok(installed.run(installed.script, "demo", home=home, timeout=600))
    assert f"sample pages: {installed.site / 'fundradar' / 'crawlers' / 'samples'}" in out
    with (home / "exports" / "calls-all.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    with sqlite3.connect(home / "fundradar.db") as con:
        sources = {s for (s,) in con.execute("select distinct source from calls")}
        stored = con.execute("select count(*) from calls").fetchone()[0]
    assert sources == {s.id for s in load_sources(REPO / "config").enabled}
    assert 0 < len(rows) <= stored and all(r["title"] and r["url"] for r in rows)
    (eml,) = (home / "outbox").glob("*.eml")
    assert "SAMPLE" in eml.read_text(encoding="utf-8")
