"""pipeline.normalise.money: budgets as funders write them."""

from __future__ import annotations

import pytest

from fundradar.pipeline.normalise.money import Money, parse_amounts, parse_money, pick_budget

NNBSP, NBSP = "\u202f", "\u00a0"

# (text, min, max, currency, scope, rate)
AMOUNTS: list[tuple[str, float | None, float | None, str | None, str | None, float | None]] = [
    ("2,5 M€", 2.5e6, 2.5e6, "EUR", None, None),
    ("2.5 M EUR", 2.5e6, 2.5e6, "EUR", None, None),
    ("€65m", 65e6, 65e6, "EUR", None, None),
    ("€65 million", 65e6, 65e6, "EUR", None, None),
    ("65 millions d'euros", 65e6, 65e6, "EUR", None, None),
    ("65 millions d’euros", 65e6, 65e6, "EUR", None, None),  # typographic apostrophe
    (f"EUR 1{NNBSP}000{NNBSP}000", 1e6, 1e6, "EUR", None, None),
    (f"EUR 1{NBSP}000{NBSP}000", 1e6, 1e6, "EUR", None, None),
    ("EUR 1 000 000", 1e6, 1e6, "EUR", None, None),
    ("1.000.000 €", 1e6, 1e6, "EUR", None, None),
    ("1,000,000 EUR", 1e6, 1e6, "EUR", None, None),
    ("USD 100,000", 1e5, 1e5, "USD", None, None),
    ("US$ 150,000 to US$ 500,000", 150e3, 500e3, "USD", None, None),
    ("up to £600,000", None, 600e3, "GBP", None, None),
    ("XCD 50 000", 50e3, 50e3, "XCD", None, None),
    ("EC$50,000", 50e3, 50e3, "XCD", None, None),
    ("entre 10 000 et 50 000 euros", 10e3, 50e3, "EUR", None, None),
    ("de 10 000 à 50 000 €", 10e3, 50e3, "EUR", None, None),
    ("between €20,000 and €100,000", 20e3, 100e3, "EUR", None, None),
    ("jusqu'à 70 %", None, None, None, None, 70.0),
    ("co-financing rate 80%", None, None, None, None, 80.0),
    ("5 k€", 5e3, 5e3, "EUR", None, None),
    ("300 000 FCFA", 300e3, 300e3, "XOF", None, None),
    ("hasta 200.000 euros", None, 200e3, "EUR", None, None),
    ("entre 50.000 y 100.000 USD", 50e3, 100e3, "USD", None, None),
    ("enveloppe globale de 3 M€", 3e6, 3e6, "EUR", "total", None),
    ("budget total du programme: 65 M€", 65e6, 65e6, "EUR", "total", None),
    ("10 000 € par projet", 10e3, 10e3, "EUR", "per_project", None),
    ("EUR 50,000 per project", 50e3, 50e3, "EUR", "per_project", None),
    ("maximum grant of €50,000", None, 50e3, "EUR", "per_project", None),
    ("montant maximum de la subvention : 50 000 €", None, 50e3, "EUR", "per_project", None),
    ("100 000 €/projet", 100e3, 100e3, "EUR", "per_project", None),
    ("€1-3 million", 1e6, 3e6, "EUR", None, None),  # Blue Action Fund
    ("EUR 1-3 million", 1e6, 3e6, "EUR", None, None),
    ("$500,000 to $1 million", 500e3, 1e6, "USD", None, None),
    (
        "Available grants range from US $400,000 up to US $2 million per project.",
        400e3,
        2e6,
        "USD",
        "per_project",
        None,
    ),
    ("hasta 10 mil dólares", None, 10e3, "USD", None, None),  # Spanish "mil" is a thousand
    ("grants totaling 24.7 million USD", 24.7e6, 24.7e6, "USD", "total", None),
    ("the 3.5 million dollar Global Fund Grant", 3.5e6, 3.5e6, "USD", None, None),
    ("EUR 10,000,000.0", 10e6, 10e6, "EUR", None, None),  # EU portal budget overview
    ("€ 10 million", 10e6, 10e6, "EUR", None, None),
    ("31,312,610 euro", 31312610.0, 31312610.0, "EUR", None, None),
    ("plus de 18 millions d'euros", 18e6, None, "EUR", None, None),
    ("Minimum amount: €5,000; maximum amount: €30,000.", 5e3, 30e3, "EUR", None, None),
    ("EUR 3 Mio", 3e6, 3e6, "EUR", None, None),
    ("1,5 Md€", 1.5e9, 1.5e9, "EUR", None, None),
    ("€1.2bn", 1.2e9, 1.2e9, "EUR", None, None),
    ("2 MEUR", 2e6, 2e6, "EUR", None, None),
    ("CAD 75,000", 75e3, 75e3, "CAD", None, None),
    ("10 000 dollars des Caraïbes orientales", 10e3, 10e3, "XCD", None, None),
    ("Grant Amount: €14 million.", 14e6, 14e6, "EUR", "per_project", None),
    (
        "dotación presupuestaria anual de US$ 500,000",
        500e3,
        500e3,
        "USD",
        "total",
        None,
    ),
    (
        "Subvention plafonnée à 50 000 €, jusqu'à 70 % des dépenses éligibles",
        None,
        50e3,
        "EUR",
        "per_project",
        70.0,
    ),
    ("Budget : 50 000", 50e3, 50e3, None, None, None),  # a budget field: bare number allowed
]


