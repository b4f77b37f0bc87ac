"""The digest never reads as a quiet week when it is not one (issue 17, item 2).

Crawl runs are written straight into the test database, one per source, the way the crawler
stores them: a status and either the crawler's own `cause` (officer's words) or, for runs of an
older crawler, only a technical `message`. The sources are the thirteen enabled ones of the
bundled config/sources.yaml, named as a reader knows them (their `funder`).

What is checked is what a reader meets first: the subject, the first lines of the text part and
the first visible text of the HTML part, and that the calls from the sources that worked are
still there.
"""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from fundradar.alerts.compose import DigestModel, compose, health_sentence
from fundradar.alerts.render import render_html, render_text
from fundradar.alerts.send import send_digest
from fundradar.config.loader import load_sources
from fundradar.pipeline import db
from fundradar.pipeline.models import CrawlRun, Delivery, Meta
from tests.digest_support import add_call, parse, parts, recipients_config

UTC = dt.UTC
MON = dt.datetime(2026, 11, 23, 11, 0, tzinfo=UTC)  # Monday 07:00 in Saint Lucia, week 48
CRAWL = MON - dt.timedelta(hours=2)  # the Monday 05:00 crawl

QUIET_WORDS = ("A quiet week", "quiet week", "no new relevant calls", "Semaine calme",
               "aucun nouvel appel pertinent")  # fmt: skip


def _enabled() -> list[tuple[str, str]]:
    return [(s.id, s.funder) for s in load_sources().sources if s.enabled]


def _funder(source: str) -> str:
    return dict(_enabled())[source]


def _run(
    source: str,
    status: str = "ok",
    *,
    at: dt.datetime = CRAWL,
    seen: int = 10,
    message: str | None = None,
    cause: str | None = None,
    sample: bool = False,
) -> None:
    """One crawl run as the crawler stores it; `cause` only where the column exists."""
    with db.session_scope() as s:
        run = CrawlRun(source=source, started_at=at, finished_at=at + dt.timedelta(minutes=3),
                       status=status, items_seen=seen, message=message, sample=sample)  # fmt: skip
        if cause is not None and hasattr(CrawlRun, "cause"):
            run.cause = cause  # type: ignore[attr-defined]
        s.add(run)


def _all_ok(except_: tuple[str, ...] = (), *, at: dt.datetime = CRAWL) -> None:
    for source, _ in _enabled():
        if source not in except_:
            _run(source, at=at)


def _model(lang: str = "en", now: dt.datetime = MON) -> DigestModel:
    config = recipients_config([{"email": "officer@oecs.example", "language": lang}])
    with db.session_scope() as s:
        return compose(s, config.recipients[0], config, now=now)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        style = dict(attrs).get("style") or ""
        if self._hidden or "display:none" in style or tag == "title":
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.chunks.append(data)


def _visible(html: str) -> str:
    """What a reader sees of the HTML, in order (the hidden preheader and <title> left out)."""
    p = _Text()
    p.feed(html)
    return " ".join("".join(p.chunks).replace("\xa0", " ").split())


def _three_down() -> None:
    """AFD unreachable, ANR answering 503, Interreg Caraïbes read but empty; ten fine."""
    _all_ok(except_=("afd", "anr", "interreg_caraibes"))
    _run(
        "afd",
        "unreachable",
        seen=0,
        cause="site unreachable",
        message="DNSLookupError: DNS lookup failed: no results for hostname lookup www.afd.fr",
    )
    _run(
        "anr",
        "http-error",
        seen=0,
        cause="error 503",
        message="HTTP 503 on https://anr.fr/fr/appels/ after 3 retries",
    )
    _run("interreg_caraibes", "empty", seen=0,
         cause="no calls found, the site may have changed",
         message="3 pages read, 0 calls: selectors may need repair")  # fmt: skip


