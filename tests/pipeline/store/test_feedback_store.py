"""The team's verdicts move the stored scores (issue 14): bounded, with their reason in the
call's reasons, and not at all before enough verdicts (priorities.yaml `feedback:`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fundradar.pipeline.record import Call
from fundradar.pipeline.review import record_verdict
from fundradar.pipeline.score import load_profile, score_call
from fundradar.pipeline.store.merge import rebuild, scoring_call
from fundradar.pipeline.store.upsert import pages_of, upsert

NOW = datetime(2027, 1, 4, 12, tzinfo=UTC)
TOPICS = ["coral reefs", "fisheries", "mangroves", "coastal erosion", "sargassum", "seagrass",
          "marine parks", "blue economy", "ocean literacy", "port waste", "turtle nesting",
          "reef monitoring", "beach profiles", "storm surge", "lobster stocks", "dive tourism",
          "whale watching", "marine spatial planning", "oil spill response", "sea moss farming",
          "ballast water", "tide gauges"]  # fmt: skip


def _call(n: int, topic: str, funder: str = "Fondation Exemple") -> Call:
    return Call(
        source="karib_horizon", url=f"https://example.org/calls/{n}",
        title=f"Grants for {topic} projects in the Eastern Caribbean",
        summary=f"Support to civil society groups in Saint Lucia and Grenada working on {topic}.",
        funder=funder, language="en",
        deadline=NOW + timedelta(days=40 + n), deadline_kind="date",
    )  # fmt: skip


def _judge(session, count: int) -> None:  # type: ignore[no-untyped-def]
    """`count` verdicts: the team keeps one funder's calls and dismisses the other's."""
    for n, topic in enumerate(TOPICS[:count]):
        if n % 2:
            stored = upsert(session, _call(n, topic), now=NOW)
            record_verdict(session, stored.row, "not-relevant", author="officer",
                           reason="only for registered charities in France")  # fmt: skip
        else:
            stored = upsert(session, _call(n, topic, "Caribbean Sea Fund"), now=NOW)
            record_verdict(session, stored.row, "relevant", author="officer")
    session.flush()


def _rules_only(row):  # type: ignore[no-untyped-def]
    pages = pages_of(row)
    return score_call(scoring_call(rebuild(pages, NOW), pages), load_profile())


def test_enough_verdicts_move_a_new_call_with_a_reason_and_within_the_bound(session) -> None:  # type: ignore[no-untyped-def]
    _judge(session, len(TOPICS))  # 22 verdicts, above the default minimum of 20
    stored = upsert(session, _call(99, "coral nurseries"), now=NOW)
    row = stored.row
    rules = _rules_only(row)
    bound = load_profile().config.feedback.max_points
    assert row.score < rules.score  # this funder's calls were all dismissed
    assert rules.score - row.score <= bound
    assert any(r.startswith("Past verdicts") for r in row.reasons), row.reasons
    assert not any(r.startswith("Past verdicts") for r in rules.reasons)


def test_no_adjustment_before_enough_verdicts(session) -> None:  # type: ignore[no-untyped-def]
    _judge(session, 5)
    row = upsert(session, _call(99, "coral nurseries"), now=NOW).row
    rules = _rules_only(row)
    assert (row.score, row.reasons) == (rules.score, list(rules.reasons))
