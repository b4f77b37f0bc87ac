"""Two writers at once never store a call twice (the issue's 601 calls for 600 URLs), and an
import stopped by the database closes its run as failed, in one line without SQL.

The 600 calls are generated (reconstructed — not captures): distinct topics, funders and
deadlines, half of them with their own identifier (whose keys differ per source, so only the
page identity can stop the twin), half without.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, text

from fundradar import settings
from fundradar.cli import main
from fundradar.pipeline import db
from fundradar.pipeline.importer import import_lines
from fundradar.pipeline.models import CallRow, CrawlRun, Sighting

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
TOPICS = ["coral reefs", "sargassum", "solar mini-grids", "school meals", "seed banks",
          "mangroves", "fisheries data", "youth start-ups", "water tanks", "flood maps",
          "cocoa farmers", "hurricane shelters", "e-health", "plastic bans", "sea turtles",
          "geothermal", "rainwater", "tourism skills", "cyber security", "women in STEM",
          "drought insurance", "public libraries", "port logistics", "sign language"]  # fmt: skip
PLACES = ["Saint Lucia", "Dominica", "Grenada", "Antigua", "Montserrat", "Anguilla",
          "Saint Kitts", "Saint Vincent", "the BVI", "Martinique", "Guadeloupe", "Barbados",
          "Trinidad", "Jamaica", "Belize", "Guyana", "Suriname", "Haiti", "Cuba", "Aruba",
          "Curaçao", "Bonaire", "Sint Maarten", "the Bahamas", "Bermuda"]  # fmt: skip


def calls_600() -> list[str]:
    lines = []
    for i in range(600):
        topic, place = TOPICS[i % len(TOPICS)], PLACES[i // len(TOPICS)]
        deadline = datetime(2027, 1, 4, tzinfo=UTC) + timedelta(days=3 * i)
        line = {"title": f"{topic.capitalize()} in {place}: {deadline.year} grants",
                "url": f"https://funder{i % 7}.example.org/calls/{i}",
                "funder": f"Funder {i % 7}", "deadline": deadline.strftime("%Y-%m-%d"),
                "summary": f"Grants for {topic} in {place}."}  # fmt: skip
        if i % 2:
            line["id"] = f"CALL-{i}"
        lines.append(json.dumps(line))
    return lines


def test_two_imports_of_the_same_600_calls_at_once_store_600_calls() -> None:
    lines = calls_600()
    db.init()
    reports: dict[str, object] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def writer(source: str) -> None:
        try:
            start.wait()
            reports[source] = import_lines(lines, source=source, now=NOW)
        except BaseException as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(s,)) for s in ("import", "email_dcrm")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert errors == []
    for report in reports.values():
        assert report.counts["rejected"] == 0, [r.describe() for r in report.rejected][:3]  # type: ignore[attr-defined]
    with db.session_scope() as s:
        assert s.scalar(select(func.count(CallRow.id))) == 600
        assert s.scalar(select(func.count(Sighting.id))) == 1200  # each call seen by both
        per_call = s.execute(select(Sighting.call_id, func.count()).group_by(Sighting.call_id))
        assert {n for _, n in per_call} == {2}
        assert {r.status for r in s.scalars(select(CrawlRun))} == {"ok"}


def fill_the_disk(pages_left: int) -> str:
    """The disk fills during the import. Returns the error the database gives.

    SQLite: a real SQLITE_FULL, every new connection may grow the file by `pages_left` pages
    only. PostgreSQL: the server raises its own disk_full error (SQLSTATE 53100, what a full
    tablespace gives) once the calls table holds 50 rows."""
    engine = db.get_engine(settings.load().database_url)  # the engine the import will use
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            conn.execute(
                text("""
                CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  IF (SELECT count(*) FROM calls) >= 50 THEN
                    RAISE EXCEPTION 'could not extend file: No space left on device'
                      USING ERRCODE = 'disk_full';
                  END IF;
                  RETURN NEW;
                END $$""")
            )
            conn.execute(text("CREATE TRIGGER disk_full BEFORE INSERT ON calls "
                              "FOR EACH ROW EXECUTE FUNCTION disk_full()"))  # fmt: skip
        return "DiskFull: could not extend file: No space left on device"
    with engine.connect() as conn:
        used = conn.execute(text("PRAGMA page_count")).scalar_one()

    def limit(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.execute(f"PRAGMA max_page_count = {used + pages_left}")

    event.listen(engine, "connect", limit)
    engine.dispose()  # the pooled connections open again, limited
    return "database or disk is full"


def test_an_import_stopped_by_a_full_disk_closes_its_run_as_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db.init()
    full = fill_the_disk(pages_left=3)
    path = tmp_path / "calls.jsonl"
    path.write_text("\n".join(calls_600()[:200]) + "\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["import", str(path)])
    assert exit_info.value.code == 3  # DatabaseError
    err = capsys.readouterr().err
    assert full in err and "run #1 marked failed" in err
    assert "[SQL" not in err and "INSERT" not in err and len(err.strip().splitlines()) == 1
    db.reset_caches()  # a connection without the limit, to read what was left
    with db.session_scope() as s:
        run = s.scalars(select(CrawlRun)).one()
        assert run.status == "failed" and run.finished_at is not None
        assert run.message is not None and full in run.message
        stored = s.scalar(select(func.count(CallRow.id)))
    assert 0 < stored < 200  # what fitted is kept; the rest is not half-written


@pytest.mark.parametrize("ref", [None, "CALL-7"])
def test_an_insert_that_lost_the_race_is_retried_as_an_update(session, ref) -> None:  # type: ignore[no-untyped-def]
    """The other writer stored the page between our look-up and our insert: `match=None` is
    what our look-up said. The insert breaks a unique rule (the origin page, and the key when
    there is no identifier), is rolled back to its savepoint and stored as a sighting."""
    from fundradar.pipeline import store
    from fundradar.pipeline.normalise import normalise
    from fundradar.pipeline.record import Call

    def item(source: str) -> Call:
        call = Call(source=source, url="https://funder.example.org/calls/7", source_ref=ref,
                    title="Mangroves in Grenada: 2027 grants", deadline_texts=["2027-03-01"],
                    funder="Funder 1")  # fmt: skip
        call.extra["imported"] = True  # both are imports (rank 1): a tie goes by source name
        return normalise(call, now=NOW)

    first = store.upsert(session, item("import"), now=NOW)
    session.commit()
    late = store.upsert(session, item("email_dcrm"), now=NOW, match=None)
    session.commit()
    assert (first.outcome, late.row.id) == ("new", first.row.id)
    # found again by its key (no identifier: both are "url:…") or by its page
    assert late.outcome == "unchanged" and late.match == ("ref" if ref is None else "url")
    assert session.scalar(select(func.count(CallRow.id))) == 1
    assert {s.source for s in first.row.sightings} == {"import", "email_dcrm"}
