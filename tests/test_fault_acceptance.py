"""Issue 17's acceptance, end to end: a week with three sources down is never a quiet week.

The real path a Monday takes: `fundradar.crawling.crawl` (Scrapy in child processes, real HTTP
on 127.0.0.1 to `tests/fault_server.py`, real SQLite), then `alerts.send.send_digest` over SMTP
to a real aiosmtpd server (`tests/smtp_fault_server.py`, no fault switched on). Only the
sources of the test are enabled, config-only HTML sources as in tests/test_run_verdicts.py;
their pages are reconstructed — not captures.

1. Six sources: one unreachable (a closed port), one answering 503, one whose markup changed
   (its page is read, no call found), three fine. The fine sources' calls are stored and
   mailed; the subject and the first lines of both parts name the three and their causes.
2. Every source unreachable: the short "could not reach any funder" mail, not a digest.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from fundradar.alerts.send import send_digest
from fundradar.crawling import crawl
from fundradar.pipeline import db
from fundradar.pipeline.models import CallRow
from tests.digest_support import parse, parts, recipients_config
from tests.smtp_fault_server import FaultySmtpServer, point_env_at
from tests.test_digest_health import QUIET_WORDS, _visible
from tests.test_run_verdicts import REDESIGNED, by_source, html_source, listing, use_sources

from .fault_server import Fail, FaultServer, Page, closed_port

OFFICER = "officer@oecs.example"

CAUSES = {
    "Agence Injoignable": "site unreachable",
    "Fonds Indisponible": "error 503",
    "Programme Redessiné": "no calls found, the site may have changed",
}


def only_these(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
               sources: list[dict[str, Any]]) -> None:  # fmt: skip
    """The packaged config with its own sources disabled and `sources` added: the digest's
    "N of M sources" then counts exactly the sources of the test."""
    folder = use_sources(tmp_path, monkeypatch, sources)
    path = folder / "sources.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    ours = {s["id"] for s in sources}
    for source in data["sources"]:
        source["enabled"] = source["id"] in ours
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")


def named(sid: str, funder: str, url: str) -> dict[str, Any]:
    source = html_source(sid, url)
    source["funder"] = funder
    return source


def stored_titles() -> dict[str, list[str]]:
    with db.session_scope() as s:
        out: dict[str, list[str]] = {}
        for source, title in s.execute(select(CallRow.source, CallRow.title)):
            out.setdefault(source, []).append(title)
        return {k: sorted(v) for k, v in out.items()}


def test_three_sources_down_the_others_are_stored_and_mailed_and_the_three_named_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault_server: FaultServer
) -> None:
    fs = fault_server
    dead = closed_port()
    fs.route("/down", Fail(503))
    fs.route("/redesign", Page(REDESIGNED))
    fs.route("/ocean", Page(listing("Ocean", 3, first=1)))
    fs.route("/youth", Page(listing("Youth", 2, first=3)))
    fs.route("/energy", Page(listing("Energy", 3, first=5)))
    only_these(tmp_path, monkeypatch, [
        named("acc_dead", "Agence Injoignable", f"http://127.0.0.1:{dead}/calls"),
        named("acc_down", "Fonds Indisponible", fs.url("/down")),
        named("acc_redesign", "Programme Redessiné", fs.url("/redesign")),
        named("acc_ocean", "Ocean Fund", fs.url("/ocean")),
        named("acc_youth", "Youth Fund", fs.url("/youth")),
        named("acc_energy", "Energy Fund", fs.url("/energy")),
    ])  # fmt: skip

    got = by_source(crawl([]))  # every enabled source, as `fundradar crawl` does

    assert {k: v.status for k, v in got.items()} == {
        "acc_dead": "unreachable", "acc_down": "http-error", "acc_redesign": "empty",
        "acc_ocean": "ok", "acc_youth": "ok", "acc_energy": "ok",
    }  # fmt: skip
    titles = stored_titles()
    assert {k: len(v) for k, v in titles.items()} == {"acc_ocean": 3, "acc_youth": 2,
                                                      "acc_energy": 3}  # fmt: skip
    good = [t for ts in titles.values() for t in ts]

    config = recipients_config([{"email": OFFICER, "min_band": "none"}])
    with FaultySmtpServer() as server:  # a real aiosmtpd, no fault switched on
        point_env_at(monkeypatch, server)
        report = send_digest(now=datetime.now(UTC), config=config)
        again = send_digest(now=datetime.now(UTC), config=config)  # the same week: nothing
    assert report.ok and report.count("sent") == 1, report.results
    assert again.count("skipped") == 1 and server.duplicates() == []
    [mail] = server.received
    assert mail.recipient == OFFICER
    msg = parse(mail.content)
    subject = str(msg["Subject"])
    assert "3 of 6 sources could not be checked" in subject, subject
    assert f"{len(good)} new relevant calls" in subject, subject

    text, html = parts(msg)
    first = text.splitlines()[0]
    assert first.startswith("!! 3 of 6 sources could not be checked this week ("), first
    seen = _visible(html)
    assert seen.startswith("⚠ 3 of 6 sources could not be checked this week ("), seen[:300]
    html_first = seen[: seen.index("Calls from them may be missing.")]
    for name, cause in CAUSES.items():
        assert f"{name}: {cause}" in first, first
        assert f"{name}: {cause}" in html_first, html_first
    # the good sources' calls are all mailed, after the warning; no "quiet week" anywhere
    for part in (text, seen):
        for title in good:
            assert title in part, title
            assert part.index("could not be checked") < part.index(title)
        for words in QUIET_WORDS:
            assert words not in part
    for name in ("Ocean Fund", "Youth Fund", "Energy Fund"):
        assert name not in first  # a source that worked is not in the warning


def test_every_source_unreachable_gets_the_short_could_not_reach_mail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    only_these(tmp_path, monkeypatch, [
        named(f"acc_gone{n}", f"Funder {n}", f"http://127.0.0.1:{closed_port()}/calls")
        for n in range(3)
    ])  # fmt: skip
    got = crawl([])
    assert sorted(s.status for s in got) == ["unreachable"] * 3
    assert stored_titles() == {}

    config = recipients_config([{"email": OFFICER, "min_band": "none"}])
    with FaultySmtpServer() as server:
        point_env_at(monkeypatch, server)
        report = send_digest(now=datetime.now(UTC), config=config)
    assert report.ok and report.count("sent") == 1, report.results
    [mail] = server.received
    assert mail.recipient == OFFICER
    assert mail.subject.endswith(": could not reach any funder this week"), mail.subject
    text, html = parts(parse(mail.content))
    seen = _visible(html)
    for part in (text, seen):
        assert "fundradar could not reach any funder this week" in part
        assert "this does not mean there were no new calls" in part
        for n in range(3):
            assert f"Funder {n}: site unreachable" in part
        for words in QUIET_WORDS:
            assert words not in part
        # not a digest: no call sections, no week's listing
        assert "New and relevant" not in part and "NEW AND RELEVANT" not in part
