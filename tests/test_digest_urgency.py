"""The digest ordered by urgency (issue 12), received through a real SMTP server (aiosmtpd).

- A shortlisted call 6 days from its deadline used to sit at item 6 of 19 under "New" while
  the header said "0 closing within 14 days · 0 shortlist reminders": it now opens the digest,
  and the header counts what each section holds.
- Sixteen calls in all four sections fit in under 80 lines of text: four lines a call, one
  short link each (the call's page in the review app), no raw funder URL.
- The HTML part links each call to its review-app page and carries the three signed verdict
  links for this recipient; without a public address neither appears.

The calls are reconstructed — not captures.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from fundradar import tokens
from fundradar.alerts.compose import MailLinks, compose
from fundradar.alerts.render import render_html, render_text
from fundradar.alerts.send import send_digest
from fundradar.config.loader import load_sources
from fundradar.pipeline import db
from tests.digest_support import (
    SmtpServer,
    add_call,
    add_run,
    add_verdict,
    change_call,
    parts,
    recipients_config,
)

UTC = dt.UTC
MON = dt.datetime(2026, 11, 23, 11, 0, tzinfo=UTC)  # Monday 07:00 in Saint Lucia, week 48
WEEK = dt.timedelta(days=7)
DAY = dt.timedelta(days=1)
PUBLIC = "https://fundradar.oecs.example"
SECRET = "s3cret-key-for-signing-mail-links-0123456789"
OFFICER = "officer@oecs.example"
SECTION = re.compile(r"^== (.+) \((\d+)\) ==$")
BLOCK = re.compile(r"^(\d+)\. ")


def _all_checked(at: dt.datetime) -> None:
    """Every configured source crawled fine before `at`: no health lead in the mail."""
    for source in load_sources().sources:
        add_run(source.id, at=at - dt.timedelta(hours=6))


def _smtp_env(monkeypatch: pytest.MonkeyPatch, server: SmtpServer) -> None:
    monkeypatch.setenv("FUNDRADAR_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("FUNDRADAR_SMTP_PORT", str(server.port))
    monkeypatch.setenv("FUNDRADAR_SMTP_SECURITY", "none")
    monkeypatch.setenv("FUNDRADAR_SMTP_TIMEOUT", "5")


def _links_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUNDRADAR_PUBLIC_URL", PUBLIC)
    monkeypatch.setenv("FUNDRADAR_SECRET_KEY", SECRET)


def _receive(monkeypatch: pytest.MonkeyPatch, now: dt.datetime, **digest: object) -> str:
    """Send this week's digest to one officer through aiosmtpd; the text part received."""
    config = recipients_config([{"email": OFFICER}], **digest)
    with SmtpServer() as server:
        _smtp_env(monkeypatch, server)
        report = send_digest(now=now, config=config)
    assert report.ok and report.count("sent") == 1, report
    [got] = server.received
    text, html = parts(got.message)
    _receive.html = html  # type: ignore[attr-defined]
    return text


def _sections(text: str) -> list[tuple[str, int, list[list[str]]]]:
    """(title, count in the heading, call blocks as lines) of every section of a text part."""
    out: list[tuple[str, int, list[list[str]]]] = []
    for line in text.splitlines():
        m = SECTION.match(line)
        if m:
            out.append((m[1], int(m[2]), []))
        elif out and BLOCK.match(line):
            out[-1][2].append([line])
        elif out and out[-1][2] and line.startswith("   "):
            out[-1][2][-1].append(line)
        elif not line.strip() and out:
            out.append(("", 0, []))  # a blank line ends a section's blocks
    return [s for s in out if s[0]]


