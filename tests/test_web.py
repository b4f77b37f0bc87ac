"""The review page with Flask's test client: filters, verdicts, CSRF, token, headers, feeds."""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from datetime import timedelta

import feedparser
import pytest
from click.testing import CliRunner
from icalendar import Calendar
from sqlalchemy import select

from fundradar.exceptions import WebConfigError
from fundradar.pipeline import db
from fundradar.pipeline.models import CallChange, Verdict
from fundradar.web import create_app
from fundradar.web.server import check_binding, is_loopback, make, redact
from tests.pipeline.exports.exports_factory import NOW, add_call, add_hostile

TOKEN = "s3cret-Token-for-tests-0123456789"


@pytest.fixture
def calls() -> dict[str, int]:
    with db.session_scope() as s:
        a = add_call(s, 1, title="Ocean governance in the Eastern Caribbean", band="high",
                     themes=["ocean"], funder="European Commission")  # fmt: skip
        b = add_call(s, 2, title="Energy transition facility", key="afd:FISONG-2", source="afd",
                     band="medium", themes=["energy"], funder="AFD", score=52)  # fmt: skip
        c = add_call(s, 3, title="Closed call on fisheries", band="low", status="closed",
                     deadline=NOW - timedelta(days=3), themes=["ocean"])  # fmt: skip
        old, new = NOW + timedelta(days=5), NOW + timedelta(days=11)
        s.add(CallChange(call_id=a.id, field="deadline", old_value=old.isoformat(),
                         new_value=new.isoformat(), seen_at=NOW))  # fmt: skip
        return {"ocean": a.id, "energy": b.id, "closed": c.id}


@pytest.fixture
def client():  # type: ignore[no-untyped-def]
    return create_app(clock=lambda: NOW).test_client()


def csrf(client, path: str = "/") -> str:  # type: ignore[no-untyped-def]
    html = client.get(path).get_data(as_text=True)
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def articles(html: str) -> list[str]:
    return re.findall(r'<article class="call[^"]*" id="call-(\d+)"', html)


# ---------------------------------------------------------------------------------- page


def test_page_lists_calls_with_reasons_versions_and_charts(client, calls) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    # default: not closed, band order
    assert articles(html) == [str(calls["ocean"]), str(calls["energy"])]
    assert "Eligible: OECS member states named" in html  # reasons
    assert "Versions" in html and "Tue 8 Dec 2026" in html  # the deadline change, local time
    assert html.count("<svg") == 6  # three charts, each drawn for phones and for desktops
    assert "Open calls by deadline week" in html and "Calls by theme" in html
    assert "Calls by funder" in html and "European Commission: 1" in html
    assert "ocean: 1" in html and "energy: 1" in html  # the charts' text summaries


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("band=high", ["ocean"]),
        ("theme=energy", ["energy"]),
        ("source=afd", ["energy"]),
        ("status=closed", ["closed"]),
        ("status=all&theme=ocean", ["ocean", "closed"]),
        ("q=governance+caribbean", ["ocean"]),
        ("q=FISONG", ["energy"]),  # the funder's reference
        ("q=nothing-like-this", []),
    ],
)
def test_filters(client, calls, query: str, expected: list[str]) -> None:  # type: ignore[no-untyped-def]
    html = client.get(f"/?{query}").get_data(as_text=True)
    assert articles(html) == [str(calls[k]) for k in expected]


def test_bad_filter_value_is_400(client, calls) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/?band=superb").status_code == 400
    assert client.get("/?status=<script>").status_code == 400


def test_hostile_call_is_escaped(client) -> None:  # type: ignore[no-untyped-def]
    with db.session_scope() as s:
        add_hostile(s)
    html = client.get("/").get_data(as_text=True)
    assert "<script>" not in html and "<img src=x" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "javascript:" not in html  # neither linked nor shown
    assert "link withheld" in html
    hrefs = re.findall(r'href="([^"]+)"', html)
    assert all(h.startswith(("/", "http://", "https://")) for h in hrefs), hrefs


def test_security_headers(client, calls) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/")
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script" not in csp  # no script source at all
    assert "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Cache-Control"] == "no-store"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "<script" not in resp.get_data(as_text=True)
    assert client.get("/static/review.css").status_code == 200


# ---------------------------------------------------------------------------------- verdicts


