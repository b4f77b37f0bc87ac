"""Partners imported from a CSV as Excel saves it: good rows stored (merged into entries
already there), each bad row refused with its line number and reason.

The rows are reconstructed — not a capture: names of real bodies, made-up contacts."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from fundradar.exceptions import InputError
from fundradar.pipeline.models import Organisation
from fundradar.pipeline.partnerships import organisations as orgs
from fundradar.pipeline.partnerships.partner_import import import_csv, import_text

GOOD_AND_BAD = (
    "name,acronym,kind,country,languages,contact,website,notes\r\n"
    "Agence Francaise de Developpement,AFD,public agency,France,fr;en,caraibes@afd.example,"
    "www.afd.fr,Regional office in Castries\r\n"  # line 2
    "Université des Antilles,UA,university_research,Guadeloupe,fr,,https://www.univ-antilles.fr,\r\n"
    ",XX,ngo,,,,,\r\n"  # line 4: empty name
    "Fondation de France,,charity,France,fr,,,\r\n"  # line 5: unknown kind
    "Evil Corp,,private,,,,javascript:alert(1),\r\n"  # line 6: not an http(s) link
    '"Caribbean Natural Resources Institute",CANARI,ngo,Trinidad and Tobago,en,,'
    'https://canari.org,"Partner since 2019,\r\nmet at the\r\nforum"\r\n'  # lines 7-9
    "\r\n"  # a blank line Excel left
    "Ministry of Sustainable Development,,government,Saint Lucia,english,,ftp://gov.lc,\r\n"
    '=HYPERLINK("http://evil.example"),,ngo,,,,,\r\n'  # line 12: stored as text
    "Some body,,ngo,,klingon,,,\r\n"  # line 13: not a language
)


@pytest.mark.parametrize("variant", ["comma", "semicolon-bom"])
def test_good_rows_stored_bad_rows_reported_with_line_and_reason(
    session, tmp_path: Path, variant: str
) -> None:
    text = GOOD_AND_BAD
    if variant == "semicolon-bom":  # French Excel: semicolons, "CSV UTF-8" with a BOM
        import csv
        import io

        rows = list(csv.reader(io.StringIO(text)))
        buf = io.StringIO()
        csv.writer(buf, delimiter=";", lineterminator="\r\n").writerows(rows)
        text = "\ufeff" + buf.getvalue()
    path = tmp_path / "partners.csv"
    path.write_bytes(text.encode("utf-8"))
    existing = orgs.find_or_create(session, "Agence française de développement")
    report = import_csv(session, path, author="marie")
    refused = [(p.line, p.reason) for p in report.refused]
    assert refused == [
        (4, "the name is empty"),
        (
            5,
            "unknown kind 'charity' (one of government, public_agency, university_research, "
            "private, ngo, regional_body, other)",
        ),
        (6, "website 'javascript:alert(1)' is not an http(s) link"),
        (11, "website 'ftp://gov.lc' is not an http(s) link"),
        (13, "language 'klingon' is not a language code (fr, en, es...)"),
    ]
    assert str(report.refused[1]) == (
        "line 5 (Fondation de France): unknown kind 'charity' "
        "(one of government, public_agency, university_research, "
        "private, ngo, regional_body, other)"
    )
    assert report.merged == [existing.id]
    assert len(report.created) == 3
    assert report.summary() == "3 new, 1 merged into existing entries, 5 refused"
    session.expire_all()
    afd = session.get(Organisation, existing.id)
    assert afd.kind == "public_agency" and afd.country == "France"
    assert afd.website == "https://www.afd.fr" and afd.languages == ["fr", "en"]
    assert afd.contact == "caraibes@afd.example" and afd.acronym == "AFD"
    assert "Agence Francaise de Developpement" in afd.aliases
    canari = orgs.resolve(session, "CANARI")
    assert canari.notes == "Partner since 2019, met at the forum"  # one line
    assert canari.kind == "ngo" and canari.website == "https://canari.org"
    evil = session.scalars(select(Organisation).where(Organisation.name.like("%HYPERLINK%"))).one()
    assert evil.name.startswith("=HYPERLINK")  # stored as typed; the exports neutralise it
    # importing the same file again adds nothing
    again = import_csv(session, path, author="marie")
    assert again.created == [] and len(again.merged) == 4
    assert session.scalar(select(func.count()).select_from(Organisation)) == 4


def test_unreadable_files(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="no 'name' column"):
        import_text(session, "nom,pays\r\nAFD,France\r\n")
    with pytest.raises(InputError, match="unknown column 'pays'"):
        import_text(session, "name,pays\r\nAFD,France\r\n")
    with pytest.raises(InputError, match="cannot read"):
        import_csv(session, tmp_path / "missing.csv")
    # Windows-1252 from "CSV (Comma delimited)" still reads
    path = tmp_path / "cp1252.csv"
    path.write_bytes("name,country\r\nRégion Martinique,Martinique\r\n".encode("cp1252"))
    assert len(import_csv(session, path).created) == 1
    assert orgs.resolve(session, "Region Martinique").country == "Martinique"
