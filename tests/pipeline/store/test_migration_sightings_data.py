"""Migration 0004 on a database with calls: the page that owned each call's data gets the
row's fields, so the first merge after the upgrade loses nothing; twins of one page keep NULL.

The rows are reconstructed — not captures.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from alembic import command
from sqlalchemy import create_engine, select, text

from fundradar.pipeline import db, store
from fundradar.pipeline.models import CallRow, Sighting
from fundradar.pipeline.normalise import normalise
from fundradar.pipeline.record import Call

URL_A = "https://www.regionguadeloupe.fr/appels/je-coopere-2027"


def _insert_call(conn, id_: int, key: str, canon: str, **extra_cols) -> None:  # type: ignore[no-untyped-def]
    values = {
        "id": id_, "key": key, "source": "import", "source_ref": None, "url": canon,
        "canonical_url": canon, "title": "Je coopère avec les pays de l'OECO 2027",
        "summary": "Coopération régionale avec Sainte-Lucie.", "funder": "Région Guadeloupe",
        "language": "fr", "deadline": "2027-04-30 16:00:00",
        "deadlines": json.dumps(["2027-04-30T16:00:00+00:00"]), "status": "open",
        "budget_max": 500000.0, "currency": "EUR", "eligibility_text": "Associations",
        "eligible_countries": "[]", "eligible_applicants": "[]", "notes": "[]", "themes": "[]",
        "reasons": "[]", "content_hash": "x", "first_seen": "2026-11-20 00:00:00",
        "last_seen": "2026-11-21 00:00:00", "listed": 1,
        "extra": json.dumps({"data_source": "import", "data_page": canon}),
    }  # fmt: skip
    values.update(extra_cols)
    cols = ", ".join(values)
    conn.execute(text(f"INSERT INTO calls ({cols}) VALUES ({', '.join(':' + c for c in values)})"),
                 values)  # fmt: skip


def test_upgrade_gives_the_owner_page_its_data(fundradar_home) -> None:  # type: ignore[no-untyped-def]
    fundradar_home.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{fundradar_home / 'fundradar.db'}"
    engine = create_engine(url)
    cfg = db.alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003_deadline_kind")
        _insert_call(conn, 1, "url:" + URL_A, URL_A)
        _insert_call(conn, 2, "import:twin", URL_A)  # an old twin of the same page
        for id_, call_id, source, canon in ((1, 1, "import", URL_A),
                                            (2, 1, "import", URL_A + "/en"),
                                            (3, 2, "email", URL_A + "?x")):  # fmt: skip
            conn.execute(
                text("INSERT INTO sightings (id, call_id, source, url, canonical_url, title, "
                     "language, first_seen, last_seen, listed) VALUES (:i, :c, :s, :u, :u, "
                     "'T', 'en', '2026-11-20 00:00:00', '2026-11-20 00:00:00', 1)"),
                {"i": id_, "c": call_id, "s": source, "u": canon},
            )  # fmt: skip
    engine.dispose()

    assert "migrated from 0003_deadline_kind" in db.init(url)
    now = datetime(2026, 11, 27, tzinfo=UTC)
    with db.session_scope(url) as s:
        owner = s.scalars(select(Sighting).where(Sighting.id == 1)).one()
        assert owner.data["funder"] == "Région Guadeloupe" and owner.data["budget_max"] == 500000
        assert owner.data["deadlines"] == ["2027-04-30T16:00:00+00:00"]
        assert owner.data_since["funder"].startswith("2026-11-21T00:00:00")  # its last visit
        other = s.scalars(select(Sighting).where(Sighting.id == 2)).one()
        assert other.data == {"title": "T", "language": "en", "url": URL_A + "/en"}
        origins = dict(s.execute(select(CallRow.id, CallRow.origin_page)).all())
        assert origins[1] is not None and origins[2] is None  # the twin keeps NULL

        # the first import after the upgrade with only a new deadline keeps the rest
        call = Call(source="import", url=URL_A, title="Je coopère avec les pays de l'OECO 2027",
                    deadline_texts=["15 mai 2027 à 12h00"])  # fmt: skip
        call.extra["timezone"] = "America/Guadeloupe"
        stored = store.upsert(s, normalise(call, now=now), now=now)
        row = stored.row
        assert stored.changes == ("deadlines",) and row.id == 1
        assert (row.funder, row.budget_max, row.eligibility_text) == (
            "Région Guadeloupe", 500000, "Associations",
        )  # fmt: skip