def test_three_sources_down_subject_and_first_lines_name_them_with_causes() -> None:
    _three_down()
    kept = add_call(title="Blue economy in small island states", source="eu_ft", band="high")
    also = add_call(title="Youth and digital skills", source="expertise_france", band="medium",
                    score=60, funder="Expertise France")  # fmt: skip
    model = _model()
    assert {h.source for h in model.troubled} == {"afd", "anr", "interreg_caraibes"}
    assert model.subject == (
        "fundradar week 48: 3 of 13 sources could not be checked — 2 new relevant calls"
    )
    html, text = render_html(model), render_text(model)
    afd, anr, interreg = _funder("afd"), _funder("anr"), _funder("interreg_caraibes")
    first = text.splitlines()[0]
    assert first.startswith("!! 3 of 13 sources could not be checked this week (")
    for name, cause in ((afd, "site unreachable"), (anr, "error 503"),
                        (interreg, "no calls found, the site may have changed")):  # fmt: skip
        assert f"{name}: {cause}" in first
    assert first.endswith("Calls from them may be missing.")
    seen = _visible(html)
    assert seen.startswith("⚠ 3 of 13 sources could not be checked this week (")
    assert f"{afd}: site unreachable" in seen[:600] and f"{anr}: error 503" in seen[:600]
    # the warning comes before any call, and the calls from the sources that worked are there
    for part in (text, seen):
        assert part.index("could not be checked") < part.index("Blue economy in small island")
        assert "Youth and digital skills" in part
    assert [c for c, *_ in model.carried] == [kept, also]
    for words in QUIET_WORDS:
        assert words not in text and words not in seen and words not in model.subject
    # the health section lists only what is wrong, with since when, and one line for the rest
    health = text[text.index("== SOURCE HEALTH ==") :]
    assert "[!!]" in health and health.count("[!!]") == 3
    assert f"[!!] {afd}: site unreachable\n     unreachable since 23 Nov · " in health
    assert f"[!!] {anr}: error 503\n     site error since 23 Nov · " in health
    assert "details: HTTP 503 on https://anr.fr/fr/appels/ after 3 retries" in health
    assert "[ok] The other 10 sources were checked." in health
    assert "European Commission" not in health  # an ok source is not listed


def test_french_recipient_gets_the_warning_in_french() -> None:
    _three_down()
    add_call(title="Blue economy in small island states")
    model = _model("fr")
    assert model.subject == (
        "fundradar semaine 48 : 3 sources sur 13 n'ont pas pu être vérifiées "
        "— 1 nouvel appel pertinent"
    )
    first = render_text(model).splitlines()[0]
    assert first.startswith("!! 3 sources sur 13 n'ont pas pu être vérifiées cette semaine (")
    assert f"{_funder('afd')} : site injoignable" in first
    assert f"{_funder('anr')} : erreur 503" in first
    assert "aucun appel trouvé, le site a peut-être changé" in first
    assert first.endswith("Des appels de ces sources peuvent manquer.")


def test_a_week_with_nothing_new_and_a_source_down_is_not_called_quiet() -> None:
    _all_ok(except_=("anr",))
    _run("anr", "http-error", seen=0, cause="error 503")
    model = _model()
    assert model.quiet and not model.outage
    assert model.subject == (
        "fundradar week 48: 1 of 13 sources could not be checked — nothing new from the other 12"
    )
    text, seen = render_text(model), _visible(render_html(model))
    for words in QUIET_WORDS:
        assert words not in text and words not in seen
    assert "Nothing new from the 12 sources that were checked." in text
    assert "Nothing new from the 12 sources that were checked." in seen


def test_no_run_since_the_last_digest_counts_as_not_checked() -> None:
    config = recipients_config([{"email": "officer@oecs.example"}])
    _all_ok(at=MON - dt.timedelta(days=7, hours=2))  # last week's crawl
    send_digest(now=MON - dt.timedelta(days=7), config=config)  # last week's digest
    _all_ok(except_=("ird",))  # this week, IRD was not crawled at all
    model = _model()
    [ird] = model.troubled
    assert ird.source == "ird" and ird.status is None
    assert ird.cause == "not checked since the last digest"
    assert ird.verdict == "not checked"
    assert ird.last_ok == "Mon 16 Nov 2026, 05:03 AST"  # last week's run, still shown
    assert f"{_funder('ird')}: not checked since the last digest" in model.leads[0].text


