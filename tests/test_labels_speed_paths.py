"""The labels reader's quick paths give what the plain formulas give: `fold` of ASCII text
(lower() instead of a per-character decomposition) and `squash` (str.split instead of `\\s+`),
on text chosen for its edge cases (every ASCII character, Unicode spaces, the line marker)."""

from __future__ import annotations

import re
import string

from fundradar.crawlers.labels import LINE, fold, fold_each, label_field, squash

# the general, per-character path is the reference for fold's ASCII quick path
fold_reference = fold_each


def squash_reference(text: str) -> str:
    lines = [re.sub(r"\s+", " ", ln).strip() for ln in text.replace("\n", " ").split(LINE)]
    return "\n".join(ln for ln in lines if ln)


SAMPLES = [
    "".join(chr(i) for i in range(128)),
    string.printable,
    "Closing DATE: 15 January 2027",
    "Date limite de dépôt : 31 mars 2027",  # not ASCII: the per-character path
    "İstanbul ΣΑΣ Straße",
    f"  Deadline\u00a0:\t31 March{LINE}{LINE} Budget \u2003 EUR 50 000 \x1c\x1d\x1e\x1f end ",
    f"one\n two\r\n{LINE}\u2028three\u3000four\x0b\x0c",
    "",
    LINE,
]


def test_fold_matches_the_per_character_formula() -> None:
    for text in SAMPLES:
        assert fold(text) == fold_reference(text)
        assert len(fold(text)) == len(text)


def test_squash_matches_the_regex_formula() -> None:
    for text in SAMPLES:
        assert squash(text) == squash_reference(text)
    assert squash(f" a \u00a0 b {LINE} c\td ") == "a b\nc d"


def test_label_field_cached_answers_stay_right() -> None:
    """Cached (a pure function of the text): asked twice, each label still gets its field."""
    for _ in range(2):
        assert label_field("Closing date") == "deadline"
        assert label_field("Date limite de dépôt") == "deadline"
        assert label_field("Montant 50 000 €") is None
