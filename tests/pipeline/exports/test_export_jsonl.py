"""JSON Lines exports: calls, and verdicts in the `fundradar score` input shape."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from fundradar.pipeline.exports.jsonl import json_lines, verdict_lines
from fundradar.pipeline.exports.query import CallFilter
from fundradar.pipeline.models import Verdict
from tests.pipeline.exports.exports_factory import NOW, add_call, add_hostile

SCORE_INPUT = {"id", "title", "summary", "funder", "programme", "url", "language", "deadline",
               "opens", "budget", "eligibility"}  # fmt: skip


def test_one_object_per_call_with_iso_dates(session) -> None:  # type: ignore[no-untyped-def]
    a = add_call(session, 1, deadlines=[(NOW + timedelta(days=11)).isoformat()])
    add_call(session, 2, deadline=None)
    session.add(Verdict(call_id=a.id, verdict="shortlist", reason="apply", author="ana",
                        created_at=NOW))  # fmt: skip
    session.flush()
    lines = list(json_lines(session))
    assert len(lines) == 2 and all(line.endswith("\n") for line in lines)
    first, second = (json.loads(line) for line in lines)
    assert first["key"] == "eu_ft:TOPIC-0001"
    deadline = datetime.fromisoformat(first["deadline"])
    assert deadline == NOW + timedelta(days=11) and deadline.tzinfo is not None
    assert datetime.fromisoformat(first["first_seen"]).tzinfo is not None
    assert first["themes"] == ["climate_resilience"]
    assert first["verdict"] == {"verdict": "shortlist", "reason": "apply", "author": "ana",
                                "at": NOW.isoformat()}  # fmt: skip
    assert second["deadline"] is None and second["verdict"] is None


def test_hostile_call_url_dropped_and_controls_removed(session) -> None:  # type: ignore[no-untyped-def]
    add_hostile(session)
    (line,) = json_lines(session, CallFilter())
    obj = json.loads(line)
    assert obj["url"] is None
    assert "\x00" not in obj["summary"] and "\x07" not in obj["summary"]
    assert obj["title"].startswith("=HYPERLINK")  # JSON is data: the consumer escapes


def test_verdicts_in_score_input_shape(session) -> None:  # type: ignore[no-untyped-def]
    a = add_call(session, 1, budget_max=250000.0, currency="EUR", eligibility_text="OECS states")
    b = add_call(session, 2)
    add_call(session, 3)  # never judged: not exported
    session.add_all([
        Verdict(call_id=a.id, verdict="relevant", author="ana", created_at=NOW),
        Verdict(call_id=a.id, verdict="not-relevant", reason="EU only", author="ben",
                created_at=NOW + timedelta(hours=1)),
        Verdict(call_id=b.id, verdict="shortlist", reason="apply", author="ana", created_at=NOW),
    ])  # fmt: skip
    session.flush()
    objs = [json.loads(line) for line in verdict_lines(session)]
    # one line per judged call, in the order of their latest verdicts
    assert [o["id"] for o in objs] == ["eu_ft:TOPIC-0001", "eu_ft:TOPIC-0002"]
    for o in objs:
        assert set(o) >= SCORE_INPUT
    dismissed, shortlist = objs
    assert (shortlist["verdict"], shortlist["label"]) == ("shortlist", 3)
    assert (dismissed["verdict"], dismissed["label"], dismissed["reason"]) == (
        "not-relevant",
        0,
        "EU only",
    )  # the latest verdict wins
    assert dismissed["author"] == "ben"
    assert dismissed["budget"] == "EUR 250,000"
    assert dismissed["eligibility"] == "OECS states"
    assert dismissed["score"] == 70 and dismissed["band"] == "high"
