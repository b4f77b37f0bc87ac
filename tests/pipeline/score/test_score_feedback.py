"""Feedback from the team's verdicts: bounded, explained, off until there are enough verdicts.

Every call and verdict here is made up for these tests (reconstructed — not a capture).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fundradar.pipeline.score import score_call
from fundradar.pipeline.score.feedback import Judged, train
from fundradar.pipeline.score.profile import Profile

MARCH_3 = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)

# a call the rules rank medium: Caribbean-wide, a real theme, governments may apply
CALL = {
    "title": "Coastal resilience grants for Caribbean governments",
    "text": "Public institutions of Caribbean countries may apply for grants on coastal "
    "resilience, mangrove restoration and early warning systems.",
    "funder": "Blue Horizon Foundation",
    "programme": "Coastal Futures",
}


def filler(n: int, verdict: str = "relevant") -> list[Judged]:
    """Verdicts on unrelated calls (other funders, other words): they only make up the count."""
    topics = [
        "vaccine logistics", "rural broadband", "school meals", "museum archives",
        "steel recycling", "tax statistics", "wind turbines", "judicial training",
    ]  # fmt: skip
    return [
        Judged(
            ref=f"f{i}",
            title=f"{topics[i % len(topics)].title()} programme {i}",
            verdict=verdict if i % 2 == 0 else "not-relevant",
            funder=f"Funder {i}",
            summary=f"Support for {topics[i % len(topics)]} in partner countries, round {i}.",
        )
        for i in range(n)
    ]


def like_call(n: int, verdict: str, reason: str | None = None) -> list[Judged]:
    """Verdicts on calls of the same funder and programme, worded like CALL."""
    return [
        Judged(
            ref=f"c{i}",
            title=f"Coastal resilience grants for Caribbean governments, round {i}",
            verdict=verdict,
            funder="Blue Horizon Foundation",
            programme="Coastal Futures",
            themes=("climate", "ocean"),
            summary=CALL["text"],
            reason=reason,
            when=MARCH_3,
        )
        for i in range(n)
    ]


def test_off_until_enough_verdicts(profile: Profile) -> None:
    base = score_call(CALL, profile)
    need = profile.config.feedback.min_verdicts
    history = like_call(3, "not-relevant", "different applicant type")
    few = train(history + filler(need - len(history) - 1), profile)
    same, adj = few.adjust(base, CALL, profile)
    assert not adj.active and adj.contributions == ()
    assert same == base and same.reasons == base.reasons
    assert f"off until {need} verdicts ({need - 1} so far)" == adj.note

    enough = train(history + filler(need - len(history)), profile)
    moved, adj = enough.adjust(base, CALL, profile)
    assert adj.active and moved.score < base.score


def test_a_call_like_one_marked_not_relevant_says_so(profile: Profile) -> None:
    base = score_call(CALL, profile)
    model = train(like_call(1, "not-relevant", "different applicant type") + filler(30), profile)
    result, adj = model.adjust(base, CALL, profile)
    reason = result.reasons[-1]
    assert reason.startswith("Past verdicts: -")
    assert (
        "Like 'Coastal resilience grants for Caribbean governments, round 0', marked not "
        "relevant on 3 March 2026: different applicant type" in reason
    )
    assert result.score == base.score + round(adj.applied) < base.score
    assert result.explained[-1] == (adj.applied, reason)  # --explain shows it with its points


def test_the_adjustment_is_bounded(profile: Profile) -> None:
    base = score_call(CALL, profile)
    bound = profile.config.feedback.max_points
    model = train(like_call(40, "not-relevant", "never for us") + filler(40), profile)
    result, adj = model.adjust(base, CALL, profile)
    assert adj.total < -bound  # funder, programme, themes and likeness together: more...
    assert adj.applied == -bound  # ...but the score moves by the bound only
    assert result.score == base.score - bound
    assert f"bounded to {bound:g}" in result.reasons[-1]
    kinds = {c.kind for c in adj.contributions}
    assert kinds == {"funder", "programme", "theme", "similar"}  # each named in the reason
    for word in ("funder 'Blue Horizon Foundation'", "programme 'Coastal Futures'", "themes ("):
        assert word in result.reasons[-1]


def test_relevant_verdicts_lift_and_can_change_the_band(profile: Profile) -> None:
    base = score_call(CALL, profile)
    model = train(like_call(12, "shortlist") + filler(20, "not-relevant"), profile)
    result, adj = model.adjust(base, CALL, profile)
    assert 0 < adj.applied <= profile.config.feedback.max_points
    assert result.score > base.score
    assert "shortlisted on 3 March 2026" in result.reasons[-1]
    assert result.band == profile.band(result.score)


def test_feedback_never_lifts_a_call_restricted_elsewhere(profile: Profile) -> None:
    call = {**CALL, "text": CALL["text"] + " Only legal entities established in an EU Member "
            "State are eligible."}  # fmt: skip
    base = score_call(call, profile)
    assert base.eligible is False
    model = train(like_call(12, "shortlist") + filler(20, "not-relevant"), profile)
    result, adj = model.adjust(base, call, profile)
    assert adj.total > 0 and adj.applied == 0
    assert result.score == base.score
    assert adj.note == "never lifts a call restricted elsewhere"


def test_a_call_is_never_compared_with_its_own_verdict(profile: Profile) -> None:
    base = score_call(CALL, profile)
    own = like_call(1, "not-relevant", "own verdict")
    model = train(own + filler(30), profile)
    _, with_own = model.adjust(base, CALL, profile)
    _, without = model.adjust(base, CALL, profile, ref="c0")
    assert any(c.kind == "similar" for c in with_own.contributions)
    assert not any(c.kind == "similar" for c in without.contributions)


def test_switched_off_in_the_profile(profile: Profile) -> None:
    settings = profile.config.feedback.model_copy(update={"enabled": False})
    model = train(like_call(40, "not-relevant") + filler(40), profile, settings)
    base = score_call(CALL, profile)
    result, adj = model.adjust(base, CALL, profile)
    assert result == base and not adj.active and adj.note == "feedback switched off"


@pytest.mark.parametrize("strength", [1.0, 3.0, 30.0])
def test_priors_are_smoothed_one_verdict_moves_less_than_many(
    profile: Profile, strength: float
) -> None:
    settings = profile.config.feedback.model_copy(
        update={"prior_strength": strength, "similar_points": 0.0, "max_points": 50.0}
    )
    base = score_call(CALL, profile)
    one = train(like_call(1, "not-relevant") + filler(30), profile, settings)
    many = train(like_call(10, "not-relevant") + filler(30), profile, settings)
    _, a = one.adjust(base, CALL, profile)
    _, b = many.adjust(base, CALL, profile)
    assert b.total < a.total < 0
