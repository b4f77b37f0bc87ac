"""The sample pages are package data of `fundradar.crawlers` (crawlers/samples/<source_id>/),
found with importlib.resources; captures recorded from an installed package live in
$FUNDRADAR_HOME/samples/ and are served before the bundled pages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import requests

from fundradar.config.loader import load_sources
from fundradar.fixture_server import (
    FixtureServer,
    bundled_samples,
    record_folder,
    recorded_samples,
    sample_folders,
)
from tests.conftest import FIXTURES, REPO, SAMPLES


def test_the_bundled_samples_are_the_checkouts_folder() -> None:
    assert bundled_samples().resolve() == SAMPLES.resolve()


def test_every_enabled_source_has_samples_that_say_what_they_are() -> None:
    names = {f.name for f in sample_folders()}
    for source in load_sources(REPO / "config").enabled:
        folder = SAMPLES / source.id
        index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
        assert source.id in names
        assert index["origin"] in ("capture", "reconstructed"), source.id
        for response in index["responses"]:
            assert (folder / response["file"]).is_file(), (source.id, response["file"])
        readme = (folder / "README.md").read_text(encoding="utf-8")
        if index["origin"] == "reconstructed":
            assert "reconstructed — not a capture" in readme, source.id


def test_test_only_data_is_not_sample_data() -> None:
    # bad feeds, dedupe pairs and eval sets stay with the tests: never served, never installed
    names = {f.name for f in sample_folders()}
    assert {"bad_feed", "bad_input", "dedupe", "eval"} <= {p.name for p in FIXTURES.iterdir()}
    assert names.isdisjoint({"bad_feed", "bad_input", "dedupe", "eval"})
    assert not any((FIXTURES / name).exists() for name in names)


def test_a_recorded_capture_in_the_home_is_served_instead_of_the_bundled_pages(
    fundradar_home: Path,
) -> None:
    mine = recorded_samples() / "fundsforngos"
    shutil.copytree(SAMPLES / "fundsforngos", mine)
    (mine / "feed.xml").write_text("<rss><channel><title>mine</title></channel></rss>")
    staging = recorded_samples() / ".fundsforngos.recording-x"  # a recording under way
    shutil.copytree(SAMPLES / "afd", staging)
    folders = sample_folders()
    assert mine in folders and SAMPLES / "fundsforngos" not in folders
    assert staging not in folders and SAMPLES / "afd" in folders
    with FixtureServer() as server:
        answer = requests.get(
            server.url + "/feed/", headers={"X-Fundradar-Host": "www2.fundsforngos.org"}, timeout=10
        )
    assert answer.status_code == 200 and "mine" in answer.text


def test_record_writes_into_the_checkout_when_run_from_one(fundradar_home: Path) -> None:
    assert record_folder("afd") == bundled_samples() / "afd"
