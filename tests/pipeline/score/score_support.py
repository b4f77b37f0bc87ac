"""Helpers shared by the scorer's test modules (test_score.py, test_score_logic.py).

The `profile` fixture they use lives in conftest.py.
"""

from __future__ import annotations

from typing import Any

from fundradar.pipeline.score import ScoreResult, score_call
from fundradar.pipeline.score.profile import Profile
from tests.conftest import REPO

PACKAGED = REPO / "config" / "priorities.yaml"
FLAGGED = ("high", "medium")  # the bands the digest shows


def score(profile: Profile, title: str, text: str = "", **fields: Any) -> ScoreResult:
    return score_call({"title": title, "text": text, **fields}, profile)


def reasons_text(result: ScoreResult) -> str:
    return "\n".join(result.reasons)
