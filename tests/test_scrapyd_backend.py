"""The Scrapyd backend without a Scrapyd server: what is reported when there is none, the config
keys, the egg's contents, and package data read from a zipped import (as a Scrapyd job does).
The crawl through a real server is tests/test_scrapyd.py (`-m scrapyd`)."""

from __future__ import annotations

import socket
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from fundradar.config.loader import load_sources
from fundradar.crawlers.scrapyd_backend import build_egg, redact
from fundradar.crawling import crawl
from fundradar.exceptions import ConfigError
from fundradar.resources import package_folder
from tests.conftest import REPO


def _config(folder: Path, **defaults: object) -> Path:
    data = yaml.safe_load((REPO / "config" / "sources.yaml").read_text(encoding="utf-8"))
    data["defaults"].update(defaults)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("recipients.yaml", "priorities.yaml"):
        (folder / name).write_bytes((REPO / "config" / name).read_bytes())
    (folder / "sources.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return folder


def _closed_port() -> int:
    with socket.socket() as s:  # bound, never listening: connections are refused
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_scrapyd_unreachable_is_a_failed_source_with_its_cause_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://robot:s3cret@127.0.0.1:{_closed_port()}/"
    config = _config(tmp_path / "config", crawl_backend="scrapyd", scrapyd_url=url)
    monkeypatch.setenv("FUNDRADAR_CONFIG", str(config))
    seen = []
    summaries = crawl(["afd", "anr"], on_done=seen.append)
    assert [s.source for s in summaries] == ["afd", "anr"] and seen == summaries
    for summary in summaries:
        assert summary.status == "failed" and summary.run_id is None
        assert "not crawled" in summary.message and "unreachable" in summary.message
        assert "127.0.0.1" in summary.message and "s3cret" not in summary.message


def test_scrapyd_backend_needs_its_address(tmp_path: Path) -> None:
    config = _config(tmp_path / "config", crawl_backend="scrapyd")
    with pytest.raises(ConfigError) as err:
        load_sources(config)
    message = str(err.value)
    assert "sources.yaml" in message and "defaults.scrapyd_url" in message
    assert "scrapyd_url: http://" in message  # the fix
    config = _config(tmp_path / "config2", crawl_backend="scrapyd", scrapyd_url="ftp://x:1")
    with pytest.raises(ConfigError, match=r"defaults\.scrapyd_url: .*http"):
        load_sources(config)
    assert load_sources(REPO / "config").defaults.crawl_backend == "local"  # the default


def test_redact_drops_the_password() -> None:
    assert redact("https://u:pw@scrapyd.example:6800/x/") == "https://scrapyd.example:6800/x/"


def test_the_egg_holds_the_package_its_data_and_the_scrapy_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the config this side runs with goes into the egg: the jobs crawl what is scheduled
    config = _config(tmp_path / "config", contact="crawls@example.org")
    monkeypatch.setenv("FUNDRADAR_CONFIG", str(config))
    egg = build_egg(tmp_path)
    shipped = zipfile.ZipFile(egg).read("fundradar/config/sources.yaml").decode()
    assert shipped == (config / "sources.yaml").read_text(encoding="utf-8")
    assert "crawls@example.org" in shipped
    names = set(zipfile.ZipFile(egg).namelist())
    assert {n.split("/")[0] for n in names} == {"fundradar", "EGG-INFO"}
    for name in ("fundradar/crawlers/settings.py", "fundradar/config/sources.yaml",
                 "fundradar/pipeline/migrations/env.py", "fundradar/crawlers/spiders/afd.py",
                 "fundradar/alerts/templates/digest.html.j2"):  # fmt: skip
        assert name in names, name
    versions = {p.name for p in (REPO / "pipeline" / "migrations" / "versions").glob("*.py")}
    assert {f"fundradar/pipeline/migrations/versions/{v}" for v in versions} <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or "tests/" in n]
    entry = zipfile.ZipFile(egg).read("EGG-INFO/entry_points.txt").decode()
    assert "[scrapy]" in entry and "settings = fundradar.crawlers.settings" in entry


def test_package_data_of_a_zipped_package_is_extracted_to_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "zipped.egg"
    with zipfile.ZipFile(archive, "w") as zf:  # reconstructed — not a capture
        zf.writestr("zpkg_fr/__init__.py", "")
        zf.writestr("zpkg_fr/sources.yaml", "defaults: {}\n")
        zf.writestr("zpkg_fr/versions/0001_x.py", "revision = '0001'\n")
    monkeypatch.syspath_prepend(str(archive))
    folder = package_folder("zpkg_fr")
    assert folder.is_dir() and not str(folder).startswith(str(archive))
    assert (folder / "sources.yaml").read_text() == "defaults: {}\n"
    assert (folder / "versions" / "0001_x.py").read_text() == "revision = '0001'\n"
    assert package_folder("zpkg_fr") == folder  # once per process
    sys.modules.pop("zpkg_fr", None)
    # a package on disk is its own folder
    assert package_folder("fundradar.config") == REPO / "config"