def verdicts() -> list[tuple[int, str, str | None, str]]:
    with db.session_scope() as s:
        return [(v.call_id, v.verdict, v.reason, v.author)
                for v in s.scalars(select(Verdict).order_by(Verdict.id))]  # fmt: skip


def test_mark_not_relevant_with_reason_hides_the_call(client, calls) -> None:  # type: ignore[no-untyped-def]
    token = csrf(client)
    resp = client.post(f"/calls/{calls['ocean']}/verdict", data={
        "csrf_token": token, "verdict": "not-relevant", "reason": "Restricted to EU members",
        "next": "/?band=high"})  # fmt: skip
    assert resp.status_code == 303 and resp.headers["Location"] == "/?band=high"
    assert verdicts() == [(calls["ocean"], "not-relevant", "Restricted to EU members",
                           "tester (web)")]  # fmt: skip
    html = client.get("/").get_data(as_text=True)
    assert articles(html) == [str(calls["energy"])]
    assert "Marked not relevant: Ocean governance" in html  # the flash message
    shown = client.get("/?dismissed=1").get_data(as_text=True)
    assert str(calls["ocean"]) in articles(shown) and "Restricted to EU members" in shown


def test_reviewer_name_is_the_author(client, calls) -> None:  # type: ignore[no-untyped-def]
    token = csrf(client)
    client.post("/reviewer", data={"csrf_token": token, "name": "Ana <b>", "next": "/"})
    client.post(f"/calls/{calls['energy']}/verdict",
                data={"csrf_token": token, "verdict": "shortlist"})  # fmt: skip
    assert verdicts() == [(calls["energy"], "shortlist", None, "Ana <b>")]
    html = client.get("/").get_data(as_text=True)
    assert "Ana &lt;b&gt;" in html and "Ana <b>" not in html


def test_not_relevant_requires_a_reason(client, calls) -> None:  # type: ignore[no-untyped-def]
    token = csrf(client)
    resp = client.post(
        f"/calls/{calls['ocean']}/verdict",
        data={"csrf_token": token, "verdict": "not-relevant", "reason": "  "},
    )
    assert resp.status_code == 303
    assert verdicts() == []
    assert "say why the call is not relevant" in client.get("/").get_data(as_text=True)


def test_unknown_verdict_and_call(client, calls) -> None:  # type: ignore[no-untyped-def]
    token = csrf(client)
    client.post(f"/calls/{calls['ocean']}/verdict", data={"csrf_token": token, "verdict": "meh"})
    assert verdicts() == []
    resp = client.post("/calls/9999/verdict", data={"csrf_token": token, "verdict": "relevant"})
    assert resp.status_code == 404


