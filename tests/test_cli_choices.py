"""Honest command line: unknown filter values exit 2 listing the valid ones; ids are listed;
counted nouns agree ("1 call", "18 entries").

The calls are reconstructed — not captures: made-up values on realistic ids.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from fundradar.cli import cli
from fundradar.config.loader import load_sources
from fundradar.pipeline import db
from fundradar.pipeline.models import utcnow
from fundradar.wording import plural, plural_of
from tests.pipeline.exports.exports_factory import add_call

EXPORTS = ("csv", "ics", "atom", "json")


@pytest.fixture
def stored() -> None:
    now = utcnow()
    with db.session_scope() as s:
        add_call(s, 1, title="ocean call", themes=["ocean"], deadline=now + timedelta(days=9))
        add_call(s, 2, key="afd:2", source="afd", title="energy call", themes=["energy"],
                 deadline=now + timedelta(days=12))  # fmt: skip


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize("command", EXPORTS)
@pytest.mark.parametrize(
    ("option", "value", "listed"),
    [
        ("--theme", "oceans", ["ocean", "energy", "climate", "regional-cooperation"]),
        ("--source", "afdd", ["afd", "eu_ft"]),
        ("--band", "urgent", ["high", "medium", "low", "none"]),
        ("--min-band", "urgent", ["high", "medium", "low", "none"]),
        ("--status", "opened", ["forthcoming", "open", "closed", "unknown"]),
    ],
)
def test_unknown_filter_value_exits_2_listing_valid_ones(
    stored, command: str, option: str, value: str, listed: list[str]
) -> None:  # type: ignore[no-untyped-def]
    result = run("export", command, option, value)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""  # no header-only CSV, no empty calendar
    assert value in result.stderr
    for valid in listed:
        assert valid in result.stderr


def test_one_bad_among_good_values_is_refused(stored) -> None:  # type: ignore[no-untyped-def]
    result = run("export", "csv", "--theme", "ocean", "--theme", "oceans")
    assert result.exit_code == 2
    assert "'oceans'" in result.stderr and "'ocean'" not in result.stderr.split("valid:")[0]


def test_known_values_still_select(stored) -> None:  # type: ignore[no-untyped-def]
    result = run("export", "json", "--theme", "ocean", "--band", "high")
    assert result.exit_code == 0, result.output
    assert "ocean call" in result.stdout and "energy call" not in result.stdout
    # a configured source with no call yet is valid: an honest empty result
    unused = next(s.id for s in load_sources().sources if s.id not in ("afd", "eu_ft"))
    result = run("export", "json", "--source", unused)
    assert (result.exit_code, result.stdout) == (0, "")


def test_a_theme_only_on_stored_calls_is_valid(stored) -> None:  # type: ignore[no-untyped-def]
    with db.session_scope() as s:
        add_call(s, 3, title="legacy", themes=["old-theme"])
    result = run("export", "json", "--theme", "old-theme")
    assert result.exit_code == 0 and "legacy" in result.stdout


def test_themes_command_lists_ids_labels_and_counts(stored) -> None:  # type: ignore[no-untyped-def]
    result = run("themes")
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[2:]}
    assert "ocean governance" in lines["ocean"] and lines["ocean"].rstrip().endswith("1")
    assert lines["climate"].rstrip().endswith("0")
    assert {"regional-cooperation", "energy", "health"} <= set(lines)


def test_sources_list_shows_every_configured_id() -> None:
    result = run("sources", "list")
    assert result.exit_code == 0, result.output
    first_column = {line.split()[0] for line in result.stdout.splitlines()[2:] if line.strip()}
    assert {s.id for s in load_sources().sources} <= first_column


def test_export_summary_agrees_in_number(stored, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run("export", "atom", "--min-band", "none", "-o", str(tmp_path / "a.atom"))
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("wrote 2 entries to ")
    result = run("export", "csv", "--theme", "energy", "-o", str(tmp_path / "c.csv"))
    assert result.stderr.startswith("wrote 1 call to ")


@pytest.mark.parametrize(
    ("n", "word", "expected"),
    [(1, "call", "1 call"), (0, "call", "0 calls"), (18, "entry", "18 entries"),
     (2, "day", "2 days"), (3, "match", "3 matches"), (1, "more theme", "1 more theme"),
     (2, "more theme", "2 more themes")],
)  # fmt: skip
def test_plural(n: int, word: str, expected: str) -> None:
    assert plural(n, word) == expected
    assert plural(2, "person", "people") == "2 people"
    assert plural_of("key") == "keys"
