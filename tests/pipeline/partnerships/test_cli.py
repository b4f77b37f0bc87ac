"""`fundradar application …`, `fundradar partner …` and `fundradar export xlsx|applications|
partners`, through the real command line on the test's database."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from fundradar.cli import cli
from fundradar.exceptions import ApplicationError
from fundradar.pipeline import db
from fundradar.pipeline.models import Application, utcnow
from fundradar.pipeline.review import record_verdict
from tests.pipeline.exports.exports_factory import add_call


def run(*args: str, code: int = 0):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(cli, list(args), standalone_mode=False)
    if code == 0:
        assert result.exception is None, result.output
    return result


@pytest.fixture
def call_id() -> int:
    with db.session_scope() as s:
        # first seen now: one of this week's relevant calls in the workbook
        call = add_call(s, 1, funder="Agence française de développement", first_seen=utcnow())
        record_verdict(s, call, "shortlist", author="marie")
        return call.id


def test_application_from_new_to_awarded(call_id: int) -> None:
    out = run("application", "new", str(call_id), "--owner", "Marie").output
    assert out.startswith("application 1: Call number 1") and "stage idea" in out
    out = run("application", "set", "1", "--amount-requested", "50000", "--currency", "eur").output
    assert "amount requested: none → 50,000.00 EUR" in out
    out = run("application", "partner", "1", "Université des Antilles", "--lead").output
    assert "Université des Antilles (id 2) is lead (new in the partner directory)" in out
    out = run("application", "partner", "1", "AFD").output  # the funder, seeded from the call
    assert "Agence française de développement (id 1) is partner" in out
    for stage in ("preparing", "submitted"):
        assert f"→ {stage} by tester" in run("application", "move", "1", stage).output
    out = run("application", "list").output
    assert "submitted" in out and "50,000.00 EUR" in out
    out = run("application", "show", "1").output
    assert "lead       Université des Antilles" in out
    assert "tester: preparing → submitted" in out
    # refusals: a stage the workflow does not know exits 2 listing the valid ones...
    result = run("application", "move", "1", "won", code=2)
    assert "unknown 'won'; valid: idea, preparing, submitted" in str(result.exception)
    # ...and a step it does not allow is one readable error (exit 2) saying why
    result = run("application", "move", "1", "idea", code=2)
    assert isinstance(result.exception, ApplicationError) and result.exception.exit_code == 2
    assert "from submitted it can go to awarded, declined, withdrawn" in str(result.exception)
    with db.session_scope() as s:
        assert s.get(Application, 1).stage == "submitted"


def test_bad_values_exit_2_with_the_valid_list(call_id: int) -> None:
    result = run("application", "list", "--stage", "done", code=2)
    assert "valid: idea, preparing, submitted, awarded, declined, withdrawn" in str(
        result.exception
    )
    result = run("partner", "list", "--kind", "bank", code=2)
    assert "valid: government, public_agency" in str(result.exception)
    result = run("application", "new", str(call_id + 1), code=2)
    assert "no call with id" in str(result.exception)
    with db.session_scope() as s:
        add_call(s, 2)
    result = run("application", "new", "2", code=2)
    assert "shortlist it first" in str(result.exception)


def test_partner_commands(call_id: int, tmp_path: Path) -> None:
    assert run("partner", "seed").output.strip() == "1 new organisation, 1 new call link"
    assert run("partner", "seed").output.strip() == "0 new organisations, 0 new call links"
    out = run("partner", "add", "Agence Francaise de Developpement").output
    assert "already known as Agence française de développement (id 1)" in out
    assert (
        "added Caribbean Development Bank (id 2)"
        in run("partner", "add", "Caribbean Development Bank", "--kind", "public agency").output
    )
    csv_file = tmp_path / "partners.csv"
    csv_file.write_text(
        "name;kind;website\nCDB;public_agency;www.caribank.org\n;ngo;\nIRD;lab;\n",
        encoding="utf-8-sig",
    )
    result = run("partner", "import", str(csv_file), code=1)
    assert result.return_value == 1  # some rows refused (what main() exits with)
    assert "0 new, 1 merged into existing entries, 2 refused" in result.output
    assert "refused line 3: the name is empty" in result.stderr
    assert "refused line 4 (IRD): unknown kind 'lab'" in result.stderr
    run("partner", "add", "Caribbean Development Bk")
    out = run("partner", "list", "--duplicates").output
    assert "CDB is the acronym of Caribbean Development Bk" in out
    out = run("partner", "merge", "2", "3").output
    assert (
        out.strip()
        == "merged Caribbean Development Bk (id 3) into Caribbean Development Bank (id 2)"
    )
    out = run(
        "partner",
        "project",
        "CDB",
        "Coastal resilience",
        "--year",
        "2021",
        "--amount",
        "120000",
        "--currency",
        "usd",
    ).output
    assert out.strip() == "past project 1 with Caribbean Development Bank: Coastal resilience"
    for bad, why in (
        (["--year", "21st"], "is not a year"),
        (["--amount", "5"], "currency"),
        (["--currency", "US$"], "ISO 4217"),
    ):
        result = run("partner", "project", "CDB", "X", *bad, code=2)
        assert why in str(result.exception) and result.exception.exit_code == 2
    out = run("partner", "show", "CDB").output
    assert "past project 2021: Coastal resilience" in out
    assert "Caribbean Development Bank (id 2)" in out and "merged into it: Caribbean" in out
    assert "website: https://www.caribank.org" in out


def test_exports(call_id: int, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    run("application", "new", str(call_id))
    path = tmp_path / "partnerships.xlsx"
    result = run("export", "xlsx", "--output", str(path))
    assert "1 application, 1 partner, 1 relevant call" in result.stderr
    assert openpyxl.load_workbook(path).sheetnames == ["Applications", "Partners", "Relevant calls"]
    out = run("export", "applications").output
    assert out.startswith("\ufeffid,title,stage") and "Call number 1" in out
    out = run("export", "partners").output
    assert "Agence française de développement" in out