def test_issue_12_shortlisted_call_6_days_out_opens_the_digest_and_the_header_agrees(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the issue's week: 19 new relevant calls; the shortlisted one scores 6th of them
    for i in range(18):
        add_call(title=f"Relevant call {i + 1}", score=95 - i * 2, deadline=MON + (40 + i) * DAY)
    urgent = add_call(title="Shortlisted: Caribbean resilience fund", score=86,
                      deadline=MON + 6 * DAY, funder="CDB")  # fmt: skip
    add_verdict(urgent, "shortlist")
    _all_checked(MON)
    text = _receive(monkeypatch, MON)
    lines = text.splitlines()
    assert lines[1] == (
        "1 closing within 14 days · 18 new and relevant · 0 updated · 0 shortlist reminders"
    )
    sections = _sections(text)
    assert [(title, n) for title, n, _ in sections] == [
        ("CLOSING WITHIN 14 DAYS", 1), ("NEW AND RELEVANT", 18),
    ]  # fmt: skip
    closing = sections[0][2]
    assert closing[0][0] == "1. Shortlisted: Caribbean resilience fund [shortlisted]"
    assert "(6 days left)" in closing[0][1]
    # shown once, in its most urgent section: not also under New
    assert text.count("Shortlisted: Caribbean resilience fund") == 1
    for title, n, blocks in sections:
        assert len(blocks) == n, title  # the heading's count is what the section holds
    assert _receive.html.count("Shortlisted: Caribbean resilience fund") == 1  # type: ignore[attr-defined]


def test_closing_soon_comes_first_shortlisted_then_by_deadline() -> None:
    config = recipients_config([{"email": OFFICER}])
    far = add_call(title="Far", deadline=MON + 50 * DAY, score=99)
    late = add_call(title="Closing in 12 days", deadline=MON + 12 * DAY, score=95)
    soon = add_call(title="Closing in 4 days", deadline=MON + 4 * DAY, score=60, band="medium")
    short = add_call(title="Shortlisted, 10 days", deadline=MON + 10 * DAY, score=40, band="low")
    add_verdict(short, "shortlist")  # below the recipient's band, but the team follows it
    with db.session_scope() as s:
        model = compose(s, config.recipients[0], config, now=MON, sources=[],
                        links=MailLinks())  # fmt: skip
    assert [s.key for s in model.sections] == ["closing", "new"]
    assert [c.id for c in model.sections[0].items] == [short, soon, late]
    assert [c.id for c in model.sections[1].items] == [far]
    assert model.counts == {"closing": 3, "new": 1, "updated": 0, "reminders": 0}
    # the subject counts the new relevant ones wherever they are shown (the shortlisted one
    # is below the recipient's band: not news to them)
    assert model.fresh == 3
    assert model.subject.endswith(": 3 new relevant calls")


def _sixteen_calls_in_four_sections() -> None:
    """Last week's digest carried four calls; this week: 3 closing, 9 new, 3 updated and one
    shortlist reminder."""
    last = MON - WEEK
    shortlisted = add_call(title="Shortlisted: OECS ocean observatory", deadline=MON + 2 * DAY,
                           now=last, score=70)  # fmt: skip
    add_verdict(shortlisted, "shortlist")
    updated = [add_call(title=f"Updated call {i}", deadline=MON + 60 * DAY, now=last,
                        score=80 - i) for i in range(3)]  # fmt: skip
    _all_checked(last)
    config = recipients_config([{"email": OFFICER}])
    assert send_digest(now=last, config=config).ok  # the outbox: carried last week
    for i, call in enumerate(updated):
        change_call(call, at=MON - 2 * DAY, deadline=MON + (70 + i) * DAY)
    for i in range(3):
        add_call(title=f"Closing call {i}", deadline=MON + (5 + i) * DAY, score=75,
                 url=f"https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/"
                 f"opportunities/topic-details/HORIZON-CL6-2027-CLOSING-{i:02d}")  # fmt: skip
    for i in range(9):
        add_call(title=f"Horizon Europe: blue economy topic {i} in Small Island Developing "
                 "States", funder="European Commission", score=90 - i,
                 deadline=MON + (30 + i) * DAY,
                 url=f"https://ec.europa.eu/info/funding-tenders/opportunities/portal/screen/"
                 f"opportunities/topic-details/HORIZON-CL6-2027-FARM2FORK-01-{i:02d}",
                 reasons=["Open to OECS member states (third countries associated)",
                          "Theme: blue economy, ocean governance",
                          "Names Small Island Developing States"])  # fmt: skip
    _all_checked(MON)


def test_sixteen_calls_in_under_80_lines_with_short_links_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _sixteen_calls_in_four_sections()
    _links_env(monkeypatch)
    text = _receive(monkeypatch, MON)
    html: str = _receive.html  # type: ignore[attr-defined]
    lines = text.splitlines()
    assert len(lines) < 80, len(lines)
    sections = _sections(text)
    assert [(t, n) for t, n, _ in sections] == [
        ("CLOSING WITHIN 14 DAYS", 3), ("NEW AND RELEVANT", 9), ("UPDATED", 3),
        ("SHORTLIST REMINDERS", 1),
    ]  # fmt: skip
    assert lines[1] == (
        "3 closing within 14 days · 9 new and relevant · 3 updated · 1 shortlist reminder"
    )
    blocks = [b for _, _, bs in sections for b in bs]
    assert len(blocks) == 16
    for block in blocks:
        assert len(block) <= 4, block
        # the last line is the call's page in the review app: short, never the funder's URL
        assert re.fullmatch(rf"   {re.escape(PUBLIC)}/calls/\d+", block[-1]), block
    urls = re.findall(r"https?://\S+", text)
    # the footer's two signed links (edit, unsubscribe) are long by nature; every other is short
    footer = [u for u in urls if f"{PUBLIC}/subscription/" in u or f"{PUBLIC}/unsubscribe/" in u]
    assert len(footer) == 2 and text.rstrip().endswith(footer[-1])
    body = [u for u in urls if u not in footer]
    assert body and all(len(u) <= 45 for u in body), max(body, key=len)
    assert "ec.europa.eu" not in text and "/mail/verdict/" not in text
    assert "deadline moved from" in text  # an updated call says what changed, in its block
    assert text.count("sources checked.") == 1 and "SOURCE HEALTH" not in text  # one line
    # the HTML: each call's title links to its review page, and three signed verdict links
    assert len(re.findall(rf'href="{re.escape(PUBLIC)}/calls/\d+"', html)) == 16
    verdicts = re.findall(rf'href="{re.escape(PUBLIC)}/mail/verdict/([^"]+)"', html)
    payloads = [tokens.verify(SECRET, "verdict", tok) for tok in verdicts]
    assert {p["email"] for p in payloads} == {OFFICER}
    offered: dict[int, list[str]] = {}
    for p in payloads:
        offered.setdefault(p["call"], []).append(p["verdict"])
    assert len(offered) == 16
    # three per call, less the verdict it already has: the shortlisted one is not offered
    # "shortlist" again
    both = ["relevant", "not-relevant", "shortlist"]
    assert sorted(map(tuple, offered.values())) == sorted(
        [tuple(both)] * 15 + [("relevant", "not-relevant")]
    )


def test_without_a_public_address_no_review_or_verdict_links() -> None:
    add_call(title="Ocean call", url="https://funder.example.org/ocean")
    config = recipients_config([{"email": OFFICER}])
    with db.session_scope() as s:
        model = compose(s, config.recipients[0], config, now=MON, sources=[])  # environment
    html, text = render_html(model), render_text(model)
    assert "/mail/verdict/" not in html and "/calls/" not in html
    assert "   https://funder.example.org/ocean" in text.splitlines()
    assert 'href="https://funder.example.org/ocean"' in html
    # a public address without a key gives review-page links but no verdict links
    with db.session_scope() as s:
        model = compose(s, config.recipients[0], config, now=MON, sources=[],
                        links=MailLinks(PUBLIC, None))  # fmt: skip
    html = render_html(model)
    assert f'href="{PUBLIC}/calls/' in html and "/mail/verdict/" not in html
    assert 'href="https://funder.example.org/ocean"' in html  # still there: "Funder's page"


def test_unsubscribe_and_manage_links_in_the_footer_of_both_parts() -> None:
    add_call(title="Ocean call")
    config = recipients_config([{"email": OFFICER, "language": "fr"}])
    with db.session_scope() as s:
        model = compose(s, config.recipients[0], config, now=MON, sources=[],
                        links=MailLinks())  # fmt: skip
    assert "Se désabonner" not in render_text(model) + render_html(model)
    model.unsubscribe_url = f"{PUBLIC}/unsubscribe/abc?x=1&y=2"
    model.manage_url = f"{PUBLIC}/subscription/def"
    text, html = render_text(model), render_html(model)
    assert text.splitlines()[-2:] == [
        f"Modifier ce que vous recevez: {PUBLIC}/subscription/def",
        f"Se désabonner: {PUBLIC}/unsubscribe/abc?x=1&y=2",
    ]
    assert f'href="{PUBLIC}/unsubscribe/abc?x=1&amp;y=2"' in html and ">Se désabonner</a>" in html
    assert f'href="{PUBLIC}/subscription/def"' in html


def test_sixteen_calls_with_footer_links_still_under_80_lines() -> None:
    _sixteen_calls_in_four_sections()
    config = recipients_config([{"email": OFFICER}])
    with db.session_scope() as s:
        model = compose(s, config.recipients[0], config, now=MON, sources=[("eu_ft", "EC")],
                        links=MailLinks(PUBLIC, SECRET))  # fmt: skip
    model.unsubscribe_url = f"{PUBLIC}/unsubscribe/" + "t" * 120
    model.manage_url = f"{PUBLIC}/subscription/" + "t" * 120
    assert [s.key for s in model.sections] == ["closing", "new", "updated", "reminders"]
    assert len(render_text(model).splitlines()) < 80


def test_a_changed_call_now_closing_is_shown_once_under_closing_with_what_changed() -> None:
    config = recipients_config([{"email": OFFICER}])
    call = add_call(title="Moved forward", deadline=MON + 40 * DAY, now=MON - WEEK)
    assert send_digest(now=MON - WEEK, config=config).ok  # carried as new last week
    change_call(call, at=MON - 2 * DAY, deadline=MON + 8 * DAY)  # the funder brought it forward
    closed = add_call(title="Shortlisted, closed early", deadline=MON + 2 * DAY)
    add_verdict(closed, "shortlist")
    change_call(closed, at=MON - DAY, status="closed")
    with db.session_scope() as s:
        model = compose(s, config.recipients[0], config, now=MON, sources=[],
                        links=MailLinks())  # fmt: skip
    assert [s.key for s in model.sections] == ["closing"]
    [item] = model.sections[0].items
    assert item.id == call and item.changes and "deadline moved" in item.changes[0]
    assert model.counts == {"closing": 1, "new": 0, "updated": 0, "reminders": 0}
    assert model.fresh == 0  # sent before: not new
    text = render_text(model)
    assert text.count("Moved forward") == 1 and "Changed: deadline moved" in text
    assert "Shortlisted, closed early" not in text  # closed: no reminder


def test_internal_deadlines_of_open_applications_are_reminded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An application being prepared whose internal deadline (10 days before the funder's) is
    5 days away is reminded under its own heading, with its page in the review app; an
    awarded one is not; a hostile title is escaped in the HTML part."""
    from fundradar.pipeline.partnerships import applications

    _all_checked(MON)
    _links_env(monkeypatch)
    soon = add_call(title="Blue <b>economy</b> fund", deadline=MON + 15 * DAY, band="high",
                    score=90, first_seen=MON - 30 * DAY)  # fmt: skip
    done = add_call(title="Awarded already", deadline=MON + 16 * DAY, band="high", score=88,
                    first_seen=MON - 30 * DAY)  # fmt: skip
    for cid in (soon, done):
        add_verdict(cid, "shortlist")
    with db.session_scope() as s:
        prepared = applications.create_from_call(s, soon, author="tester", owner="Marie",
                                                 now=MON - 2 * DAY)  # fmt: skip
        applications.move(s, prepared.id, "preparing", author="tester", now=MON - DAY)
        awarded = applications.create_from_call(s, done, author="tester", now=MON - 2 * DAY)
        for stage in ("preparing", "submitted", "awarded"):
            applications.move(s, awarded.id, stage, author="tester", now=MON - DAY)
        prepared_id = prepared.id
    text = _receive(monkeypatch, MON)
    heading = next(line for line in text.splitlines() if "INTERNAL DEADLINES" in line)
    assert heading == "== OUR APPLICATIONS: INTERNAL DEADLINES (1) =="
    block = text.split(heading, 1)[1]
    assert "Blue <b>economy</b> fund (preparing)" in block
    assert "internal deadline" in block and "5 days left" in block and "owner: Marie" in block
    assert f"{PUBLIC}/applications/{prepared_id}" in block
    assert "Awarded already (" not in block
    html = _receive.html  # type: ignore[attr-defined]
    assert "Blue &lt;b&gt;economy&lt;/b&gt; fund" in html and "<b>economy</b>" not in html
