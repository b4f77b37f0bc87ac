"""Subscriptions: seeding from recipients.yaml, the filters, the digest going to active
subscriptions only, RFC 8058 one-click unsubscribe and the signed edit page.

Mail goes to a real SMTP server (aiosmtpd on 127.0.0.1); the web routes run in Flask's test
client on the real application; tokens are real itsdangerous signatures. The calls are
reconstructed — not captures.
"""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from freezegun import freeze_time
from sqlalchemy import select

from fundradar import tokens
from fundradar.alerts import subscriptions as subs
from fundradar.alerts.send import send_digest
from fundradar.alerts.subscription_filter import matches, matches_all
from fundradar.exceptions import SubscriptionError
from fundradar.pipeline import db
from fundradar.pipeline.models import CallRow, Delivery, Subscription
from fundradar.web.app import create_app
from tests.digest_support import SmtpServer, add_call, parts, recipients_config

UTC = dt.UTC
MON = dt.datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
SECRET = "s" * 40
PUBLIC = "https://fundradar.oecs.example"
WEB_TOKEN = "t" * 40


@pytest.fixture
def links_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUNDRADAR_PUBLIC_URL", PUBLIC)
    monkeypatch.setenv("FUNDRADAR_SECRET_KEY", SECRET)


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    with SmtpServer() as server:
        monkeypatch.setenv("FUNDRADAR_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("FUNDRADAR_SMTP_PORT", str(server.port))
        monkeypatch.setenv("FUNDRADAR_SMTP_SECURITY", "none")
        monkeypatch.setenv("FUNDRADAR_SMTP_TIMEOUT", "5")
        yield server


def _subs() -> dict[str, Subscription]:
    with db.session_scope() as s:
        rows = s.scalars(select(Subscription)).all()
        s.expunge_all()
        return {r.email: r for r in rows}


# --------------------------------------------------------------------------------------------
# Seeding


def test_seeding_is_idempotent_and_never_overrides_the_officer() -> None:
    cfg = recipients_config([{"email": "Ana@OECS.example", "min_band": "high"},
                             {"email": "ben@oecs.example", "language": "fr"}])  # fmt: skip
    with db.session_scope() as s:
        first = subs.seed(s, cfg)
        again = subs.seed(s, cfg)
    assert sorted(first.added) == ["ana@oecs.example", "ben@oecs.example"]
    assert (again.added, again.updated, again.stopped) == ([], [], [])
    rows = _subs()
    assert rows["ana@oecs.example"].min_band == "high"
    assert rows["ana@oecs.example"].created_by == "recipients.yaml"

    # Ana edits hers; Ben unsubscribes; the file then changes both and drops Ben
    with db.session_scope() as s:
        ana = subs.find(s, "ana@oecs.example")
        assert ana is not None
        subs.update(s, ana, min_band="low", themes=["ocean"])
        ben = subs.find(s, "ben@oecs.example")
        assert ben is not None
        subs.unsubscribe(s, ben)
    cfg2 = recipients_config([{"email": "ana@oecs.example", "min_band": "medium"},
                              {"email": "ben@oecs.example"},
                              {"email": "cy@oecs.example"}])  # fmt: skip
    with db.session_scope() as s:
        report = subs.seed(s, cfg2)
    assert report.added == ["cy@oecs.example"] and report.updated == []
    rows = _subs()
    assert (rows["ana@oecs.example"].min_band, rows["ana@oecs.example"].themes) == (
        "low", ["ocean"])  # fmt: skip
    assert rows["ben@oecs.example"].active is False  # an unsubscribe sticks

    # the maintainer changes Cy in the file: followed; then removes Cy: stopped, not deleted
    with db.session_scope() as s:
        assert subs.seed(s, recipients_config([{"email": "cy@oecs.example",
                                                "min_band": "high"}])).updated == [
            "cy@oecs.example"]  # fmt: skip
    assert _subs()["cy@oecs.example"].min_band == "high"
    with db.session_scope() as s:
        assert subs.seed(s, recipients_config([])).stopped == ["cy@oecs.example"]
    rows = _subs()
    assert rows["cy@oecs.example"].active is False and len(rows) == 3
    assert rows["ana@oecs.example"].active  # hers: the file's silence does not stop it


def test_subscribe_refuses_bad_values_and_a_second_subscription() -> None:
    with db.session_scope() as s:
        subs.subscribe(s, email="ana@oecs.example", created_by="test", min_band="high")
        with pytest.raises(SubscriptionError, match="already subscribed"):
            subs.subscribe(s, email="ANA@oecs.example", created_by="test")
        with pytest.raises(SubscriptionError, match="email"):
            subs.subscribe(s, email="not an address", created_by="test")
        with pytest.raises(SubscriptionError, match="min_band"):
            subs.subscribe(s, email="b@oecs.example", created_by="test", min_band="urgent")
        with pytest.raises(SubscriptionError, match="not an address Apprise can use"):
            subs.subscribe(s, email="c@oecs.example", created_by="test",
                           channel="nonsense://secret-token-123")  # fmt: skip


# --------------------------------------------------------------------------------------------
# Filters


def _row(**kw: object) -> SimpleNamespace:
    base = dict(band="high", themes=["ocean"], source="eu_ft", language="en",
                title="Blue economy in small islands", summary="", eligibility_text="",
                eligible_applicants=[], funder="European Commission", programme="",
                source_ref="")  # fmt: skip
    return SimpleNamespace(**{**base, **kw})


def _who(**kw: object) -> SimpleNamespace:
    base = dict(min_band="medium", themes=[], sources=[], words=None, call_language=None)
    return SimpleNamespace(**{**base, **kw})


def test_filters_sources_words_language_and_band() -> None:
    row = _row()
    assert matches(row, _who())
    assert matches(row, _who(sources=["eu_ft", "afd"]))
    assert not matches(row, _who(sources=["afd"]))
    # words as the review page's search: folded and stemmed, every word required
    assert matches(_row(title="Économie bleue des océans"), _who(words="ocean"))
    assert matches(row, _who(words="islands economy"))
    assert not matches(row, _who(words="islands health"))
    assert matches(row, _who(call_language="en"))
    assert not matches(row, _who(call_language="fr"))
    assert matches(_row(language=None), _who(call_language="fr"))  # unknown: kept
    assert not matches(row, _who(themes=["health"]))
    assert matches_all(row, _who(min_band="high"))
    assert not matches_all(_row(band="medium"), _who(min_band="high"))
    assert not matches_all(_row(band=None), _who(min_band="low"))
    assert matches_all(_row(band=None), _who(min_band="none"))


# --------------------------------------------------------------------------------------------
# The digest: active subscriptions, their filters, their links


def _three_calls() -> dict[str, int]:
    return {
        "ocean": add_call(title="Blue economy for small island states", themes=["ocean"],
                          source="eu_ft", language="en"),
        "health": add_call(title="Regional health security fund", themes=["health"],
                           source="eu_ft", language="en"),
        "french": add_call(title="Appel à projets océans et pêche", themes=["ocean"],
                           source="afd", language="fr"),
    }  # fmt: skip


def test_digest_holds_only_matching_calls_and_carries_rfc8058_links(
    smtp: SmtpServer, links_env: None
) -> None:
    _three_calls()
    with db.session_scope() as s:
        subs.subscribe(s, email="ana@oecs.example", created_by="test", min_band="medium",
                       themes=["ocean"], sources=["eu_ft"])  # fmt: skip
    report = send_digest(now=MON, config=recipients_config([]))
    assert report.ok and report.count("sent") == 1, report
    (got,) = smtp.received
    text, _html = parts(got.message)
    assert "Blue economy for small island states" in text
    assert "Regional health security fund" not in text  # another theme
    assert "Appel à projets océans" not in text  # another source
    header = got.message["List-Unsubscribe"]
    assert re.fullmatch(rf"<{re.escape(PUBLIC)}/unsubscribe/[\w.-]+>", header), header
    assert got.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = header.strip("<>").rsplit("/", 1)[1]
    assert tokens.verify(SECRET, "unsubscribe", token)["email"] == "ana@oecs.example"


def test_without_public_url_the_mail_has_no_unsubscribe_header(smtp: SmtpServer) -> None:
    _three_calls()
    send_digest(now=MON, config=recipients_config([{"email": "ana@oecs.example"}]))
    (got,) = smtp.received
    assert got.message["List-Unsubscribe"] is None
    assert got.message["List-Unsubscribe-Post"] is None
    assert "/unsubscribe/" not in got.content.decode("utf-8", "replace")


def _unsubscribe_path(msg_header: str) -> str:
    return urlsplit(msg_header.strip("<>")).path


def test_one_click_unsubscribe_then_next_week_nothing(
    smtp: SmtpServer, links_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _three_calls()
    cfg = recipients_config([{"email": "ana@oecs.example"}, {"email": "ben@oecs.example"}])
    send_digest(now=MON, config=cfg)
    ana_mail = next(r for r in smtp.received if r.rcpt_tos == ["ana@oecs.example"])
    path = _unsubscribe_path(ana_mail.message["List-Unsubscribe"])

    # the web page needs its access token, but not on this signed link
    client = create_app(token=WEB_TOKEN).test_client()
    assert client.get("/").status_code == 401
    page = client.get(path)  # what a mail scanner or a link preview does: changes nothing
    assert page.status_code == 200 and "Unsubscribe ana@oecs.example" in page.text
    assert _subs()["ana@oecs.example"].active
    # RFC 8058: the mail client's server POSTs this body, with no cookie and no CSRF token
    done = client.post(path, data={"List-Unsubscribe": "One-Click"},
                       headers={"Cookie": ""})  # fmt: skip
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    row = _subs()["ana@oecs.example"]
    assert row.active is False and row.unsubscribed_at is not None
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200

    smtp.received.clear()
    report = send_digest(now=MON + dt.timedelta(days=7), config=cfg)
    assert [r.rcpt_tos for r in smtp.received] == [["ben@oecs.example"]]
    assert [r.recipient for r in report.results] == ["ben@oecs.example"]
    with db.session_scope() as s:  # her history stays
        assert s.scalars(select(Delivery).where(Delivery.recipient == "ana@oecs.example")).all()


def test_tampered_expired_and_cross_purpose_tokens_are_refused(links_env: None) -> None:
    with db.session_scope() as s:
        sub = subs.subscribe(s, email="ana@oecs.example", created_by="test")
        links = subs.links(sub.id, sub.email)
    assert links is not None
    client = create_app().test_client()
    good = _unsubscribe_path("<" + links.unsubscribe + ">")
    token = good.rsplit("/", 1)[1]
    tampered = "/unsubscribe/" + token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for path in (tampered, "/unsubscribe/" + token.replace(".", "x", 1)):
        assert client.get(path).status_code == 403
        r = client.post(path, data={"List-Unsubscribe": "One-Click"})
        assert r.status_code == 403 and "not valid" in r.text
    # an edit-page token is not an unsubscribe token
    edit_token = links.manage.rsplit("/", 1)[1]
    assert client.post(f"/unsubscribe/{edit_token}",
                       data={"List-Unsubscribe": "One-Click"}).status_code == 403  # fmt: skip
    with freeze_time(dt.datetime.now(UTC) - dt.timedelta(days=400)):
        old = tokens.sign(SECRET, "unsubscribe", {"id": sub.id, "email": "ana@oecs.example"})
    r = client.post(f"/unsubscribe/{old}", data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 403 and "expired" in r.text
    assert _subs()["ana@oecs.example"].active  # none of them changed anything
    # without the body RFC 8058 prescribes, a valid token does nothing either
    assert client.post(good, data={}).status_code == 400
    assert _subs()["ana@oecs.example"].active


def test_signed_routes_answer_404_without_a_secret_key() -> None:
    client = create_app().test_client()
    token = tokens.sign(SECRET, "unsubscribe", {"id": 1, "email": "a@b.example"})
    assert client.get(f"/unsubscribe/{token}").status_code == 404


def _csrf(client, path: str) -> str:  # type: ignore[no-untyped-def]
    m = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert m, path
    return m.group(1)


def test_save_filters_from_review_page_and_edit_through_the_signed_link(
    links_env: None,
) -> None:
    _three_calls()
    client = create_app().test_client()
    page = client.get("/?theme=ocean&source=eu_ft&band=medium&q=island")
    assert "Save these filters as a subscription" in page.text
    csrf = _csrf(client, "/?theme=ocean&source=eu_ft&band=medium&q=island")
    form = {"email": "Ana@oecs.example", "frequency": "weekly", "language": "fr",
            "call_language": "en", "band": "medium", "theme": "ocean", "source": "eu_ft",
            "q": "island", "next": "/?theme=ocean"}  # fmt: skip
    assert client.post("/subscriptions", data=form).status_code == 403  # no CSRF token
    r = client.post("/subscriptions", data={**form, "csrf_token": csrf})
    assert r.status_code == 303 and r.headers["Location"] == "/?theme=ocean"
    sub = _subs()["ana@oecs.example"]
    assert (sub.min_band, sub.themes, sub.sources, sub.words, sub.language, sub.call_language,
            sub.managed_by) == ("medium", ["ocean"], ["eu_ft"], "island", "fr", "en",
                                "officer")  # fmt: skip
    again = client.post("/subscriptions", data={**form, "csrf_token": csrf}, follow_redirects=True)
    assert "already subscribed" in again.text

    links = subs.links(sub.id, sub.email)
    assert links is not None
    path = urlsplit(links.manage).path
    other = create_app(token=WEB_TOKEN).test_client()  # her mail, outside the office: no token
    edit = other.get(path)
    assert edit.status_code == 200 and "Your subscription" in edit.text
    token = _csrf(other, path)
    assert other.post(path, data={"band": "high"}).status_code == 403  # CSRF still required
    r = other.post(path, data={"csrf_token": token, "band": "high", "theme": ["ocean", "health"],
                               "frequency": "instant", "language": "en"})  # fmt: skip
    assert r.status_code == 303
    sub = _subs()["ana@oecs.example"]
    assert (sub.min_band, sub.themes, sub.frequency, sub.sources, sub.words) == (
        "high", ["health", "ocean"], "instant", [], None)  # fmt: skip


def test_cli_lists_subscriptions_without_channel_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fundradar.cli import cli

    with db.session_scope() as s:
        subs.subscribe(s, email="ana@oecs.example", created_by="test", frequency="instant",
                       channel="json://127.0.0.1:8080/hooks/SECRET-abcdef123456")  # fmt: skip
    runner = CliRunner()
    out = runner.invoke(cli, ["subscriptions", "list"], catch_exceptions=False).output
    assert "ana@oecs.example" in out and "instant" in out
    assert "json://127.0.0.1:8080/…" in out and "SECRET" not in out
    assert "dcrm@oecs.int" in out  # seeded from the packaged recipients.yaml
    r = runner.invoke(cli, ["subscriptions", "remove", "ana@oecs.example"],
                      catch_exceptions=False)  # fmt: skip
    assert "unsubscribed ana@oecs.example" in r.output
    out = runner.invoke(cli, ["subscriptions", "list"], catch_exceptions=False).output
    assert "ana@oecs.example" not in out and "1 unsubscribed not shown" in out
    r = runner.invoke(cli, ["subscriptions", "add", "ben@oecs.example", "--band", "high",
                            "--theme", "ocean"], catch_exceptions=False)  # fmt: skip
    assert r.exit_code == 0 and "band>=high themes=ocean" in r.output
    with db.session_scope() as s:
        assert s.scalars(select(CallRow)).all() == []  # nothing else was touched
