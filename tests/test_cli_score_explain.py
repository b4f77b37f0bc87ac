"""`fundradar score --explain CALL` on a real SQLite database: every contribution printed, the
feedback off until there are enough verdicts. Calls and verdicts are made up (reconstructed —
not a capture).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from fundradar.cli import cli, main
from fundradar.pipeline import db
from fundradar.pipeline.review import judged_calls, record_verdict
from fundradar.pipeline.score import load_profile
from tests.pipeline.exports.exports_factory import add_call

TARGET = {
    "title": "Coastal resilience grants for Caribbean governments",
    "summary": "Public institutions of Caribbean countries may apply for grants on coastal "
    "resilience, mangrove restoration and early warning systems.",
    "funder": "Blue Horizon Foundation",
    "programme": "Coastal Futures",
}
TOPICS = ["vaccine logistics", "rural broadband", "school meals", "museum archives",
          "steel recycling", "tax statistics", "wind turbines", "judicial training"]  # fmt: skip


def store(judged: int) -> None:
    """The target call (id 1, no verdict) and `judged` other calls with a verdict each; the
    first of them worded like the target and marked not relevant on 3 March 2026."""
    with db.session_scope() as s:
        add_call(s, 1, key="test:target", themes=["climate", "ocean"], **TARGET)
        for n in range(2, judged + 2):
            if n == 2:
                like = {**TARGET, "title": TARGET["title"] + " (2025 round)"}
                row = add_call(s, n, key=f"test:{n}", themes=["climate", "ocean"], **like)
                record_verdict(s, row, "relevant", author="ana",
                               now=datetime(2026, 2, 1, tzinfo=UTC))  # fmt: skip
                # the officer changed her mind: the latest verdict is the one that counts
                record_verdict(s, row, "not-relevant", reason="different applicant type",
                               author="ana", now=datetime(2026, 3, 3, 15, tzinfo=UTC))  # fmt: skip
                continue
            topic = TOPICS[n % len(TOPICS)]
            row = add_call(s, n, key=f"test:{n}", title=f"{topic.title()} programme {n}",
                           summary=f"Support for {topic} in partner countries.",
                           funder=f"Funder {n}", programme=None, themes=[])  # fmt: skip
            record_verdict(s, row, "relevant" if n % 2 else "not-relevant", author="ana")


def explain(ref: str) -> str:
    result = CliRunner().invoke(cli, ["score", "--explain", ref], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_explain_prints_every_contribution_and_the_feedback() -> None:
    need = load_profile().config.feedback.min_verdicts
    store(need)
    out = explain("test:target")
    assert out.startswith("call 1 (test:target): Coastal resilience grants")
    rules = out.split("Rules (points, reason):\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert any("Theme: climate change and disaster resilience" in x for x in rules)
    assert any("Covers the Caribbean" in x for x in rules)
    assert all(x.strip()[0] in "+-" or "sum of points" in x or x.startswith(" " * 8)
               for x in rules)  # fmt: skip
    assert f"Feedback from past verdicts ({need} verdicts" in out
    assert (
        "Like 'Coastal resilience grants for Caribbean governments (2025 round)', marked not "
        "relevant on 3 March 2026: different applicant type" in out
    )
    assert "applied -" in out and "at most 8 either way" in out
    final = int(out.rsplit("Score ", 1)[1].split(" ", 1)[0])
    base = int(out.split("after gates and caps ", 1)[1].split(" ", 1)[0])
    assert base - 8 <= final < base


def test_explain_says_feedback_is_off_until_enough_verdicts() -> None:
    store(3)
    out = explain("1")
    need = load_profile().config.feedback.min_verdicts
    assert f"off: off until {need} verdicts (3 so far)" in out
    base = out.split("after gates and caps ", 1)[1].split(" ", 1)[0]
    assert f"Score {base} " in out  # the rule score, unchanged


def test_judged_calls_reads_the_latest_verdict_per_call() -> None:
    store(4)
    with db.session_scope() as s:
        judged = judged_calls(s)
    assert len(judged) == 4
    first = next(j for j in judged if j.ref == "2")
    assert first.verdict == "not-relevant" and first.reason == "different applicant type"
    assert first.themes == ("climate", "ocean") and first.funder == "Blue Horizon Foundation"


def test_explain_an_unknown_call_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    store(1)
    with pytest.raises(SystemExit) as exc:
        main(["score", "--explain", "test:nope"])
    assert exc.value.code != 0
    err = capsys.readouterr().err
    assert "no call with id, key or URL 'test:nope'" in err and "Traceback" not in err


def test_score_without_explain_still_scores_jsonl() -> None:
    result = CliRunner().invoke(cli, ["score", "-"], input='{"id": 7, "title": "Grenada"}\n')
    assert result.exit_code == 0 and '"id": 7' in result.output