def test_runs_count_from_when_the_last_digest_was_sent() -> None:
    config = recipients_config([{"email": "officer@oecs.example"}])
    last_monday = MON - dt.timedelta(days=7)
    _all_ok(at=last_monday - dt.timedelta(hours=2))
    send_digest(now=last_monday, config=config)
    with db.session_scope() as s:  # sent last Monday 07:00 in Saint Lucia
        for d in s.scalars(select(Delivery)):
            d.sent_at = last_monday
    # a crawl on Sunday, after last week's digest and before this week began, counts...
    _all_ok(except_=("auf",), at=MON - dt.timedelta(days=1))
    # ...one that ran before last week's digest was sent does not
    _run("auf", at=last_monday - dt.timedelta(hours=1))
    model = _model()
    assert [h.source for h in model.troubled] == ["auf"]
    assert model.troubled[0].cause == "not checked since the last digest"


def test_old_runs_without_a_cause_get_officers_words_from_status_and_message() -> None:
    # runs stored before the crawler wrote causes: words from the status and the message
    assert health_sentence("failed", None, "HTTP 503 on https://x.example/appels") == "error 503"
    assert health_sentence("failed", None, "DNS lookup failed: www.afd.fr") == "site unreachable"
    assert health_sentence("failed", None, "KeyError: 'title'") == "the crawl stopped with an error"
    assert health_sentence("empty", None, "0 items") == "no calls found, the site may have changed"
    assert health_sentence("blocked", None, "robots.txt forbids /appels") == (
        "blocked by robots.txt"
    )
    assert health_sentence("blocked", None, "HTTP 429, Retry-After 3600") == (
        "the site refused access (error 429)"
    )
    assert health_sentence("http-error", None, "status 404 on the listing") == "error 404"
    assert health_sentence("degraded", None, "6 calls, usually 40") == "far fewer calls than usual"
    assert health_sentence("degraded", None, "3 fields lost") == (
        "some details are missing from its calls"
    )
    assert health_sentence("running", None, None) == "the crawl did not finish"
    assert health_sentence("interrupted", None, "stopped by SIGTERM") == "the crawl did not finish"
    assert health_sentence(None, None, None) == "not checked since the last digest"
    # the crawler's own words win, cleaned to one line, and known ones are translated
    assert health_sentence("unreachable", "site\nunreachable ", "timeout") == "site unreachable"
    assert health_sentence("http-error", "error 502", None, lang="fr") == "erreur 502"
    assert health_sentence("blocked", None, "HTTP 403", lang="fr") == (
        "le site a refusé l'accès (erreur 403)"
    )


def test_every_source_unreachable_sends_the_short_could_not_reach_mail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for source, _ in _enabled():
        _run(source, "unreachable", seen=0, cause="site unreachable",
             message=f"DNSLookupError: DNS lookup failed for {source}")  # fmt: skip
    config = recipients_config([{"email": "officer@oecs.example"}])
    report = send_digest(now=MON, config=config)  # no SMTP host: the outbox
    assert report.ok and report.count("sent") == 1
    [eml] = list((db_home() / "outbox").glob("*.eml"))
    msg = parse(eml.read_bytes())
    assert msg["Subject"] == "fundradar week 48: could not reach any funder this week"
    text, html = parts(msg)
    lines = text.splitlines()
    assert lines[1] == "fundradar could not reach any funder this week (23–29 Nov 2026)"
    assert "None of the 13 sources gave any calls this week" in text
    for _source, funder in _enabled():  # every source, with its cause
        assert f"- {funder}: site unreachable (since 23 Nov)" in lines
    assert "== WHAT TO CHECK ==" in text and "fundradar sources check --live" in text
    for absent in ("NEW AND RELEVANT", "SOURCE HEALTH", "new and relevant", *QUIET_WORDS):
        assert absent not in text and absent not in _visible(html)
    seen = _visible(html)
    assert "fundradar could not reach any funder this week" in seen[:80]
    assert "What to check" in seen and "fundradar sources check --live" in seen
    assert len(lines) < 40


