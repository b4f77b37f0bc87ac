"""Verdicts: resolving a call reference, recording who said what, and `fundradar review`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from fundradar.exceptions import CallNotFoundError, VerdictError
from fundradar.pipeline import db
from fundradar.pipeline.models import Sighting, Verdict
from fundradar.pipeline.review import (
    dismissed_call_ids,
    latest_verdicts,
    normalise_verdict,
    record_verdict,
    resolve_call,
)
from tests.pipeline.exports.exports_factory import NOW, add_call

KEY = "eu_ft:HORIZON-CL6-2026-04-GOVERNANCE-01"


# ---------------------------------------------------------------------------------- resolve


def test_resolve_by_id_key_and_url(session) -> None:  # type: ignore[no-untyped-def]
    row = add_call(session, 1, key=KEY, url="https://ec.europa.eu/topic/GOV-01")
    row.sightings.append(Sighting(source="fundsforngos", url="https://www2.fundsforngos.org/x",
                                  canonical_url="https://www2.fundsforngos.org/x"))  # fmt: skip
    add_call(session, 2)
    session.flush()
    assert resolve_call(session, str(row.id)) is row
    assert resolve_call(session, KEY) is row
    assert resolve_call(session, "https://ec.europa.eu/topic/GOV-01") is row
    assert resolve_call(session, "  https://www2.fundsforngos.org/x ") is row  # an aggregator copy


def test_resolve_refuses_unknown_and_ambiguous(session) -> None:  # type: ignore[no-untyped-def]
    a = add_call(session, 1)
    b = add_call(session, 2)
    shared = "https://www.interreg-caraibes.fr/appel"
    for row in (a, b):
        row.sightings.append(Sighting(source=f"agg{row.id}", url=shared, canonical_url=shared))
    session.flush()
    with pytest.raises(CallNotFoundError, match="no call with id, key or URL 'eu_ft:NOPE'"):
        resolve_call(session, "eu_ft:NOPE")
    with pytest.raises(CallNotFoundError, match="no call"):
        resolve_call(session, "4242")
    with pytest.raises(CallNotFoundError, match=f"several calls \\(ids {a.id}, {b.id}\\)"):
        resolve_call(session, shared)
    with pytest.raises(CallNotFoundError, match="no call given"):
        resolve_call(session, "  ")


# ---------------------------------------------------------------------------------- record


def test_record_verdict_keeps_author_time_and_history(session) -> None:  # type: ignore[no-untyped-def]
    row = add_call(session)
    first = record_verdict(session, row, "not_relevant", reason="  EU member\n states only ",
                           author="ana", now=NOW)  # fmt: skip
    second = record_verdict(session, row, "shortlist", author="ben", now=NOW + timedelta(hours=1))
    assert (first.verdict, first.reason, first.author, first.created_at) == (
        "not-relevant",
        "EU member states only",
        "ana",
        NOW,
    )
    assert second.reason is None
    assert [v.verdict for v in row.verdicts] == ["not-relevant", "shortlist"]  # history kept
    assert latest_verdicts(session)[row.id].verdict == "shortlist"
    assert list(session.scalars(dismissed_call_ids())) == []  # changed their mind


def test_require_reason_and_unknown_verdicts(session) -> None:  # type: ignore[no-untyped-def]
    row = add_call(session)
    with pytest.raises(VerdictError, match="say why"):
        record_verdict(session, row, "not-relevant", reason="   ", author="a", require_reason=True)
    with pytest.raises(VerdictError, match="unknown verdict 'maybe'"):
        record_verdict(session, row, "maybe", author="a")
    assert session.scalars(select(Verdict)).all() == []
    assert normalise_verdict(" Shortlisted ") == "shortlist"
    long = record_verdict(session, row, "relevant", reason="x" * 5000, author="a")
    assert long.reason is not None and len(long.reason) == 2000


def test_dismissed_is_the_latest_verdict_only(session) -> None:  # type: ignore[no-untyped-def]
    a, b, c = (add_call(session, i) for i in (1, 2, 3))
    record_verdict(session, a, "not-relevant", reason="x", author="t")
    record_verdict(session, b, "not-relevant", reason="x", author="t")
    record_verdict(session, b, "relevant", author="t")
    record_verdict(session, c, "relevant", author="t")
    record_verdict(session, c, "not-relevant", reason="on reflection", author="t")
    assert set(session.scalars(dismissed_call_ids())) == {a.id, c.id}
    assert set(latest_verdicts(session, [a.id, b.id])) == {a.id, b.id}
    assert latest_verdicts(session, []) == {}


# ---------------------------------------------------------------------------------- command line


def run_cli(capsys, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    from fundradar.cli import main

    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


def _store_call() -> int:
    with db.session_scope() as s:
        return add_call(s, 1, key=KEY, url="https://ec.europa.eu/topic/GOV-01").id


def test_cli_review_records_verdict_with_author(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    call_id = _store_call()
    monkeypatch.setenv("FUNDRADAR_AUTHOR", "Marie-Claire (DCRM)")
    code, out, err = run_cli(capsys, "review", KEY, "not-relevant", "--reason", "EU only")
    assert code == 0, err
    assert "marked not-relevant by Marie-Claire (DCRM)" in out
    code, out, err = run_cli(capsys, "review", "https://ec.europa.eu/topic/GOV-01", "shortlist")
    assert code == 0, err
    with db.session_scope() as s:
        verdicts = s.scalars(select(Verdict).order_by(Verdict.id)).all()
        assert [(v.call_id, v.verdict, v.reason, v.author) for v in verdicts] == [
            (call_id, "not-relevant", "EU only", "Marie-Claire (DCRM)"),
            (call_id, "shortlist", None, "Marie-Claire (DCRM)"),
        ]
        assert verdicts[0].created_at.tzinfo is not None
    code, out, _ = run_cli(capsys, "review", str(call_id))  # no verdict: show the history
    assert code == 0
    assert "not-relevant" in out and "EU only" in out and "shortlist" in out


def test_cli_author_falls_back_to_user(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _store_call()
    monkeypatch.delenv("FUNDRADAR_AUTHOR")
    monkeypatch.setenv("USER", "jdupont")
    code, out, err = run_cli(capsys, "review", KEY, "not-relevant")
    assert code == 0
    assert "by jdupont" in out
    assert "no --reason given" in err  # recommended, not required, on the command line


def test_cli_unknown_call_is_one_line_error(capsys) -> None:  # type: ignore[no-untyped-def]
    _store_call()
    code, _, err = run_cli(capsys, "review", "eu_ft:NOPE", "relevant")
    assert code == 2
    assert err.strip() == "fundradar: no call with id, key or URL 'eu_ft:NOPE'"
    assert "Traceback" not in err
    code, _, err = run_cli(capsys, "review", KEY, "maybe")
    assert code == 2 and "maybe" in err
    with db.session_scope() as s:
        assert s.scalars(select(Verdict)).all() == []
