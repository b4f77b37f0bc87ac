"""Configuration: loaded once, validated, and a bad file is one clear line with exit code 2."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fundradar.config.loader import load_recipients, load_sources
from fundradar.exceptions import ConfigError

from .conftest import REPO

PACKAGED = REPO / "config"


@pytest.fixture
def config_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "config"
    shutil.copytree(PACKAGED, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    monkeypatch.setenv("FUNDRADAR_CONFIG", str(folder))
    return folder


def test_packaged_config_is_valid() -> None:
    sources = load_sources(PACKAGED)
    assert sources.get("eu_ft") is not None
    assert sources.get("eu_ft").kind == "api"
    assert all(s.timezone for s in sources.sources)
    recipients = load_recipients(PACKAGED)
    assert recipients.schedule.timezone == "America/St_Lucia"
    assert recipients.recipients, "at least one recipient is configured"


@pytest.mark.parametrize(
    ("edit", "key", "expected"),
    [
        (lambda t: t.replace("kind: api", "kind: rss2", 1), "sources[0] (id=eu_ft).kind", "'api'"),
        (lambda t: t.replace("    enabled: true", "    enabeld: true", 1),
         "enabeld", "no such key"),
        (lambda t: t.replace("timezone: Europe/Brussels", "timezone: Mars/Olympus", 1),
         "sources[0] (id=eu_ft).timezone", "IANA time zone"),
        (lambda t: t.replace("  - id: eu_ft", "  - id: EU FT", 1), "sources[0]", "lower-case id"),
        (lambda t: t + "\n  - id: [unclosed\n", "line", "valid YAML"),
        (lambda t: "just a string\n", "(top level)", "mapping"),
    ],
)  # fmt: skip
def test_bad_sources_file_names_file_key_and_expectation(
    config_copy: Path,
    edit,
    key: str,
    expected: str,  # type: ignore[no-untyped-def]
) -> None:
    path = config_copy / "sources.yaml"
    text = path.read_text(encoding="utf-8")
    if "enabeld" in key and "    enabled: true" not in text:
        text = text.replace("    language: en", "    enabled: true\n    language: en", 1)
    path.write_text(edit(text), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_sources(config_copy)
    message = str(info.value)
    assert str(path) in message
    assert key in message
    assert expected in message


def test_bad_recipient_email(config_copy: Path) -> None:
    path = config_copy / "recipients.yaml"
    path.write_text(path.read_text().replace("dcrm@oecs.int\n    name", "not-an-address\n    name"))
    expected = r"recipients\[0\] \(DCRM unit\)\.email: an e-mail address"
    with pytest.raises(ConfigError, match=expected):
        load_recipients(config_copy)


def test_config_is_reloaded_when_the_file_changes(config_copy: Path) -> None:
    first = load_sources(config_copy)
    assert load_sources(config_copy) is first  # loaded once
    path = config_copy / "sources.yaml"
    path.write_text(path.read_text().replace("funder: European Commission", "funder: EC", 1))
    import os

    st = path.stat()
    os.utime(path, (st.st_atime, st.st_mtime + 5))
    assert load_sources(config_copy).get("eu_ft").funder == "EC"


def test_cli_broken_config_one_line_exit_2(config_copy: Path) -> None:
    """Acceptance: a broken sources.yaml gives a one-line error and exit code 2, no traceback."""
    path = config_copy / "sources.yaml"
    path.write_text(path.read_text().replace("kind: api", "kind: nonsense", 1))
    proc = subprocess.run(
        [sys.executable, "-m", "fundradar", "init"],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "sources.yaml" in lines[0] and "kind" in lines[0]


def test_bad_environment_value_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from fundradar import settings

    monkeypatch.setenv("FUNDRADAR_SMTP_SECURITY", "tls-please")
    with pytest.raises(ConfigError, match="FUNDRADAR_SMTP_SECURITY"):
        settings.load()
    monkeypatch.setenv("FUNDRADAR_SMTP_SECURITY", "ssl")
    monkeypatch.setenv("FUNDRADAR_SMTP_PORT", "twenty-five")
    with pytest.raises(ConfigError, match="FUNDRADAR_SMTP_PORT"):
        settings.load()


def test_password_never_in_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    from fundradar import settings

    monkeypatch.setenv("FUNDRADAR_SMTP_PASSWORD", "s3cret-value")
    monkeypatch.setenv("FUNDRADAR_WEB_TOKEN", "tok3n-value")
    text = repr(settings.load())
    assert "s3cret-value" not in text and "tok3n-value" not in text


def test_invalid_cron_line_fails_validation_with_file_key_and_fix(config_copy: Path) -> None:
    """A line like "61 5 * * mon" has five fields but no minute 61: caught here, not later."""
    path = config_copy / "recipients.yaml"
    path.write_text(path.read_text().replace('crawl: "0 5 * * mon"', 'crawl: "61 5 * * mon"'))
    with pytest.raises(ConfigError) as info:
        load_recipients(config_copy)
    message = str(info.value)
    assert str(path) in message and "schedule.crawl" in message
    assert "minute 0-59" in message and "'0 5 * * mon'" in message  # the fix, by example
    proc = subprocess.run([sys.executable, "-m", "fundradar", "schedule"],
                          capture_output=True, text=True, timeout=120, cwd=REPO)  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "schedule.crawl" in proc.stderr


@pytest.mark.parametrize(
    ("edit", "key", "expected"),
    [
        (lambda t: t.replace("coverage: {title: 0.9, url: 0.9}", "coverage: {dedline: 0.5}"),
         "defaults.health.coverage", "field names among"),
        (lambda t: t.replace("    min_ratio: 0.5", "    min_ratio: 1.5"),
         "defaults.health.min_ratio", "less than or equal to 1"),
        (lambda t: t.replace("    quiet_runs: 3", "    quiet_runs: 0"),
         "defaults.health.quiet_runs", "greater than or equal to 1"),
    ],
)  # fmt: skip
def test_bad_health_thresholds_are_named(config_copy: Path, edit, key: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    path = config_copy / "sources.yaml"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_sources(config_copy)
    assert key in str(info.value) and expected in str(info.value)


def test_a_sources_health_overrides_the_defaults_key_by_key(config_copy: Path) -> None:
    path = config_copy / "sources.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(
        "    max_pages: 10\n    selectors:\n      item: div.fr-card",
        "    max_pages: 10\n    health: {min_ratio: 0.3, coverage: {deadline: 0.8}}\n"
        "    selectors:\n      item: div.fr-card", 1), encoding="utf-8")  # fmt: skip
    sources = load_sources(config_copy)
    afd, anr = sources.health_of("afd"), sources.health_of("anr")
    assert afd.min_ratio == 0.3 and afd.coverage == {"deadline": 0.8}
    assert afd.quiet_runs == anr.quiet_runs == 3 and afd.margin == 0.1  # the rest: defaults
    assert anr.min_ratio == 0.5 and anr.coverage == {"title": 0.9, "url": 0.9}


def test_maintainer_must_be_an_address(config_copy: Path) -> None:
    path = config_copy / "recipients.yaml"
    path.write_text(path.read_text().replace("maintainer: dcrm@oecs.int", "maintainer: dcrm"))
    with pytest.raises(ConfigError, match=r"maintainer: an e-mail address"):
        load_recipients(config_copy)