def db_home():  # type: ignore[no-untyped-def]
    from fundradar import settings

    return settings.load().home


def test_no_source_ok_but_calls_to_tell_is_a_digest_not_the_short_mail() -> None:
    # calls imported by hand (or left from an earlier crawl) are never withheld
    for source, _ in _enabled():
        _run(source, "failed", seen=0, message="twisted.internet.error.TimeoutError")
    add_call(title="Imported by hand")
    model = _model()
    assert not model.outage and model.sections
    assert model.subject == (
        "fundradar week 48: 13 of 13 sources could not be checked — 1 new relevant call"
    )
    assert "Imported by hand" in render_text(model)


def test_every_source_checked_is_one_line() -> None:
    _all_ok()
    add_call(title="Ocean governance call")
    model = _model()
    assert model.checked_all and model.leads == []
    assert model.subject == "fundradar week 48 (23–29 Nov 2026): 1 new relevant call"
    text = render_text(model)
    # one line, under the counts, and no source health section at all
    assert text.splitlines()[:3] == [
        "fundradar · Funding calls: week 48 (23–29 Nov 2026)",  # nothing before the header
        "0 closing within 14 days · 1 new and relevant · 0 updated · 0 shortlist reminders",
        "[ok] All 13 sources checked.",
    ]
    assert "SOURCE HEALTH" not in text and text.count("sources checked") == 1
    seen = _visible(render_html(model))
    assert "✓ All 13 sources checked." in seen and "Source health" not in seen


def test_sample_database_says_so_in_the_subject_and_first_line() -> None:
    _all_ok()
    with db.session_scope() as s:
        s.add(Meta(key="dataset", value="sample"))
    add_call(title="A call from a bundled page")
    for lang in ("en", "fr"):
        model = _model(lang)
        assert model.subject.startswith("[SAMPLE] fundradar ")
        text, seen = render_text(model), _visible(render_html(model))
        assert text.splitlines()[0].startswith("!! ")
        assert ("sample calls from the pages bundled" if lang == "en" else "pages fournies") in (
            text.splitlines()[0]
        )
        assert seen.startswith("⚠ SAMPLE DATA" if lang == "en" else "⚠ DONNÉES D'EXEMPLE")


def test_a_sample_run_marks_the_digest_even_without_the_meta_key() -> None:
    _all_ok(except_=("eu_ft",))
    _run("eu_ft", sample=True)
    assert _model().subject.startswith("[SAMPLE] ")


def test_a_live_database_is_not_sample() -> None:
    _all_ok()
    with db.session_scope() as s:
        s.add(Meta(key="dataset", value="live"))
    model = _model()
    assert not model.sample and not model.subject.startswith("[SAMPLE]")
    assert "SAMPLE" not in render_text(model)


def test_hostile_source_messages_and_causes_are_escaped_in_html() -> None:
    _all_ok(except_=("fundsforngos", "auf"))
    _run(
        "fundsforngos",
        "failed",
        seen=0,
        message='<script>alert("x")</script><img src=x onerror=alert(1)> HTTP 500',
    )
    _run("auf", "http-error", seen=0, message="HTTP 500")
    model = _model()
    # a crawler's cause is words it wrote from what the site sent: hostile too
    auf = next(h for h in model.health if h.source == "auf")
    auf.cause = "<b onmouseover=alert(2)>error 500</b>"
    html, text = render_html(model), render_text(model)
    assert "<script>" not in html and "<img" not in html and "<b onmouseover" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "&lt;b onmouseover=alert(2)&gt;error 500&lt;/b&gt;" in html
    assert '<script>alert("x")</script>' in text  # plain text: shown as the characters they are
    assert f"{_funder('fundsforngos')}: error 500" in model.leads[0].text
