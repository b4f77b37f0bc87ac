"""Counted nouns in operator output: "1 call", "2 calls", "18 entries" (never "1 calls" or
"entrys"). English only: the digest's own wording, in three languages, lives in alerts/i18n.py.
"""

from __future__ import annotations

_VOWELS = frozenset("aeiou")


def plural_of(word: str) -> str:
    """The regular English plural: entry → entries, day → days, match → matches."""
    if word.endswith("y") and len(word) > 1 and word[-2] not in _VOWELS:
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


def plural(n: int, word: str, words: str | None = None) -> str:
    """`n` and the noun agreeing with it: plural(1, "call") == "1 call"."""
    return f"{n} {word if n == 1 else words or plural_of(word)}"