@pytest.mark.parametrize(("text", "lo", "hi", "currency", "scope", "rate"), AMOUNTS)
def test_parse_money(text, lo, hi, currency, scope, rate):
    got = parse_money(text)
    assert got is not None, text
    assert (got.min, got.max, got.currency, got.scope, got.rate) == (lo, hi, currency, scope, rate)
    assert got.text and got.text in text


def test_enough_amount_cases():
    assert len(AMOUNTS) >= 35


def test_default_currency_applies_only_when_none_is_written():
    got = parse_money("Montant : 50 000", default_currency="EUR")
    assert got is not None and got.currency == "EUR"
    written = parse_money("USD 50,000", default_currency="EUR")
    assert written is not None and written.currency == "USD"


def test_text_keeps_the_words_read():
    got = parse_money("Le budget : entre 10 000 et 50 000 euros par projet.")
    assert got == Money(10e3, 50e3, "EUR", "per_project", None, "10 000 et 50 000 euros")


NOT_AMOUNTS = [
    "",
    "Appel à projets 2025",
    "Budget 2025",
    "Date limite : 31/03/2025",
    "le 15.03.2025 à 12:00",
    "Tél : +1 758 452 2537",
    "Tel. 0596 39 49 00",
    "HORIZON-CL5-2025-01-02",
    "Programme 2021-2027",
    "3 projects will be funded",
    "au moins 50 % du montant",  # a minimum share, not a co-financing rate
    "Critères de bonification du taux : +20 %",  # a bonus, not the rate
]


@pytest.mark.parametrize("text", NOT_AMOUNTS)
def test_years_dates_phones_and_codes_are_not_amounts(text):
    assert parse_money(text) is None


def test_bare_numbers_are_not_amounts_in_body_text():
    text = "En 2025, 12 projets de 24 mois ont été retenus sur 150 dossiers (tél. 0596 39 49 00)."
    assert parse_amounts(text) == []


def test_percentages_are_never_amounts():
    assert parse_amounts("jusqu'à 70 % du coût total, soit 35 000 €") == [
        Money(35e3, 35e3, "EUR", None, None, "35 000 €")
    ]


def test_parse_amounts_in_order_with_their_scopes():
    text = (
        "Interreg Caraïbes bénéficie d'une enveloppe de 65 millions d'euros pour 7 ans. "
        "Chaque projet peut recevoir de 100 000 € à 1 M€. Un appel en 2024."
    )
    got = parse_amounts(text)
    assert [(m.min, m.max, m.scope) for m in got] == [
        (65e6, 65e6, "total"),
        (100e3, 1e6, "per_project"),
    ]


def test_a_currency_before_the_next_number_is_not_this_ones_suffix():
    got = parse_amounts("Topic HORIZON-CL6-2027-01 EUR 3 million; topic 02 EUR 5 million")
    assert [(m.min, m.currency) for m in got] == [(3e6, "EUR"), (5e6, "EUR")]


def test_from_means_at_least_only_right_before_the_amount():
    got = parse_amounts(
        "It received a € 10 million budget from ERDF and a € 7 million one from EDF, "
        "and from over £4,000,000 since 2013."
    )
    assert [(m.min, m.max) for m in got] == [(10e6, 10e6), (7e6, 7e6), (4e6, None)]


def test_pick_budget_prefers_a_per_project_range():
    text = (
        "Total budget allocated for this call is EUR 10,000,000. The Commission considers that "
        "proposals requesting an EU contribution of between EUR 2 and 5 million would allow "
        "these outcomes to be addressed appropriately."
    )
    got = pick_budget(text)
    assert got is not None
    assert (got.min, got.max, got.currency, got.scope) == (2e6, 5e6, "EUR", "per_project")


def test_pick_budget_keeps_the_total_when_that_is_all():
    got = pick_budget("Le programme dispose d'une enveloppe globale de 3 M€ pour 2025.")
    assert got is not None and (got.min, got.max, got.scope) == (3e6, 3e6, "total")


def test_pick_budget_prefers_an_unlabelled_ceiling_to_the_total():
    got = pick_budget("A budget total of USD 2 million. Applicants may request up to USD 50,000.")
    assert got is not None and (got.min, got.max, got.scope) == (None, 50e3, None)


def test_pick_budget_attaches_the_cofinancing_rate():
    text = (
        "Taux d'aide : études et fonctionnement 50 % ; investissements 30 %. Les dépenses "
        "éligibles sont plafonnées à 100 000 €/projet. Critères de bonification du taux : +20 %."
    )
    got = pick_budget(text)
    assert got == Money(None, 100e3, "EUR", "per_project", 50.0, "100 000 €")


def test_pick_budget_ignores_percentages_that_are_not_rates():
    got = pick_budget("Les partenaires devront reverser au moins 50% du budget. Budget: 20 000 €.")
    assert got is not None and got.rate is None


def test_pick_budget_rate_only_and_nothing():
    got = pick_budget("Le FCR cofinance jusqu'à 60 % du projet.")
    assert got is not None and (got.min, got.max, got.rate) == (None, None, 60.0)
    assert pick_budget("Aucun montant n'est précisé.") is None
    assert pick_budget(None) is None
