"""A call without a readable deadline is kept ("deadline not found — check the page"), counted
in the source's health, and closed when its listing drops it; through the real item pipeline
classes and through `fundradar import`.

The items are reconstructed — not captures: feed entries written like the ones of the issue
("Date limite" only inside a description the date reader does not see).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import scrapy
from sqlalchemy import select

from fundradar.cli import main
from fundradar.pipeline import db
from fundradar.pipeline.models import CallChange, CallRow, CrawlRun
from fundradar.pipeline.record import Call
from tests.pipeline_harness import run_pipelines

FEED = "https://feed.example.org/calls/"


class FeedSpider(scrapy.Spider):
    name = "feed_test"


def entries(*names: str) -> list[Call]:
    texts = {
        "dated": ("Blue economy grants 2027", ["30 April 2027"]),
        "undated": ("Coastal resilience small grants", []),
        "undated-2": ("Appel à projets économie circulaire", []),
    }
    return [
        Call(source="feed_test", url=FEED + name, title=texts[name][0],
             summary="Projects in the Eastern Caribbean. Deadline written in the text only.",
             deadline_texts=list(texts[name][1]))
        for name in names
    ]  # fmt: skip


def test_calls_without_deadline_are_stored_counted_and_closed_when_gone() -> None:
    first = run_pipelines(FeedSpider, entries("dated", "undated", "undated-2"))
    assert [c.url.removeprefix(FEED) for c in first.stored] == ["dated", "undated", "undated-2"]
    assert first.dropped == []
    assert first.stats["fundradar/no_deadline"] == 2
    assert first.stats["fundradar/stored/new"] == 3
    with db.session_scope() as s:
        rows = {r.url.removeprefix(FEED): r for r in s.scalars(select(CallRow))}
        assert rows["undated"].deadline is None and rows["undated"].deadline_kind == "not_found"
        assert rows["undated"].score is not None  # scored like any other call
        assert rows["dated"].deadline is not None and rows["dated"].deadline_kind != "not_found"
        run = s.get_one(CrawlRun, first.run_id)
        assert run.stats["fundradar/no_deadline"] == 2 and run.status == "ok"

    # the feed drops one undated entry: that call is closed (unlisted), never deleted
    second = run_pipelines(FeedSpider, entries("dated", "undated-2"))
    assert second.stats["fundradar/no_deadline"] == 1
    with db.session_scope() as s:
        gone = s.scalars(select(CallRow).where(CallRow.url == FEED + "undated")).one()
        assert gone.listed is False and gone.unlisted_at is not None
        change = s.scalars(select(CallChange).where(CallChange.call_id == gone.id)).one()
        assert (change.field, change.old_value, change.new_value, change.source) == (
            "listed", True, False, "feed_test",
        )  # fmt: skip
        kept = s.scalars(select(CallRow).where(CallRow.url == FEED + "undated-2")).one()
        assert kept.listed is True


def test_only_the_real_item_contract_refuses() -> None:
    bad = [
        Call(source="feed_test", url=FEED + "no-title", title="  ",
             summary="Some text", deadline_texts=["30 April 2027"]),
        Call(source="feed_test", url="ftp://feed.example.org/x", title="A call over FTP"),
    ]  # fmt: skip
    run = run_pipelines(FeedSpider, [*bad, *entries("undated")])
    assert [c.url for c in run.stored] == [FEED + "undated"]
    reasons = sorted(reason.split(": ", 1)[1] for _, reason in run.dropped)
    assert len(reasons) == 2 and not any("deadline" in r for r in reasons)


def test_fundradar_import_keeps_a_line_without_deadline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "calls.jsonl"
    line = {"title": "Youth employment window", "url": "https://funder.example.org/youth",
            "summary": "Open until filled, for the OECS member states."}  # fmt: skip
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["import", str(path)])
    assert exit_info.value.code == 0
    assert "line 1: new: Youth employment window" in capsys.readouterr().out
    with db.session_scope() as s:
        row = s.scalars(select(CallRow)).one()
        # "not_found" until the date reader knows "open until filled" (then "rolling")
        assert row.deadline is None and row.deadline_kind in ("not_found", "rolling")
        assert s.scalars(select(CrawlRun)).one().stats["fundradar/no_deadline"] == (
            1 if row.deadline_kind == "not_found" else 0
        )
