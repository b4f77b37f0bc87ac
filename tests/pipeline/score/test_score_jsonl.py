"""The `fundradar score` JSONL contract: one line out per call line, same order, errors inline."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import pytest

from fundradar.pipeline.score import load_profile, score_call
from fundradar.pipeline.score.jsonl import score_lines
from fundradar.pipeline.score.profile import Profile
from tests.conftest import FIXTURES, REPO

KEYS = ["id", "score", "band", "eligible", "themes", "reasons"]


@pytest.fixture
def profile() -> Profile:
    return load_profile(REPO / "config" / "priorities.yaml")


def run(lines: list[str], profile: Profile) -> list[dict]:
    return [json.loads(out) for out in score_lines(lines, profile)]


def line(**fields: object) -> str:
    return json.dumps(fields, ensure_ascii=False)


def test_one_line_out_per_line_in_same_order_with_ids(profile: Profile) -> None:
    lines = [
        line(id="b", title="Quantum computing platforms"),
        line(id="a", title="Climate resilience in Saint Lucia and Dominica", text="Governments."),
        line(id=7, title="Marine protected areas in the Pacific", text="Fiji and Samoa only."),
    ]
    out = run(lines, profile)
    assert [o["id"] for o in out] == ["b", "a", 7]
    assert all(list(o) == KEYS for o in out), "exactly the contract's keys, in its order"
    assert out[1]["band"] in ("high", "medium") and out[1]["eligible"] is True
    assert out[2]["eligible"] is False and out[2]["band"] in ("low", "none")
    assert out[0]["eligible"] is None  # JSON null
    assert all(isinstance(o["score"], int) and 0 <= o["score"] <= 100 for o in out)


def test_output_matches_score_call(profile: Profile) -> None:
    call = {"id": "x", "title": "Interreg Caraïbes : appel à projets", "text": "Santé, OECO."}
    (out,) = run([json.dumps(call)], profile)
    result = score_call(call, profile)
    assert out == {
        "id": "x",
        "score": result.score,
        "band": result.band,
        "eligible": result.eligible,
        "themes": result.themes,
        "reasons": result.reasons,
    }


def test_bad_lines_get_an_error_and_the_run_goes_on(profile: Profile) -> None:
    lines = [
        line(id="ok1", title="OECS fisheries call"),
        "{not json",
        "[1, 2, 3]",
        '"just a string"',
        line(id="no-title", text="A call without a title"),
        line(id="empty-title", title="   "),
        line(id="number-title", title=42),
        line(title="No id here, line 8"),
        line(id="ok2", title="Caribbean climate adaptation"),
    ]
    out = run(lines, profile)
    assert len(out) == len(lines)
    assert [o["id"] for o in out] == [
        "ok1", 2, 3, 4, "no-title", "empty-title", "number-title", 8, "ok2",
    ]  # fmt: skip
    errors = {o["id"]: o["error"] for o in out if "error" in o}
    assert set(errors) == {2, 3, 4, "no-title", "empty-title", "number-title"}
    assert "line 2" in errors[2] and "JSON" in errors[2]
    assert "object" in errors[3] and "array" in errors[3]
    assert "title" in errors["no-title"] and "line 5" in errors["no-title"]
    assert "title" in errors["number-title"]
    assert all(set(o) == {"id", "error"} for o in out if "error" in o)
    assert out[7]["band"] in ("high", "medium", "low", "none")  # id from its line number
    assert out[-1]["score"] > 0


def test_blank_lines_are_skipped_but_counted(profile: Profile) -> None:
    lines = ["", line(title="OECS call"), "   \n", "{broken", "\n"]
    out = run(lines, profile)
    assert len(out) == 2
    assert out[0]["id"] == 2  # line numbers count the blank lines: the editor's line number
    assert out[1]["id"] == 4 and "error" in out[1]


@pytest.mark.parametrize("alias", ["summary", "text", "description"])
def test_summary_aliases_score_alike(profile: Profile, alias: str) -> None:
    body = "Open to government agencies of Grenada for renewable energy projects."
    (out,) = run([json.dumps({"id": 1, "title": "Call for proposals", alias: body})], profile)
    (ref,) = run([json.dumps({"id": 1, "title": "Call for proposals", "summary": body})], profile)
    assert out == ref
    assert "energy" in out["themes"]
    assert any("Grenada" in r for r in out["reasons"])


def test_contract_fields_are_read_and_unknown_fields_ignored(profile: Profile) -> None:
    base = {"id": "c", "title": "Small grants 2025"}
    full = {
        **base,
        "funder": "Interreg Caraïbes",
        "programme": "Interreg Caraïbes 2021-2027",
        "eligibility": "Open to public authorities in Saint Lucia.",
        "url": "https://example.org/c",
        "language": "en",
        "deadline": "2025-03-31",
        "opens": "2024-12-12",
        "budget": "EUR 65,000,000",
        "label": 0,
        "rationale": "unknown fields must not matter",
        "nested": {"anything": [1, 2]},
    }
    (plain,) = run([json.dumps(base)], profile)
    (rich,) = run([json.dumps(full)], profile)
    assert rich["score"] > plain["score"]
    assert any("Saint Lucia" in r for r in rich["reasons"])  # eligibility is read
    assert any("Interreg Caraïbes" in r for r in rich["reasons"])  # funder / programme
    with_extra = {k: v for k, v in full.items() if k not in ("label", "rationale", "nested")}
    (same,) = run([json.dumps(with_extra)], profile)
    assert same == rich


def test_output_is_utf8_not_escaped(profile: Profile) -> None:
    (raw,) = list(score_lines([line(id="é", title="Appel à projets en Sainte-Lucie")], profile))
    assert "Sainte-Lucie" in raw and "“" in raw and "\\u" not in raw


def test_lines_are_scored_lazily(profile: Profile) -> None:
    def endless() -> Iterator[str]:
        for n in itertools.count(1):
            yield line(id=n, title="OECS call")

    first_three = list(itertools.islice(score_lines(endless(), profile), 3))
    assert [json.loads(x)["id"] for x in first_three] == [1, 2, 3]


def test_dev_set_scores_in_order_without_errors(profile: Profile) -> None:
    lines = (FIXTURES / "eval" / "dev_calls.jsonl").read_text(encoding="utf-8").splitlines()
    out = run(lines, profile)
    assert [o["id"] for o in out] == [json.loads(x)["id"] for x in lines]
    assert not any("error" in o for o in out)


def test_profile_is_optional() -> None:
    (out,) = run([line(id=1, title="OECS fisheries")], None)  # type: ignore[arg-type]
    assert out["band"] in ("high", "medium")