def test_csrf_required(client, calls) -> None:  # type: ignore[no-untyped-def]
    url = f"/calls/{calls['ocean']}/verdict"
    assert client.post(url, data={"verdict": "relevant"}).status_code == 403
    client.get("/")
    assert client.post(url, data={"verdict": "relevant", "csrf_token": "forged"}).status_code == 403
    token = csrf(client)
    assert client.post(url, data={"verdict": "relevant", "csrf_token": token},
                       headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403  # fmt: skip
    assert client.post(url, data={"verdict": "relevant", "csrf_token": token},
                       headers={"Origin": "http://evil.example"}).status_code == 403  # fmt: skip
    # a token from another session is no good either
    other = create_app(clock=lambda: NOW).test_client()
    assert other.post(url, data={"verdict": "relevant", "csrf_token": token}).status_code == 403
    assert verdicts() == []
    same_site = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    ok = client.post(url, data={"verdict": "relevant", "csrf_token": token}, headers=same_site)
    assert ok.status_code == 303 and len(verdicts()) == 1


def test_no_open_redirect(client, calls) -> None:  # type: ignore[no-untyped-def]
    token = csrf(client)
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        resp = client.post(f"/calls/{calls['ocean']}/verdict", data={
            "csrf_token": token, "verdict": "relevant", "next": target})  # fmt: skip
        assert resp.headers["Location"] == "/"


@pytest.mark.parametrize(
    "target",
    ["/\t/evil.example", "/\n/evil.example", "\t//evil.example", " //evil.example",
     "/\r\n/evil.example", "/\x00/evil.example", "/\u202e/evil.example", "/\\/evil.example",
     "https:/evil.example", "\x7fhttps://evil.example", "/\x85/evil.example"],
)  # fmt: skip
def test_no_open_redirect_through_controls_or_spaces(client, calls, target: str) -> None:  # type: ignore[no-untyped-def]
    """Browsers drop tabs and newlines inside a URL: "/\t/evil.example" is "//evil.example"."""
    token = csrf(client)
    for path in (f"/calls/{calls['ocean']}/verdict", "/reviewer"):
        resp = client.post(path, data={"csrf_token": token, "verdict": "relevant",
                                       "name": "Ana", "next": target})  # fmt: skip
        assert resp.status_code == 303, (path, target)
        assert resp.headers["Location"] == "/", (path, target)


def test_next_with_a_newline_is_no_500_and_keeps_a_safe_path(client, calls) -> None:  # type: ignore[no-untyped-def]
    token = csrf(client)
    target = "/?band=high\r\nSet-Cookie: x=1"
    form = {"csrf_token": token, "verdict": "relevant", "next": target}
    resp = client.post(f"/calls/{calls['ocean']}/verdict", data=form)
    assert resp.status_code == 303
    assert resp.headers["Location"] == "/?band=highSet-Cookie:x=1"  # one header, a local path
    assert all("x=1" not in v for k, v in resp.headers if k == "Set-Cookie")  # no header split


@pytest.mark.parametrize("page", ["99999999999999999999", "-1", "0", "abc", "1e3", "\u00b2", ""])
def test_out_of_range_page_numbers_are_clamped(client, calls, page: str) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/", query_string={"page": page})
    assert resp.status_code == 200
    assert articles(resp.get_data(as_text=True)) == [str(calls["ocean"]), str(calls["energy"])]


def test_hostile_bidi_override_and_nul_never_reach_the_page(client) -> None:  # type: ignore[no-untyped-def]
    """Rows stored before the normaliser removed them are cleaned when shown."""
    with db.session_scope() as s:
        add_call(s, 7, title="Grant for \u202egnp.exe\u202c reviewers\x00", funder="AFD\u2066x",
                 reasons=["Theme: \u202eocean"])  # fmt: skip
    html = client.get("/").get_data(as_text=True)
    assert "Grant for gnp.exe reviewers" in html
    for bad in ("\u202e", "\u202c", "\u2066", "\x00"):
        assert bad not in html, repr(bad)


@pytest.mark.parametrize("token", ["x", "s3cret", "a" * 31])
def test_short_web_token_is_refused_at_start_with_how_to_make_one(token: str) -> None:
    from fundradar.exceptions import ConfigError

    with pytest.raises(ConfigError, match="FUNDRADAR_WEB_TOKEN") as exc:
        check_binding("0.0.0.0", token)
    assert "secrets.token_urlsafe(32)" in str(exc.value) and "at least 32" in str(exc.value)
    with pytest.raises(ConfigError):
        create_app(token=token)
    check_binding("0.0.0.0", "a" * 32)  # 32 is enough


def test_serve_command_refuses_a_short_token(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FUNDRADAR_WEB_TOKEN", "x")
    command = [sys.executable, "-m", "fundradar", "serve", "--port", "0"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert proc.returncode == 2
    assert "FUNDRADAR_WEB_TOKEN" in proc.stderr and "token_urlsafe(32)" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_get_cannot_change_state(client, calls) -> None:  # type: ignore[no-untyped-def]
    assert client.get(f"/calls/{calls['ocean']}/verdict?verdict=relevant").status_code == 405
    assert verdicts() == []


# ---------------------------------------------------------------------------------- feeds


def test_feeds_follow_the_page_filters(client, calls) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/calls.csv?theme=ocean&status=all")
    assert resp.mimetype == "text/csv"
    text = resp.get_data().decode("utf-8-sig")
    assert [r["title"] for r in csv.DictReader(io.StringIO(text))] == [
        "Ocean governance in the Eastern Caribbean",
        "Closed call on fisheries",
    ]
    cal = Calendar.from_ical(client.get("/calls.ics").get_data())
    assert len(list(cal.walk("VEVENT"))) == 2
    feed = feedparser.parse(client.get("/calls.atom?band=high").get_data())
    assert not feed.bozo
    assert [e.title for e in feed.entries] == ["Ocean governance in the Eastern Caribbean"]


def test_hostile_call_in_served_feeds(client) -> None:  # type: ignore[no-untyped-def]
    with db.session_scope() as s:
        add_hostile(s)
    data = client.get("/calls.csv").get_data()
    assert b"javascript:" not in data
    row = next(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert row["title"].startswith("'=")
    assert b"javascript:" not in client.get("/calls.ics").get_data()
    atom = client.get("/calls.atom").get_data()
    assert b"<script>" not in atom and b"javascript:" not in atom


# ---------------------------------------------------------------------------------- token


def test_token_required_when_configured(calls) -> None:  # type: ignore[no-untyped-def]
    client = create_app(token=TOKEN, clock=lambda: NOW).test_client()
    assert client.get("/").status_code == 401
    assert client.get("/calls.csv").status_code == 401
    assert client.get("/static/review.css").status_code == 401
    assert client.get("/?token=wrong").status_code == 401
    assert client.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
    # the token in the address: kept in the session, dropped from the address bar
    resp = client.get(f"/?band=high&token={TOKEN}")
    assert resp.status_code == 303 and resp.headers["Location"] == "/?band=high"
    assert client.get("/?band=high").status_code == 200
    # feeds (calendar clients): token on every request, no redirect
    fresh = create_app(token=TOKEN, clock=lambda: NOW).test_client()
    assert fresh.get(f"/calls.ics?token={TOKEN}").status_code == 200
    # the partnerships workbook too: a spreadsheet opened from a link keeps no cookie
    sheet = create_app(token=TOKEN, clock=lambda: NOW).test_client()
    assert sheet.get(f"/partnerships.xlsx?token={TOKEN}").status_code == 200
    assert fresh.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_token_change_ends_sessions(calls) -> None:  # type: ignore[no-untyped-def]
    app = create_app(token=TOKEN, secret_key=b"k" * 32, clock=lambda: NOW)
    client = app.test_client()
    client.get(f"/?token={TOKEN}")
    assert client.get("/").status_code == 200
    app.config["FUNDRADAR_TOKEN"] = TOKEN + "-rotated"
    assert client.get("/").status_code == 401


def test_binding_rules() -> None:
    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost", "[::1]"):
        assert is_loopback(host), host
        check_binding(host, None)
    for host in ("0.0.0.0", "::", "192.168.1.20", "fundradar.oecs.int"):
        assert not is_loopback(host), host
        with pytest.raises(WebConfigError, match="FUNDRADAR_WEB_TOKEN"):
            check_binding(host, None)
        check_binding(host, TOKEN)


def test_serve_refuses_public_address_without_token(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from fundradar.cli import cli

    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "0"])
    assert isinstance(result.exception, WebConfigError)
    assert result.exception.exit_code == 2


def test_redact() -> None:
    line = f'"GET /calls.ics?status=open&token={TOKEN}&x=1 HTTP/1.1" 200 -'
    assert TOKEN not in redact(line)
    assert "token=[redacted]&x=1" in redact(line)


def test_real_server_with_token_keeps_token_out_of_logs(calls, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="werkzeug")
    server = make("127.0.0.1", 0, TOKEN)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(f"{base}/calls.csv", timeout=10)
        assert denied.value.code == 401
        with urllib.request.urlopen(f"{base}/calls.csv?token={TOKEN}", timeout=10) as resp:
            assert resp.status == 200
            assert resp.read().startswith(b"\xef\xbb\xbf")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    logged = caplog.text
    assert "/calls.csv?token=[redacted]" in logged
    assert TOKEN not in logged


def test_fundradar_serve_command_serves_on_loopback(calls) -> None:  # type: ignore[no-untyped-def]
    """The real command in its own process: prints its address, serves the page and feeds."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fundradar", "serve", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.match(r"review page on (http://127\.0\.0\.1:\d+/)", line)
        assert m, (line, proc.stderr.read() if proc.poll() is not None else "")  # type: ignore[union-attr]
        with urllib.request.urlopen(m.group(1), timeout=10) as resp:
            html = resp.read().decode("utf-8")
            assert "Ocean governance in the Eastern Caribbean" in html
            assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'")
        with urllib.request.urlopen(m.group(1) + "calls.ics", timeout=10) as resp:
            assert resp.headers["Content-Type"].startswith("text/calendar")
            assert len(list(Calendar.from_ical(resp.read()).walk("VEVENT"))) == 2
    finally:
        proc.terminate()
        proc.wait(10)
