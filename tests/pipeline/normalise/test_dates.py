"""pipeline.normalise.dates: deadlines as funders write them, read into aware UTC.

"Now" is frozen through the `reference` argument (REF), never at import time. Expected values
are UTC; the comment on a row says which local offset applies when it is not obvious.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fundradar.pipeline.normalise.dates import (
    InvalidDate,
    ParsedDate,
    format_deadline,
    format_local,
    parse_date,
    parse_dates,
    parse_dates_with_errors,
    parse_period,
    read_spans,
    to_local,
    zone_label,
)

REF = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)  # a Wednesday; dates without a year go after it


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def eod(y: int, mo: int, d: int, h: int, mi: int) -> datetime:
    """A date-only deadline: 23:59:59 local (the minute given in UTC, plus 59 seconds)."""
    return datetime(y, mo, d, h, mi, 59, tzinfo=UTC)


# (text as written, expected UTC, has_time, inferred_year)
# Paris/Brussels: UTC+1 in winter, UTC+2 from the last Sunday of March (2025-03-30, 2026-03-29)
# to the last Sunday of October (2024-10-27, 2025-10-26, 2026-10-25).
Case = tuple[str, datetime, bool, bool]

FRENCH: list[Case] = [
    ("31 mars 2025 à 12h00 (heure de Paris)", utc(2025, 3, 31, 10), True, False),
    ("Date limite : 31 mars 2025", eod(2025, 3, 31, 21, 59), False, False),
    ("1er avril 2026", eod(2026, 4, 1, 21, 59), False, False),
    ("lundi 2 février 2026 à minuit", utc(2026, 2, 2, 22, 59), True, False),  # end of that day
    ("le lundi 7 novembre 2022 à 17h00 (heure de Paris)", utc(2022, 11, 7, 16), True, False),
    ("Date limite de dépôt des dossiers : 30/10/2023 16:00", utc(2023, 10, 30, 15), True, False),
    (
        "Tout dossier déposé après le mardi 21 janvier 2014 à 14 h ne sera pas instruit.",
        utc(2014, 1, 21, 13),
        True,
        False,
    ),
    ("clôture le 15 mai", eod(2025, 5, 15, 21, 59), False, True),
    ("le 15 mai", eod(2025, 5, 15, 21, 59), False, True),
    ("Les porteurs de projets ont jusqu'au lundi 17 juin", eod(2025, 6, 17, 21, 59), False, True),
    ("31 mars 2025 à midi", utc(2025, 3, 31, 10), True, False),
    ("31 mars 2025 à 12h", utc(2025, 3, 31, 10), True, False),
    ("31/03/2025", eod(2025, 3, 31, 21, 59), False, False),
    ("30.06.2026", eod(2026, 6, 30, 21, 59), False, False),
    ("Date de clôture : 15 janvier 2026 à 23h59", utc(2026, 1, 15, 22, 59), True, False),
    ("12 décembre 2024", eod(2024, 12, 12, 22, 59), False, False),
    (
        "Clôture des candidatures le 28 février 2025 à 17 h 30",
        utc(2025, 2, 28, 16, 30),
        True,
        False,
    ),
    ("vendredi 20 septembre 2024, 12h00 heure de Paris", utc(2024, 9, 20, 10), True, False),
    ("le 3 novembre 2025 à 18h (heure de la Martinique)", utc(2025, 11, 3, 22), True, False),
    ("15/04/2025 à 12h00, heure de Guadeloupe", utc(2025, 4, 15, 16), True, False),
    ("prendra fin le 31 mars prochain", eod(2025, 3, 31, 21, 59), False, True),
    ("Cet appel à projets lancé le 12 décembre dernier", eod(2024, 12, 12, 22, 59), False, True),
    ("27 mars 2026 à 17h00 heure de Paris", utc(2026, 3, 27, 16), True, False),  # still +1
    ("30 mars 2026 à 17h00 heure de Paris", utc(2026, 3, 30, 15), True, False),  # now +2
    # 02:30 does not exist on 29 March 2026 in Paris: read with the offset before the change.
    ("29 mars 2026 à 02h30 (heure de Paris)", utc(2026, 3, 29, 1, 30), True, False),
    # 02:30 happens twice on 25 October 2026: the first (summer time) is taken.
    ("25 octobre 2026 à 02h30 (heure de Paris)", utc(2026, 10, 25, 0, 30), True, False),
    ("25 octobre 2026", eod(2026, 10, 25, 22, 59), False, False),  # 23:59 CET, winter again
    ("29 mars 2026", eod(2026, 3, 29, 21, 59), False, False),  # 23:59 CEST, summer already
    ("Date limite : 2 mai 2025 à 0h00", utc(2025, 5, 1, 22), True, False),
    ("le 29 février", eod(2028, 2, 29, 22, 59), False, True),  # next leap year after REF
    ("15 févr. 2026", eod(2026, 2, 15, 22, 59), False, False),
    ("1er août 2025 à 12 heures", utc(2025, 8, 1, 10), True, False),
    ("31 decembre 2025 a 24h00", utc(2025, 12, 31, 22, 59), True, False),  # accents dropped
    ("15 avril 2025 à 16h00 (heure de Paris / Bruxelles)", utc(2025, 4, 15, 14), True, False),
    ("mercredi 4 juin 2025 - 12h00 heure française", utc(2025, 6, 4, 10), True, False),
    ("Limite de dépôt des projets: 2025-06-12.", eod(2025, 6, 12, 21, 59), False, False),
]

ENGLISH: list[Case] = [
    ("March 31st, 2025, 17:00 CET", utc(2025, 3, 31, 15), True, False),  # CET read as Brussels
    ("Deadline: 5 p.m. (EST) on June 30, 2025", utc(2025, 6, 30, 21), True, False),  # EDT in June
    ("Deadline date: 12 March 2026 17:00:00 Brussels time", utc(2026, 3, 12, 16), True, False),
    ("now open – deadline 29 November 2023", eod(2023, 11, 29, 22, 59), False, False),
    ("Closing date: 30 June 2025, 23:59 (GMT)", utc(2025, 6, 30, 23, 59), True, False),
    ("Tuesday, March 31, 2026 at 11:59 p.m. ET", utc(2026, 4, 1, 3, 59), True, False),
    ("Applications close at midnight on 15 March 2026", utc(2026, 3, 15, 22, 59), True, False),
    ("Deadline: January 15, 2026, 5 p.m. EST", utc(2026, 1, 15, 22), True, False),
    ("31 March 2026, 17:00 (UTC+2)", utc(2026, 3, 31, 15), True, False),
    ("The call closes on 12 July 2026 at 17:00 CET", utc(2026, 7, 12, 15), True, False),
    ("30 April 2025 at 12:00 noon (Brussels time)", utc(2025, 4, 30, 10), True, False),
    ("June 2026", eod(2026, 6, 30, 21, 59), False, False),  # month only: its last day
    ("Deadline: 15 May", eod(2025, 5, 15, 21, 59), False, True),
    ("Deadline: May 15", eod(2025, 5, 15, 21, 59), False, True),
    ("Deadline 06/30/2025", eod(2025, 6, 30, 21, 59), False, False),  # US order, unambiguous
    ("by 4:00 pm AST on 14 February 2025", utc(2025, 2, 14, 20), True, False),
    ("Closing: 2025-06-12", eod(2025, 6, 12, 21, 59), False, False),
    ("2025-03-31T17:00:00+01:00", utc(2025, 3, 31, 16), True, False),
    ("2027-04-08T00:00:00.000+0000", utc(2027, 4, 8), True, False),  # EU portal, literal
    ("2024-11-27T17:00:00.000+0000", utc(2024, 11, 27, 17), True, False),
    ("2025-03-05T12:00:00Z", utc(2025, 3, 5, 12), True, False),
    ("2025-03-05 17:00 CET", utc(2025, 3, 5, 16), True, False),
    ("2026/06/30", eod(2026, 6, 30, 21, 59), False, False),
    ("the 1st of October 2025", eod(2025, 10, 1, 21, 59), False, False),
    ("Sept. 30, 2025", eod(2025, 9, 30, 21, 59), False, False),
    ("Deadline: 12-Mar-2026", eod(2026, 3, 12, 22, 59), False, False),
    ("Deadline: 31-Mar-25", eod(2025, 3, 31, 21, 59), False, False),
    ("3 March 2025 at 3 p.m. Eastern Time", utc(2025, 3, 3, 20), True, False),  # EST, -5
    ("10 March 2025 at 3 p.m. Eastern Time", utc(2025, 3, 10, 19), True, False),  # EDT since 9th
    ("31 October 2025 17:00 London time", utc(2025, 10, 31, 17), True, False),  # GMT again
    ("Deadline 15 April 2025 17:00 GMT+1", utc(2025, 4, 15, 16), True, False),
    ("12 March 2026, 17:00 (Saint Lucia time)", utc(2026, 3, 12, 21), True, False),
    ("am 31. März 2025", eod(2025, 3, 31, 21, 59), False, False),  # a German partner page
    ("31 maart 2025 om 17:00", utc(2025, 3, 31, 15), True, False),  # Sint Maarten, Dutch
]

SPANISH: list[Case] = [
    ("15 de marzo de 2026", eod(2026, 3, 15, 22, 59), False, False),
    (
        "hasta el 30 de abril de 2026 a las 23:59 (hora de Bruselas)",
        utc(2026, 4, 30, 21, 59),
        True,
        False,
    ),
    ("Fecha límite: 1º de julio de 2025", eod(2025, 7, 1, 21, 59), False, False),
    (
        "miércoles 15 de octubre de 2025 a las 18:00 hora de Madrid",
        utc(2025, 10, 15, 16),
        True,
        False,
    ),
    ("Cierre: 31/12/2025 a las 14:00 (hora del Atlántico)", utc(2025, 12, 31, 18), True, False),
    ("hasta el 15 de mayo", eod(2025, 5, 15, 21, 59), False, True),
    ("junio de 2026", eod(2026, 6, 30, 21, 59), False, False),
    ("del 15 de abril al 17 de junio de 2016", eod(2016, 4, 15, 21, 59), False, False),
    ("30 de septiembre de 2025 a medianoche", utc(2025, 9, 30, 21, 59), True, False),
    ("a las 12:00 del 20 de enero de 2026", utc(2026, 1, 20, 11), True, False),
    ("31 3 2025", eod(2025, 3, 31, 21, 59), False, False),  # dateparser fallback, day first
]

CASES = FRENCH + ENGLISH + SPANISH


@pytest.mark.parametrize(("text", "expected", "has_time", "inferred"), CASES)
def test_parse_date_real_world(text: str, expected: datetime, has_time: bool, inferred: bool):
    got = parse_date(text, reference=REF)
    assert got is not None, text
    assert got.value == expected
    assert got.value.tzinfo is UTC
    assert (got.has_time, got.inferred_year) == (has_time, inferred)


def test_enough_real_world_cases():
    assert len(CASES) >= 70
    assert min(len(FRENCH), len(ENGLISH), len(SPANISH)) >= 10
    assert len({text for text, *_ in CASES}) == len(CASES)


IMPOSSIBLE = [
    ("31/02/2025", "no day 31 in February 2025"),
    ("29/02/2025", "no day 29 in February 2025"),
    ("30 février 2026", "no day 30 in February"),
    ("32 mars 2025", "day 32"),
    ("31 avril 2025", "no day 31 in April"),
    ("31 de junio de 2026", "no day 31 in June"),
    ("le 31 avril", "no day 31 in April"),  # no year: impossible in every year
    ("15 mars 1900", "year 1900"),
    ("1989-12-31", "year 1989"),
    ("12 June 2200", "year 2200"),
    ("2025-13-01", "month 13"),
    ("13/13/2025", "month 13"),
    ("12 mars 2025 à 25h00", "25:00"),
    ("31 March 2025 at 13 p.m.", "13 pm"),
]


@pytest.mark.parametrize(("text", "reason"), IMPOSSIBLE)
def test_impossible_dates_raise_with_reason(text: str, reason: str):
    with pytest.raises(InvalidDate, match=reason):
        parse_date(text, reference=REF)


NOT_DATES = [
    "",
    "Horizon Europe 2021-2027",
    "Tel : 05.90.99.12.34",
    "HORIZON-CL5-2027-01-01-two-stage",
    "Up to 10 may be funded",
    "budget 2025",
    "12h",
    "midi",
    "jusqu'à 70 %",
    "EUR 1.000.000",
    "version 1.2.3",
    "Call 2025-2",
    "in 3 days",
    "Sept projets seront retenus",
    "EuropeAid/187022/DD/ACT/Multi",
]


@pytest.mark.parametrize("text", NOT_DATES)
def test_text_without_a_date_gives_none(text: str):
    assert parse_date(text, reference=REF) is None


def test_result_carries_source_text_and_zone_source():
    got = parse_date("Date limite : 31 mars 2025 à 12h00 (heure de Paris). Merci.", reference=REF)
    assert got == ParsedDate(
        value=utc(2025, 3, 31, 10),
        has_time=True,
        inferred_year=False,
        tz_source="text",
        text="31 mars 2025 à 12h00 (heure de Paris)",
    )
    plain = parse_date("31/03/2025 12:00", reference=REF)
    assert plain is not None and plain.tz_source == "default"


def test_default_zone_is_a_parameter():
    got = parse_date("31/03/2025", tz="America/St_Lucia", reference=REF)
    assert got is not None and got.value == eod(2025, 4, 1, 3, 59)
    stated = parse_date("31/03/2025 12:00 CET", tz="America/St_Lucia", reference=REF)
    assert stated is not None and stated.value == utc(2025, 3, 31, 10)  # the text wins


def test_end_of_day_false_gives_start_of_day_for_openings():
    got = parse_date("Ouverture : 12 décembre 2024", end_of_day=False, reference=REF)
    assert got is not None and got.value == utc(2024, 12, 11, 23)
    month = parse_date("June 2026", end_of_day=False, reference=REF)
    assert month is not None and month.value == utc(2026, 5, 31, 22) and month.month_only
    timed = parse_date("12 décembre 2024 à 9h", end_of_day=False, reference=REF)
    assert timed is not None and timed.value == utc(2024, 12, 12, 8)  # a written time wins


def test_year_is_placed_on_or_after_reference_in_local_time():
    # 23:30 UTC on 14 May is already 15 May in Paris: "le 15 mai" is that day, not next year.
    late = datetime(2025, 5, 14, 23, 30, tzinfo=UTC)
    got = parse_date("le 15 mai", reference=late)
    assert got is not None and got.value == eod(2025, 5, 15, 21, 59)
    after = parse_date("le 15 mai", reference=datetime(2025, 5, 16, tzinfo=UTC))
    assert after is not None and after.value.year == 2026


def test_naive_reference_is_taken_as_utc():
    got = parse_date("15 janvier", reference=datetime(2025, 1, 16, 12))
    assert got is not None and got.value.year == 2026


def test_default_reference_is_now():
    now = datetime.now(UTC)
    got = parse_date("le 15 mai")
    assert got is not None and got.inferred_year
    assert now - timedelta(days=1) <= got.value <= now + timedelta(days=366)


def test_lowercase_may_needs_a_year_or_a_capital():
    assert parse_date("projects may 2026 be funded", reference=REF) is not None  # month + year
    assert parse_date("10 may be funded", reference=REF) is None
    got = parse_date("Deadline 10 May", reference=REF)
    assert got is not None and got.value.month == 5


# --- several dates ------------------------------------------------------------------------


def test_two_stage_deadlines_in_order():
    got = parse_dates("1st stage: 12 March 2026; 2nd stage: 17 September 2026", reference=REF)
    assert [d.value for d in got] == [eod(2026, 3, 12, 22, 59), eod(2026, 9, 17, 21, 59)]


def test_eu_portal_deadline_pair():
    got = parse_dates("2027-04-08 / 2027-09-14", reference=REF)
    assert [d.value.date().isoformat() for d in got] == ["2027-04-08", "2027-09-14"]


def test_each_stage_keeps_its_own_time_and_zone():
    text = (
        "Étape 1 : clôture le lundi 7 novembre 2022 à 17h00 (heure de Paris). "
        "Étape 2 : clôture le 6 avril 2023 à 17h00 (heure de Paris)."
    )
    got = parse_dates(text, reference=REF)
    assert [d.value for d in got] == [utc(2022, 11, 7, 16), utc(2023, 4, 6, 15)]
    assert all(d.tz_source == "text" and d.has_time for d in got)


def test_times_written_before_each_date():
    got = parse_dates("17:00 on 12 March 2026 and 12:00 on 17 September 2026", reference=REF)
    assert [d.value for d in got] == [utc(2026, 3, 12, 16), utc(2026, 9, 17, 10)]


def test_date_without_year_borrows_the_next_ones():
    got = parse_dates("deux sessions d'évaluation (30 avril et 20 septembre 2024)", reference=REF)
    assert [d.value.date().isoformat() for d in got] == ["2024-04-30", "2024-09-20"]
    assert not any(d.inferred_year for d in got)


def test_impossible_dates_are_skipped_or_reported():
    text = "Étape 1 : 31/02/2026 ; étape 2 : 15/03/2026"
    assert [d.value.date().isoformat() for d in parse_dates(text, reference=REF)] == ["2026-03-15"]
    dates, errors = parse_dates_with_errors(text, reference=REF)
    assert len(dates) == 1
    assert errors == ["'31/02/2026': there is no day 31 in February 2026 (it has 28 days)"]


def test_long_body_text():
    body = ("Le programme soutient la coopération régionale. " * 200) + "Clôture le 15/03/2026."
    got = parse_dates(body, reference=REF)
    assert [d.value.date().isoformat() for d in got] == ["2026-03-15"]


# --- periods ------------------------------------------------------------------------------

PERIODS = [
    ("du 12 décembre 2024 au 31 mars 2025", utc(2024, 12, 11, 23), eod(2025, 3, 31, 21, 59)),
    ("17 décembre 2024 - 24 janvier 2025", utc(2024, 12, 16, 23), eod(2025, 1, 24, 22, 59)),
    ("02/04/2026 - 04/06/2026", utc(2026, 4, 1, 22), eod(2026, 6, 4, 21, 59)),
    ("Avril 2026 - Juin 2026", utc(2026, 3, 31, 22), eod(2026, 6, 30, 21, 59)),
    ("Avril - Juin 2026", utc(2026, 3, 31, 22), eod(2026, 6, 30, 21, 59)),
    ("from 1 May to 30 June 2026", utc(2026, 4, 30, 22), eod(2026, 6, 30, 21, 59)),
    ("del 15 de abril al 17 de junio de 2016", utc(2016, 4, 14, 22), eod(2016, 6, 17, 21, 59)),
    ("du 12 au 15 mars 2025", utc(2025, 3, 11, 23), eod(2025, 3, 15, 22, 59)),
    ("12-15 March 2026", utc(2026, 3, 11, 23), eod(2026, 3, 15, 22, 59)),
    ("du 1er décembre au 31 janvier 2026", utc(2025, 11, 30, 23), eod(2026, 1, 31, 22, 59)),
    ("du 12 décembre 2024 au 31 mars", utc(2024, 12, 11, 23), eod(2025, 3, 31, 21, 59)),
    ("à partir du 12 décembre 2024", utc(2024, 12, 11, 23), None),
    ("jusqu'au 31 mars 2025", None, eod(2025, 3, 31, 21, 59)),
    (
        "du 12 au 15 mars 2025 à 12h (heure de la Martinique)",
        utc(2025, 3, 12, 4),
        utc(2025, 3, 15, 16),
    ),
    ("Dates à venir", None, None),
]


@pytest.mark.parametrize(("text", "start", "end"), PERIODS)
def test_parse_period(text: str, start: datetime | None, end: datetime | None):
    got_start, got_end = parse_period(text, reference=REF)
    assert (got_start and got_start.value, got_end and got_end.value) == (start, end)


def test_period_with_impossible_side_raises():
    with pytest.raises(InvalidDate, match="no day 30 in February"):
        parse_period("du 30 février 2026 au 15 mars 2026", reference=REF)


# --- display ------------------------------------------------------------------------------


def test_to_local():
    local = to_local(utc(2026, 3, 31, 16))
    assert (local.hour, local.utcoffset(), local.tzname()) == (12, timedelta(hours=-4), "AST")
    assert local == utc(2026, 3, 31, 16)  # the same instant
    assert to_local(datetime(2026, 3, 31, 16)).hour == 12  # naive is UTC
    assert to_local(utc(2026, 7, 1, 12), "Europe/Paris").hour == 14


@pytest.mark.parametrize(
    ("dt", "kwargs", "expected"),
    [
        (utc(2026, 3, 31, 16), {}, "Tue 31 Mar 2026, 12:00 AST"),
        (utc(2026, 3, 31, 16), {"lang": "fr"}, "mar. 31 mars 2026, 12h00 AST"),
        (utc(2026, 3, 31, 16), {"lang": "es"}, "mar 31 mar 2026, 12:00 AST"),
        (utc(2026, 3, 31, 16), {"with_time": False}, "Tue 31 Mar 2026"),
        (utc(2026, 3, 31, 16), {"tz": "Europe/Paris"}, "Tue 31 Mar 2026, 18:00 CEST"),
        # a Paris deadline day ends at 17:59 in Castries
        (utc(2026, 3, 31, 21, 59), {}, "Tue 31 Mar 2026, 17:59 AST"),
        (utc(2026, 4, 1, 4), {}, "Wed 1 Apr 2026"),  # 00:00 exactly: shown as a day
        (utc(2026, 4, 1, 4), {"with_time": True}, "Wed 1 Apr 2026, 00:00 AST"),
        (utc(2026, 8, 15, 16), {"lang": "fr"}, "sam. 15 août 2026, 12h00 AST"),
        (None, {}, ""),
    ],
)
def test_format_local(dt: datetime | None, kwargs: dict, expected: str):
    assert format_local(dt, **kwargs) == expected


# --- hours, zones and numeric order (issue 10) ---------------------------------------------

HOURS = [
    ("lundi 13 mai 2024 (au plus tard à 18 heures – heure de Paris)", utc(2024, 5, 13, 16)),
    ("13 mai 2024 à 18 heures", utc(2024, 5, 13, 16)),
    ("13 mai 2024, 18h", utc(2024, 5, 13, 16)),
    ("13 mai 2024 à 18 h 30", utc(2024, 5, 13, 16, 30)),
    ("13 mai 2024 à 18h30", utc(2024, 5, 13, 16, 30)),
    ("13 May 2024, 6 pm", utc(2024, 5, 13, 16)),
    ("13 May 2024, 6:00 p.m.", utc(2024, 5, 13, 16)),
    ("13 May 2024, 17:00 CET", utc(2024, 5, 13, 15)),  # CEST in May
    ("13 May 2024, no later than 17:00 Brussels time", utc(2024, 5, 13, 15)),
    ("13 de mayo de 2024, a más tardar a las 18:00 (hora de Madrid)", utc(2024, 5, 13, 16)),
    ("13 May 2024 at 17:00 - AST", utc(2024, 5, 13, 21)),
]


@pytest.mark.parametrize(("text", "expected"), HOURS)
def test_hours_as_written(text: str, expected: datetime):
    got = parse_date(text, reference=REF)
    assert got is not None and got.has_time
    assert got.value == expected


def test_zone_named_in_the_text_is_reported():
    got = parse_date("13 mai 2024 à 18 heures – heure de Paris", tz="America/Martinique")
    assert got is not None and (got.zone, got.tz_source) == ("Europe/Paris", "text")
    plain = parse_date("13 mai 2024", tz="America/Martinique")
    assert plain is not None and (plain.zone, plain.tz_source) == ("America/Martinique", "default")


@pytest.mark.parametrize(
    ("text", "order", "day", "note"),
    [
        ("03/04/2027", "DMY", "2027-04-03",
         "date 03/04/2027 read as 3 April 2027 (day/month, source locale); could be 4 March"),
        ("03/04/2027", "MDY", "2027-03-04",
         "date 03/04/2027 read as 4 March 2027 (month/day, source locale); could be 3 April"),
        ("03/04/27", "DMY", "2027-04-03", "could be 4 March"),
        ("06/30/2027", "DMY", "2027-06-30",
         "date 06/30/2027 read as 30 June 2027 (month/day: the other order is impossible)"),
        ("30/06/2027", "MDY", "2027-06-30", "(day/month: the other order is impossible)"),
        ("25/06/2027", "DMY", "2027-06-25", None),
        ("04/04/2027", "MDY", "2027-04-04", None),  # both readings are the same day
        ("2027/03/04", "MDY", "2027-03-04", None),  # year first is never ambiguous
    ],
)  # fmt: skip
def test_numeric_order_and_ambiguity_notes(text: str, order: str, day: str, note: str | None):
    got = parse_date(text, reference=REF, order=order, tz="UTC")
    assert got is not None and got.value.date().isoformat() == day
    if note is None:
        assert got.notes == ()
    else:
        assert any(note in n for n in got.notes), got.notes


def test_weekday_is_checked_against_the_date():
    good = parse_date("vendredi 9 avril 2027", reference=REF)
    assert good is not None and good.notes == ()
    bad = parse_date("lundi 9 avril 2027", reference=REF)
    assert bad is not None
    assert bad.notes == (
        "“lundi 9 avril 2027”: 9 April 2027 is a Friday, not a Monday — check the page",
    )


def test_date_only_is_the_last_second_of_the_day():
    got = parse_date("15 janvier 2027", tz="America/New_York", reference=REF)
    assert got is not None and not got.has_time
    local = to_local(got.value, "America/New_York")
    assert (local.date().isoformat(), local.hour, local.minute, local.second) == (
        "2027-01-15", 23, 59, 59)  # fmt: skip


# --- spans: where each date is and whether it opens a window ---------------------------------

SPANS = [
    ("Candidatures du 12 décembre 2026 au 31 mars 2027", ["2026-12-12", "2027-03-31"],
     [True, False]),
    ("17 décembre 2024 - 24 janvier 2025", ["2024-12-17", "2025-01-24"], [True, False]),
    ("from 1 March to 30 April 2027", ["2027-03-01", "2027-04-30"], [True, False]),
    ("between 1 March and 30 April 2027", ["2027-03-01", "2027-04-30"], [True, False]),
    ("del 15 de abril al 17 de junio de 2027", ["2027-04-15", "2027-06-17"], [True, False]),
    ("du 12 au 15 mars 2027", ["2027-03-12", "2027-03-15"], [True, False]),
    ("12-15 March 2027", ["2027-03-12", "2027-03-15"], [True, False]),
    ("Avril - Juin 2027", ["2027-04-01", "2027-06-01"], [True, False]),  # opening readings
    ("du 12 décembre au 31 mars", ["2024-12-12", "2025-03-31"], [True, False]),  # over new year
    # not windows: two stages, a pair of EU deadlines, "and" without "between", end before start
    ("1st stage: 12 March 2027; 2nd stage: 17 September 2027", ["2027-03-12", "2027-09-17"],
     [False, False]),
    ("2027-04-08 / 2027-09-14", ["2027-04-08", "2027-09-14"], [False, False]),
    ("30 avril et 20 septembre 2027", ["2027-04-30", "2027-09-20"], [False, False]),
    ("31 mars 2027 - 1 mars 2027", ["2027-03-31", "2027-03-01"], [False, False]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "days", "opens"), SPANS)
def test_read_spans(text: str, days: list[str], opens: list[bool]):
    spans = read_spans(text, reference=REF, tz="UTC")
    assert [s.opening.value.date().isoformat() for s in spans if s.opening] == days
    assert [s.opens_period for s in spans] == opens
    assert all(text[s.start : s.end].strip() == s.text for s in spans)


def test_read_spans_keeps_impossible_dates_with_their_reason():
    spans = read_spans("Étape 1 : 31/02/2027 ; étape 2 : 15/03/2027", reference=REF)
    assert spans[0].closing is None and "no day 31 in February 2027" in (spans[0].error or "")
    assert spans[1].closing is not None and spans[1].error is None


# --- display --------------------------------------------------------------------------------

NY_DAY = datetime(2027, 1, 16, 4, 59, 59, tzinfo=UTC)  # 15 January, end of day in New York


@pytest.mark.parametrize(
    ("deadline", "kind", "tz", "lang", "expected"),
    [
        (NY_DAY, "date", "America/New_York", "en", "Fri 15 Jan 2027 (end of day, New York time)"),
        (NY_DAY, "date", "America/New_York", "fr",
         "ven. 15 janv. 2027 (fin de journée, heure de New York)"),
        (NY_DAY, "date", "America/New_York", "es",
         "vie 15 ene 2027 (fin del día, hora de Nueva York)"),
        (eod(2027, 3, 31, 21, 59), "date", "Europe/Paris", "en",
         "Wed 31 Mar 2027 (end of day, Paris time)"),
        (datetime(2027, 4, 1, 3, 59, 59, tzinfo=UTC), "date", "America/St_Lucia", "en",
         "Wed 31 Mar 2027 (end of day, Saint Lucia time)"),
        (datetime(2027, 4, 1, 3, 59, 59, tzinfo=UTC), "date", None, "en",
         "Wed 31 Mar 2027 (end of day, Saint Lucia time)"),  # no zone stored: Castries
        # the same instant with a clock time keeps the Saint Lucia display
        (NY_DAY, "datetime", "America/New_York", "en", "Sat 16 Jan 2027, 00:59 AST"),
        (NY_DAY, None, None, "en", "Sat 16 Jan 2027, 00:59 AST"),  # stored before kinds
        (None, "rolling", "Europe/Paris", "en", "Rolling (no fixed deadline)"),
        (None, "rolling", None, "fr", "En continu (pas de date limite fixe)"),
        (None, "not_found", None, "en", "Deadline not found — check the page"),
        (None, "not_found", None, "fr", "Date limite introuvable — voir la page de l'appel"),
        (None, None, None, "en", ""),
    ],
)  # fmt: skip
def test_format_deadline(deadline, kind, tz, lang, expected):  # type: ignore[no-untyped-def]
    assert format_deadline(deadline, kind, tz, lang) == expected


def test_zone_label():
    assert zone_label("America/New_York") == "New York time"
    assert zone_label("Europe/Paris", "fr") == "heure de Paris"
    assert zone_label("America/Port_of_Spain") == "Port of Spain time"
    assert zone_label("UTC") == "UTC"
    assert zone_label("+01:00") == "UTC+01:00"
