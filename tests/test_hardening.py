"""Issue 17's fault-probe findings that cut across modules: invisible and bidirectional controls,
a 0-byte database, database errors shown to users.

Reconstructed — not a capture: every hostile string here is made up for the test.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import feedparser
import pytest
from icalendar import Calendar

from fundradar.pipeline import db
from fundradar.pipeline.normalise import normalise
from fundradar.pipeline.normalise.text import (
    clean_title,
    fold_whitespace,
    html_to_text,
    strip_invisible,
)
from fundradar.pipeline.record import Call
from fundradar.web import create_app
from tests.pipeline.exports.exports_factory import NOW, add_call

HIDDEN = ("\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
          "\u2069", "\x00")  # fmt: skip


# ------------------------------------------------------------------- bidi / NUL in normalising


@pytest.mark.parametrize("char", HIDDEN)
def test_text_cleaners_remove_bidi_controls_and_nul(char: str) -> None:
    assert clean_title(f"Appel{char} à projets") == "Appel à projets"
    assert html_to_text(f"<p>Appel{char} à projets</p>") == "Appel à projets"
    assert fold_whitespace(f"a{char}b") == "ab"
    assert strip_invisible(f"x{char}\ny") == "x\ny"  # spaces and lines are not its business


def test_direction_marks_kept_only_in_right_to_left_text() -> None:
    """LRM/RLM reorder nothing on their own; they matter only around Hebrew or Arabic."""
    assert clean_title("Call\u200e 2027\u200f") == "Call 2027"
    hebrew = "\u05de\u05e2\u05e0\u05e7 \u200f2027"
    assert clean_title(hebrew) == hebrew


def test_normalise_strips_an_override_from_every_text_field() -> None:
    call = Call(source="afd", url="https://www.afd.fr/fr/appel-1",
                title="Subvention \u202efdp.exe\u202c pour les ONG\x00",
                summary="<p>R\u00e9sum\u00e9 \u2066cach\u00e9\u2069</p>",
                funder="AFD\u202e", programme="FISONG\u2067", deadline_texts=["31/12/2026"],
                extra={"timezone": "Europe/Paris"})  # fmt: skip
    out = normalise(call, now=datetime(2026, 11, 27, tzinfo=UTC))
    assert out.title == "Subvention fdp.exe pour les ONG"
    assert out.summary == "Résumé caché"
    assert (out.funder, out.programme) == ("AFD", "FISONG")


# ------------------------------------------------------------- bidi / NUL at output (old rows)


def test_rows_stored_with_overrides_leave_every_export_clean() -> None:
    """Defence in depth: a row stored before the normaliser removed them is cleaned on output."""
    with db.session_scope() as s:
        add_call(s, 5, title="Grant \u202egnp.exe\u202c for islands\x00",
                 funder="Fund\u2066er", reasons=["Theme: \u202eocean"],
                 url="https://ec.europa.eu/topic/\u202e5")  # fmt: skip
    client = create_app(clock=lambda: NOW).test_client()
    outputs = {
        "csv": client.get("/calls.csv").get_data().decode("utf-8-sig"),
        "ics": client.get("/calls.ics").get_data().decode("utf-8"),
        "atom": client.get("/calls.atom").get_data().decode("utf-8"),
        "page": client.get("/").get_data(as_text=True),
    }
    for name, text in outputs.items():
        for char in HIDDEN:
            assert char not in text, (name, repr(char))
    row = next(csv.DictReader(io.StringIO(outputs["csv"])))
    assert row["title"] == "Grant gnp.exe for islands" and row["funder"] == "Funder"
    assert row["url"] == "https://ec.europa.eu/topic/5"
    event = next(iter(Calendar.from_ical(outputs["ics"]).walk("VEVENT")))
    assert str(event["summary"]) == "Deadline: Grant gnp.exe for islands"
    feed = feedparser.parse(outputs["atom"])
    assert not feed.bozo and feed.entries[0].title == "Grant gnp.exe for islands"


# ------------------------------------------------------------------ database errors, one line


def run_cli(capsys, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    from fundradar.cli import main

    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


def test_database_error_is_one_line_with_the_cause_never_the_sql(fundradar_home, capsys) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine, text

    from fundradar import settings
    from tests.conftest import DIALECT

    db.init()
    other = create_engine(settings.load().database_url)  # another program, not fundradar's
    with other.begin() as conn:
        conn.execute(text("DROP TABLE verdicts"))  # a table lost behind the program's back
    other.dispose()
    code, _, err = run_cli(capsys, "export", "csv")
    assert code == 3
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    if DIALECT == "sqlite":
        assert "database error: OperationalError: no such table: verdicts" in lines[0]
    else:  # PostgreSQL's message has the statement on its next lines: never shown
        assert 'database error: UndefinedTable: relation "verdicts" does not exist' in lines[0]
    assert "SELECT" not in err and "[SQL" not in err and "parameters" not in err
    assert "traceback saved in" in lines[0]  # the detail is kept for the maintainer


def test_empty_database_file_stops_a_command_with_the_fix(sqlite_file, capsys) -> None:  # type: ignore[no-untyped-def]
    sqlite_file.parent.mkdir(parents=True, exist_ok=True)
    sqlite_file.write_bytes(b"")
    code, _, err = run_cli(capsys, "export", "csv")
    assert code == 3
    assert "is empty (0 bytes)" in err and "restore it from a backup" in err
    assert sqlite_file.stat().st_size == 0


# ------------------------------------------------------------ invalid UTF-8 in a feed: repair


def test_invalid_utf8_bytes_are_read_as_windows_1252_and_counted() -> None:
    from fundradar.pipeline.normalise.text import decode_utf8_repairing

    assert decode_utf8_repairing("déjà vu".encode()) == ("déjà vu", 0)
    mixed = "société ".encode() + b"l\x92appel \x81"  # UTF-8, a cp1252 quote, an undefined byte
    assert decode_utf8_repairing(mixed) == ("société l’appel \ufffd", 2)
    # a Windows-1252 feed that claims UTF-8: every accent is one bad byte, each read right
    assert decode_utf8_repairing("Clôturé à 17h".encode("cp1252")) == ("Clôturé à 17h", 3)


@pytest.mark.parametrize(
    ("head", "claims"),
    [(b'<?xml version="1.0" encoding="UTF-8"?><rss/>', True),
     (b"<?xml version='1.0' encoding='utf8'?><rss/>", True),
     (b"\xef\xbb\xbf<?xml version=\"1.0\"?><rss/>", True),
     (b"<rss version=\"2.0\"/>", True),
     (b'<?xml version="1.0" encoding="ISO-8859-1"?><rss/>', False),
     ("<?xml version='1.0'?><rss/>".encode("utf-16"), False)],
)  # fmt: skip
def test_only_feeds_that_claim_utf8_are_repaired(head: bytes, claims: bool) -> None:
    from fundradar.crawlers.feed import claims_utf8, repaired_feed

    assert claims_utf8(head) is claims
    latin = b'<?xml version="1.0" encoding="ISO-8859-1"?><rss><title>D\xe9cembre</title></rss>'
    assert repaired_feed(latin) == (latin, 0)  # feedparser reads a declared charset itself
