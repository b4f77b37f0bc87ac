"""Deadlines through the real `normalise()`: how each wording comes out as opening date,
deadline, deadline_kind and time zone, in French, English and Spanish.

The wordings are reconstructed — not captures: they imitate what funders' pages, listing cards
and feed descriptions say (AFD, Interreg Caraïbes, EU portal, fundsforNGOs, AECID). "Now" is
frozen (NOW, a Monday); expected values are UTC, with the local offset in a comment when it is
not obvious. Paris/Brussels/Madrid: UTC+1, UTC+2 from 28 March 2027 to 31 October 2027.
New York: UTC-5, UTC-4 from 14 March 2027 to 7 November 2027. Castries, Fort-de-France,
Pointe-à-Pitre, San Juan: UTC-4 all year.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from fundradar.pipeline.normalise import normalise
from fundradar.pipeline.record import Call

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC)


def eod(y: int, mo: int, d: int, h: int) -> datetime:
    """The end of a day (23:59:59 local) given as its UTC date and hour."""
    return datetime(y, mo, d, h, 59, 59, tzinfo=UTC)


@dataclass
class Case:
    name: str
    fields: dict[str, Any]
    opens: datetime | None
    deadline: datetime | None
    kind: str
    tz: str
    notes: list[str] = field(default_factory=list)  # each must appear in some note


def call_of(fields: dict[str, Any]) -> Call:
    fields = dict(fields)
    zone = fields.pop("source_tz", "Europe/Paris")
    return Call(
        source="test",
        url="https://funder.example.org/calls/1",
        title=fields.pop("title", "Appel à projets"),
        extra={"timezone": zone, **fields.pop("extra", {})},
        **fields,
    )


def run(fields: dict[str, Any]) -> Call:
    return normalise(call_of(fields), now=NOW)


PARIS, NY, CASTRIES = "Europe/Paris", "America/New_York", "America/St_Lucia"

FRENCH = [
    Case("period in a deadline text",
         {"deadline_texts": ["Candidatures du 12 décembre 2026 au 31 mars 2027"]},
         utc(2026, 12, 11, 23), eod(2027, 3, 31, 21), "date", PARIS),
    Case("hour in words and Paris time named in the text win over the source's zone",
         {"deadline_texts": ["lundi 13 mai 2024 (au plus tard à 18 heures – heure de Paris)"],
          "source_tz": "America/Martinique"},
         None, utc(2024, 5, 13, 16), "datetime", PARIS),
    Case("period with a dash", {"deadline_texts": ["17 décembre 2024 - 24 janvier 2025"]},
         utc(2024, 12, 16, 23), eod(2025, 1, 24, 22), "date", PARIS),
    Case("18h", {"deadline_texts": ["Date limite : 15 mars 2027 à 18h"]},
         None, utc(2027, 3, 15, 17), "datetime", PARIS),
    Case("18 h 30 in summer time", {"deadline_texts": ["30 avril 2027, 18 h 30"]},
         None, utc(2027, 4, 30, 16, 30), "datetime", PARIS),
    Case("18h30 heure de la Martinique",
         {"deadline_texts": ["Clôture le 2 février 2027 à 18h30 (heure de la Martinique)"]},
         None, utc(2027, 2, 2, 22, 30), "datetime", "America/Martinique"),
    Case("cue in the description", {"summary": "<p>Appel ouvert. Date limite : 26 mars 2027</p>"},
         None, eod(2027, 3, 26, 22), "date", PARIS, ["deadline read from the description"]),
    Case("clôture le in the description", {"summary": "Clôture le 30 avril 2027."},
         None, eod(2027, 4, 30, 21), "date", PARIS),
    Case("avant le, in a sentence about applying",
         {"summary": "Les dossiers doivent être déposés avant le 26 mars 2027 à midi."},
         None, utc(2027, 3, 26, 11), "datetime", PARIS),
    Case("jusqu'au with a weekday",
         {"summary": "Les candidatures sont ouvertes jusqu'au vendredi 9 avril 2027."},
         None, eod(2027, 4, 9, 21), "date", PARIS),
    Case("date de clôture, numeric", {"summary": "Date de clôture : 15/01/2027"},
         None, eod(2027, 1, 15, 22), "date", PARIS),
    Case("period inside a description",
         {"summary": "Les candidatures sont ouvertes du 12 décembre 2026 au 31 mars 2027."},
         utc(2026, 12, 11, 23), eod(2027, 3, 31, 21), "date", PARIS),
    Case("opening and closing words in one description",
         {"summary": "Appel lancé le 12 décembre 2026 ; clôture le 31 mars 2027."},
         utc(2026, 12, 11, 23), eod(2027, 3, 31, 21), "date", PARIS),
    Case("labelled opening and closing in one deadline text",
         {"deadline_texts": ["Ouverture : 1 mars 2027 – Clôture : 30 avril 2027"]},
         utc(2027, 2, 28, 23), eod(2027, 4, 30, 21), "date", PARIS),
    Case("weekday and no year after the publication date",
         {"deadline_texts": ["lundi 13 mai"], "published_text": "Publié le 2 avril 2024"},
         None, eod(2024, 5, 13, 21), "date", PARIS,
         ["deadline year inferred: “lundi 13 mai” read as 13 May 2024 (first after the "
          "publication date 2024-04-02)"]),
    Case("an extension replaces the first date",
         {"deadline_texts": ["31 mars 2027 (prolongée jusqu'au 15 avril 2027)"]},
         None, eod(2027, 4, 15, 21), "date", PARIS),
    Case("the former date of an extension is not a deadline",
         {"deadline_texts": ["Date limite prolongée au 15 avril 2027 (initialement le 31 mars "
                             "2027)"]},
         None, eod(2027, 4, 15, 21), "date", PARIS),
    Case("en continu in the status", {"status_text": "Ouvert en continu"},
         None, None, "rolling", PARIS),
    Case("au fil de l'eau in the description", {"summary": "Dépôt des dossiers au fil de l'eau."},
         None, None, "rolling", PARIS),
    Case("sans date limite", {"deadline_texts": ["Sans date limite"]},
         None, None, "rolling", PARIS),
]  # fmt: skip

ENGLISH = [
    Case("weekday without year after the publication date",
         {"deadline_texts": ["Friday 9 April"], "published_text": "Published: 2 November 2026",
          "source_tz": "Europe/Brussels", "language": "en"},
         None, eod(2027, 4, 9, 21), "date", "Europe/Brussels", ["deadline year inferred"]),
    Case("date only, New York", {"deadline_texts": ["15-Jan-2027"], "source_tz": NY},
         None, eod(2027, 1, 16, 4), "date", NY),
    Case("6 pm in New York summer time",
         {"deadline_texts": ["9 April 2027, 6 pm"], "source_tz": NY},
         None, utc(2027, 4, 9, 22), "datetime", NY),
    Case("6:00 p.m.", {"deadline_texts": ["April 9, 2027 6:00 p.m."], "source_tz": NY},
         None, utc(2027, 4, 9, 22), "datetime", NY),
    Case("17:00 CET wins over the source's zone",
         {"deadline_texts": ["12 March 2027 17:00 CET"], "source_tz": CASTRIES},
         None, utc(2027, 3, 12, 16), "datetime", "Europe/Brussels"),
    Case("Brussels time in summer",
         {"deadline_texts": ["31 March 2027, 17:00 Brussels time"], "source_tz": CASTRIES},
         None, utc(2027, 3, 31, 15), "datetime", "Europe/Brussels"),
    Case("AST", {"deadline_texts": ["15 January 2027, 4:00 pm AST"]},
         None, utc(2027, 1, 15, 20), "datetime", CASTRIES),
    Case("EST before the US change",
         {"deadline_texts": ["Deadline: 5 p.m. EST on 10 March 2027"]},
         None, utc(2027, 3, 10, 22), "datetime", NY),
    Case("EST written, daylight time meant, after the US change",
         {"deadline_texts": ["Deadline: 5 p.m. EST on 15 March 2027"]},
         None, utc(2027, 3, 15, 21), "datetime", NY),
    Case("UTC", {"deadline_texts": ["28 January 2027 23:59 UTC"]},
         None, utc(2027, 1, 28, 23, 59), "datetime", "UTC"),
    Case("GMT", {"deadline_texts": ["Closing date: 30 June 2027, 12:00 GMT"]},
         None, utc(2027, 6, 30, 12), "datetime", "UTC"),
    Case("deadline in a feed description",
         {"summary": "Grants for coastal communities. Deadline: 9 April 2027", "source_tz": NY},
         None, eod(2027, 4, 10, 3), "date", NY),
    Case("closing date a few words before the date",
         {"summary": "The closing date for applications is 15 February 2027.",
          "source_tz": CASTRIES},
         None, eod(2027, 2, 16, 3), "date", CASTRIES),
    Case("until, in a sentence about applying",
         {"summary": "Applications are accepted until 9 April 2027.", "source_tz": CASTRIES},
         None, eod(2027, 4, 10, 3), "date", CASTRIES),
    Case("between … and … in a description",
         {"summary": "Apply between 1 March and 30 April 2027.", "source_tz": CASTRIES},
         utc(2027, 3, 1, 4), eod(2027, 5, 1, 3), "date", CASTRIES),
    Case("period text from … to …", {"period_text": "from 1 March 2027 to 30 April 2027"},
         utc(2027, 2, 28, 23), eod(2027, 4, 30, 21), "date", PARIS),
    Case("publication, event and deadline in one description",
         {"summary": "Published on 1 March 2027. Information session on 10 March 2027. "
                     "Deadline: 9 April 2027 at 17:00 CET.", "source_tz": CASTRIES},
         None, utc(2027, 4, 9, 15), "datetime", "Europe/Brussels"),
    Case("deadline extended", {"summary": "Deadline extended from 15 March to 30 April 2027."},
         None, eod(2027, 4, 30, 21), "date", PARIS),
    Case("extended, with the original date after it",
         {"summary": "The deadline has been extended to 30 April 2027 (originally 15 March "
                     "2027)."},
         None, eod(2027, 4, 30, 21), "date", PARIS),
    Case("rolling basis", {"summary": "Applications are reviewed on a rolling basis."},
         None, None, "rolling", PARIS),
    Case("open until filled", {"deadline_texts": ["Open until filled"]},
         None, None, "rolling", PARIS),
    Case("until further notice", {"summary": "This call is open until further notice."},
         None, None, "rolling", PARIS),
    Case("no deadline", {"deadline_texts": ["No deadline"]}, None, None, "rolling", PARIS),
]  # fmt: skip

SPANISH = [
    Case("del … al …", {"deadline_texts": ["del 15 de abril al 17 de junio de 2027"],
                        "source_tz": "Europe/Madrid"},
         utc(2027, 4, 14, 22), eod(2027, 6, 17, 21), "date", "Europe/Madrid"),
    Case("fecha límite, hora de Madrid",
         {"summary": "Fecha límite: 15 de marzo de 2027 a las 14:00 hora de Madrid",
          "source_tz": CASTRIES},
         None, utc(2027, 3, 15, 13), "datetime", "Europe/Madrid"),
    Case("hasta el, in a sentence about applying",
         {"summary": "Las solicitudes se reciben hasta el 30 de abril de 2027.",
          "source_tz": "America/Puerto_Rico"},
         None, eod(2027, 5, 1, 3), "date", "America/Puerto_Rico"),
    Case("weekday, time and zone",
         {"deadline_texts": ["viernes 9 de abril de 2027 a las 18:00 (hora de Madrid)"]},
         None, utc(2027, 4, 9, 16), "datetime", "Europe/Madrid"),
    Case("convocatoria abierta permanente",
         {"deadline_texts": ["Convocatoria abierta permanente"]}, None, None, "rolling", PARIS),
    Case("sin fecha límite",
         {"summary": "Sin fecha límite: las propuestas se evalúan a medida que llegan."},
         None, None, "rolling", PARIS),
]  # fmt: skip

NUMERIC = [
    Case("03/04/2027 on a French site: day first, flagged",
         {"deadline_texts": ["03/04/2027"], "language": "fr"},
         None, eod(2027, 4, 3, 21), "date", PARIS,
         ["date 03/04/2027 read as 3 April 2027 (day/month, source locale); could be 4 March"]),
    Case("03/04/2027 on a US site: month first, flagged",
         {"deadline_texts": ["03/04/2027"], "language": "en", "source_tz": NY},
         None, eod(2027, 3, 5, 4), "date", NY,
         ["date 03/04/2027 read as 4 March 2027 (month/day, source locale); could be 3 April"]),
    Case("03/04/2027 on a Caribbean English site: day first",
         {"deadline_texts": ["03/04/2027"], "language": "en", "source_tz": CASTRIES},
         None, eod(2027, 4, 4, 3), "date", CASTRIES, ["could be 4 March"]),
    Case("an en-US locale stated by the import wins over the zone",
         {"deadline_texts": ["03/04/2027"], "source_tz": CASTRIES,
          "extra": {"locale": "en_US"}},
         None, eod(2027, 3, 5, 3), "date", CASTRIES, ["(month/day, source locale)"]),
    Case("04/30/2027 on a day-first site: the other order, said",
         {"deadline_texts": ["04/30/2027"]},
         None, eod(2027, 4, 30, 21), "date", PARIS,
         ["date 04/30/2027 read as 30 April 2027 (month/day: the other order is impossible)"]),
    Case("13/04/2027 on a US site: the other order, said",
         {"deadline_texts": ["13/04/2027"], "language": "en", "source_tz": NY},
         None, eod(2027, 4, 14, 3), "date", NY, ["(day/month: the other order is impossible)"]),
]  # fmt: skip

DST_EDGES = [
    Case("the day Paris moves to summer time",
         {"deadline_texts": ["28 mars 2027"]}, None, eod(2027, 3, 28, 21), "date", PARIS),
    Case("the day before", {"deadline_texts": ["27 mars 2027"]},
         None, eod(2027, 3, 27, 22), "date", PARIS),
    Case("the day Paris goes back to winter time", {"deadline_texts": ["31 octobre 2027"]},
         None, eod(2027, 10, 31, 22), "date", PARIS),
    Case("02h30 that does not exist in Paris: winter offset",
         {"deadline_texts": ["28 mars 2027 à 02h30 (heure de Paris)"]},
         None, utc(2027, 3, 28, 1, 30), "datetime", PARIS),
    Case("the day New York moves to daylight time",
         {"deadline_texts": ["14 March 2027"], "source_tz": NY},
         None, eod(2027, 3, 15, 3), "date", NY),
    Case("the day New York goes back to standard time",
         {"deadline_texts": ["7 November 2027"], "source_tz": NY},
         None, eod(2027, 11, 8, 4), "date", NY),
]  # fmt: skip

# Dates that are not deadlines: the call still comes out, with "not found".
NOT_DEADLINES = [
    Case("publication date", {"summary": "Publié le 3 mars 2027. Appel pour la coopération."},
         None, None, "not_found", PARIS),
    Case("published on line", {"summary": "Published on 1 March 2027 by the Delegation."},
         None, None, "not_found", PARIS),
    Case("event date", {"summary": "The conference will take place on 12 May 2027 in Castries."},
         None, None, "not_found", PARIS),
    Case("event period", {"summary": "La conférence aura lieu du 12 au 15 mai 2027."},
         None, None, "not_found", PARIS),
    Case("information session", {"summary": "Information session: 3 March 2027 at 10:00 AST."},
         None, None, "not_found", PARIS),
    Case("results", {"summary": "Results will be announced on 15 June 2027."},
         None, None, "not_found", PARIS),
    Case("a project's own time", {"summary": "Projects must start before 1 January 2028."},
         None, None, "not_found", PARIS),
    Case("until, about an event", {"summary": "The workshop runs until 12 May 2027."},
         None, None, "not_found", PARIS),
    Case("an opening date alone is not a deadline",
         {"summary": "The call opens on 1 March 2027."}, None, None, "not_found", PARIS),
    Case("no deadline extension is not rolling",
         {"summary": "No deadline extension will be granted."}, None, None, "not_found", PARIS),
    Case("all year round is not rolling",
         {"summary": "Les ateliers du réseau ont lieu toute l'année."},
         None, None, "not_found", PARIS),
    Case("nothing at all", {"summary": "Soutien aux associations de la Caraïbe."},
         None, None, "not_found", PARIS),
]  # fmt: skip

CASES = FRENCH + ENGLISH + SPANISH + NUMERIC + DST_EDGES + NOT_DEADLINES


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_deadline_wordings(case: Case) -> None:
    call = run(case.fields)
    assert call.opens_at == case.opens
    assert call.deadline == case.deadline
    assert call.deadlines == ([case.deadline] if case.deadline else [])
    assert call.deadline_kind == case.kind
    assert call.timezone == case.tz
    for note in case.notes:
        assert any(note in n for n in call.notes), (note, call.notes)


def test_enough_wordings() -> None:
    assert min(len(FRENCH), len(ENGLISH), len(SPANISH)) >= 6
    assert len(NOT_DEADLINES) >= 10
    assert len({c.name for c in CASES}) == len(CASES)


def test_the_opening_date_is_never_the_deadline() -> None:
    for text in ("Candidatures du 12 décembre 2026 au 31 mars 2027",
                 "from 12 December 2026 to 31 March 2027",
                 "del 12 de diciembre de 2026 al 31 de marzo de 2027",
                 "12 décembre 2026 - 31 mars 2027", "du 12 au 31 mars 2027"):  # fmt: skip
        call = run({"deadline_texts": [text]})
        assert call.deadline is not None and call.opens_at is not None, text
        assert call.deadline.date().isoformat() == "2027-03-31", text
        assert call.opens_at < call.deadline, text
        assert call.status in ("open", "forthcoming"), text


def test_a_weekday_that_does_not_match_is_said() -> None:
    # no publication date: placed after the crawl date, where 13 May is a Thursday
    call = run({"deadline_texts": ["lundi 13 mai"]})
    assert call.deadline == eod(2027, 5, 13, 21)
    assert any("deadline year inferred" in n and "crawl date 2026-12-07" in n for n in call.notes)
    assert any("13 May 2027 is a Thursday, not a Monday" in n for n in call.notes)


def test_an_unambiguous_numeric_date_gets_no_note() -> None:
    call = run({"deadline_texts": ["25/04/2027", "04/04/2027"]})
    assert call.notes == []


def test_status_of_rolling_calls() -> None:
    assert run({"summary": "Applications on a rolling basis."}).status == "open"
    closed = run({"summary": "Rolling basis.", "status_text": "Closed"})
    assert (closed.deadline_kind, closed.status) == ("rolling", "closed")
    later = run({"summary": "Applications on a rolling basis.", "opens_text": "1 March 2027"})
    assert (later.deadline_kind, later.status) == ("rolling", "forthcoming")


def test_a_written_deadline_beats_the_description_and_rolling_words() -> None:
    call = run({"deadline_texts": ["30 avril 2027"],
                "summary": "Date limite : 26 mars 2027. Dépôt au fil de l'eau."})  # fmt: skip
    assert (call.deadline, call.deadline_kind) == (eod(2027, 4, 30, 21), "date")
    assert not any("description" in n for n in call.notes)


def test_a_date_with_a_time_in_a_second_stage_keeps_its_kind() -> None:
    call = run({"deadline_texts": ["Étape 1 : 12 janvier 2027 ; étape 2 : 15 juin 2027 à 12h"]})
    assert call.deadlines == [eod(2027, 1, 12, 22), utc(2027, 6, 15, 10)]
    assert (call.deadline, call.deadline_kind) == (eod(2027, 1, 12, 22), "date")
    later = normalise(
        call_of({"deadline_texts": ["Étape 1 : 12 janvier 2027 ; étape 2 : 15 juin 2027 à 12h"]}),
        now=datetime(2027, 2, 1, tzinfo=UTC),
    )
    assert (later.deadline, later.deadline_kind) == (utc(2027, 6, 15, 10), "datetime")


def test_an_impossible_deadline_is_noted_and_the_call_kept() -> None:
    call = run({"deadline_texts": ["31/02/2027"]})
    assert (call.deadline, call.deadline_kind) == (None, "not_found")
    assert any("no day 31 in February 2027" in n for n in call.notes)


def test_deadlines_typed_by_a_spider_keep_their_kind() -> None:
    # the EU API gives instants; a carried date-only deadline is 23:59:59 in the funder's zone
    api = call_of({})
    api.deadlines = [utc(2027, 4, 8, 15)]
    assert normalise(api, now=NOW).deadline_kind == "datetime"
    carried = call_of({"source_tz": NY})
    carried.deadlines = [eod(2027, 1, 16, 4)]
    assert normalise(carried, now=NOW).deadline_kind == "date"


def test_feed_item_with_the_deadline_only_in_its_description() -> None:
    """An RSS item as the feed spider yields it: no deadline text, HTML description, RFC 822
    publication date (reconstructed — not a capture)."""
    item = Call(
        source="feed_example",
        url="https://funder.example.org/appels/coreom-2027",
        title="CORÉOM 2027 : coopération régionale des Outre-mer",
        summary=(
            "<p>L'appel à projets CORÉOM 2027 soutient la coopération entre les Outre-mer et "
            "leurs voisins de la Caraïbe.</p><p>Publié le 30 novembre 2026.</p>"
            "<p><strong>Date limite :</strong> 26 mars 2027</p>"
        ),
        published_text="Mon, 30 Nov 2026 10:00:00 +0000",
        extra={"timezone": "America/Martinique"},
    )
    call = normalise(item, now=NOW)
    assert call.deadline == eod(2027, 3, 27, 3)  # 23:59:59 in Fort-de-France
    assert (call.deadline_kind, call.timezone, call.status) == (
        "date",
        "America/Martinique",
        "open",
    )
    assert "deadline read from the description: “26 mars 2027”" in call.notes
    assert call.content_hash is not None


def test_a_rolling_call_carried_from_the_store_stays_rolling() -> None:
    # an unchanged listing entry: the stored fields come back, not the deadline text
    carried = call_of({"status": "open"})
    carried.deadline_kind, carried.extra["unchanged_listing"] = "rolling", True
    assert normalise(carried, now=NOW).deadline_kind == "rolling"
    fresh = call_of({})
    fresh.deadline_kind = "rolling"  # not carried: only the words decide
    assert normalise(fresh, now=NOW).deadline_kind == "not_found"
