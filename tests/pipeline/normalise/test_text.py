"""pipeline.normalise.text: HTML to clean text, whitespace, titles, language."""

from __future__ import annotations

import pytest

from fundradar.pipeline.normalise.text import (
    clean_title,
    detect_language,
    fold_whitespace,
    html_to_text,
)

PAGE = """<!doctype html>
<html><head><title>Appel FCR</title><style>p { color: red }</style>
<script>var banner = '<p>Accepter les cookies</p>';</script></head>
<body><!-- tarteaucitron banner -->
<h1>Fonds de coop&eacute;ration r&eacute;gionale&nbsp;2025</h1>
<p>Date limite&nbsp;:   <strong>31 mars
   2025</strong> &agrave; 12h00</p>
<p>Ligne un<br>Ligne deux</p>
<noscript>Activez JavaScript</noscript><template><p>gabarit</p></template>
<table><tr><th>Budget</th><td>2,5&#8239;M&euro;</td></tr><tr><td>Statut</td><td>Ouvert</td></tr></table>
</body></html>"""


def test_page_to_paragraphs():
    assert html_to_text(PAGE) == (
        "Fonds de coopération régionale 2025\n\n"
        "Date limite : 31 mars 2025 à 12h00\n\n"
        "Ligne un\nLigne deux\n\n"
        "Budget | 2,5 M€\n"  # no-break spaces become plain spaces
        "Statut | Ouvert"
    )


@pytest.mark.parametrize(
    "hidden", ["Accepter les cookies", "color: red", "Activez JavaScript", "gabarit", "Appel FCR"]
)
def test_scripts_styles_noscript_template_and_head_are_dropped(hidden: str):
    assert hidden not in html_to_text(PAGE)


def test_comments_are_dropped():
    assert html_to_text("<p>a<!-- secret -->b</p>") == "ab"


def test_lists_and_nested_lists():
    html = (
        "<p>Thèmes :</p><ul><li>Climat</li><li>Océans<ul><li>Pêche</li>"
        "<li>Aires marines<ol><li>Guadeloupe</li></ol></li></ul></li><li>Santé</li></ul>"
        "<p>Fin</p>"
    )
    assert html_to_text(html) == (
        "Thèmes :\n\n• Climat\n• Océans\n  • Pêche\n  • Aires marines\n    • Guadeloupe\n"
        "• Santé\n\nFin"
    )


def test_br_and_blank_lines():
    assert html_to_text("a<br>b<br/><br>c") == "a\nb\n\nc"
    assert html_to_text("<div><div><p>x</p></div></div>\n\n\n<p>y</p>") == "x\n\ny"


def test_entities_and_spaces():
    html = "<p>AT&amp;T &ndash; l&#8217;appel&nbsp;&nbsp;est   ouvert\u200b.</p>"
    assert html_to_text(html) == "AT&T – l’appel est ouvert."


def test_plain_text_and_empty_input():
    assert html_to_text("Plain   text, no tags") == "Plain text, no tags"
    assert html_to_text(None) == ""
    assert html_to_text("") == ""
    assert html_to_text("<p>  </p><script>x</script>") == ""


def test_unclosed_script_swallows_nothing_before_it():
    assert html_to_text("<p>Visible</p><script>var a = 1;") == "Visible"


def test_preformatted_text_keeps_its_lines():
    assert html_to_text("<pre>ligne 1\nligne 2</pre>") == "ligne 1\nligne 2"


def test_truncated_on_a_word_boundary():
    text = html_to_text("<p>" + "coopération régionale " * 100 + "</p>", max_chars=100)
    assert len(text) <= 100
    assert text.endswith("…")
    assert text[:-1].split()[-1] in ("coopération", "régionale")


def test_five_megabyte_page_is_cut_before_parsing_and_keeps_its_text():
    # 2 MB of inline JavaScript before the content: cutting blindly would keep only the script.
    big = (
        "<html><head><script>"
        + "var x = 1;\n" * 200_000
        + "</script></head><body>"
        + "<p>Appel à projets pour la coopération régionale.</p>" * 60_000
        + "</body></html>"
    )
    assert len(big) > 5_000_000
    text = html_to_text(big, max_chars=2000)
    assert text.startswith("Appel à projets pour la coopération régionale.")
    assert len(text) <= 2000 and text.endswith("…")
    assert "var x" not in text


def test_many_script_blocks_are_stripped_in_linear_time():
    page = "<p>Texte</p><script>var a = '<p>non</p>';</script>" * 30_000  # 1.5 MB
    text = html_to_text(page, max_chars=200)
    assert text.startswith("Texte\n\nTexte") and "non" not in text


def test_very_deep_nesting_does_not_recurse():
    html = "<div>" * 20_000 + "au fond" + "</div>" * 20_000
    assert html_to_text(html) == "au fond"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  a\u00a0\u202fb\u200bc\n\t d  ", "a bc d"),
        ("Appel\n\nà   projets", "Appel à projets"),
        (None, ""),
        ("", ""),
    ],
)
def test_fold_whitespace(raw, expected):
    assert fold_whitespace(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  <b>Appel</b> à projets\n FISONG 2025 | AFD ", "Appel à projets FISONG 2025 | AFD"),
        # WordPress feeds (fundsforNGOs) double-encode entities in titles
        ("Appel d&amp;#8217;offres &amp;amp; partenariats", "Appel d’offres & partenariats"),
        ("Call for Proposals &ndash; EUCaN", "Call for Proposals – EUCaN"),
        ("<h2>Titre<br>sur deux lignes</h2>", "Titre sur deux lignes"),
        (None, ""),
    ],
)
def test_clean_title(raw, expected):
    assert clean_title(raw) == expected


def test_clean_title_is_at_most_300_characters():
    title = clean_title("Programme " * 60)
    assert len(title) <= 300 and title.endswith("…") and "  " not in title


SAMPLES = {
    "fr": "L'Agence française de développement lance un appel à projets pour les organisations "
    "de la société civile dans la Caraïbe.",
    "en": "The call supports civil-society action to make Caribbean food systems more inclusive "
    "and climate-smart, with a focus on small island states.",
    "es": "La convocatoria apoya proyectos de cooperación descentralizada entre los gobiernos "
    "locales de la región del Caribe.",
    "nl": "De subsidie is bedoeld voor projecten die de samenwerking tussen Sint Maarten en de "
    "regio versterken.",
    "pt": "O programa apoia projetos de cooperação entre as regiões ultraperiféricas e os países "
    "da bacia do Caribe.",
}


@pytest.mark.parametrize(("lang", "text"), SAMPLES.items())
def test_detect_language(lang: str, text: str):
    assert detect_language(text) == lang
    assert detect_language(text, hint="en" if lang != "en" else "fr") == lang  # clear text wins


def test_short_text_gives_the_hint_or_none():
    assert detect_language("FISONG 2025", hint="fr") == "fr"
    assert detect_language("FISONG 2025") is None
    assert detect_language("", hint="es") == "es"
    assert detect_language(None) is None


def test_no_clear_signal_gives_the_hint():
    text = "Programme LabCom 2024 (ANR) – laboratoires communs organismes PME ETI"
    assert detect_language(text) is None
    assert detect_language(text, hint="fr") == "fr"


def test_mostly_english_page_with_french_names():
    text = (
        "The Fonds de coopération régionale of Martinique funds projects with the OECS "
        "member states; applications are made to the Préfecture and the deadline is in March."
    )
    assert detect_language(text) == "en"


def test_detection_is_deterministic():
    text = SAMPLES["es"] + " " + SAMPLES["pt"]
    assert len({detect_language(text) for _ in range(20)}) == 1
