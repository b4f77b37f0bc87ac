"""Exports: the CSV feed officers open in Excel, a deadlines calendar (ICS), an Atom feed of new
relevant calls, JSON Lines, and the officers' verdicts for re-tuning the scorer.

Every export reads calls through `pipeline.exports.query` (one selection, one set of filters,
streamed) and treats the stored text as hostile: scraped titles can hold formula payloads,
markup, control characters or `javascript:` links. The helpers here are the shared defences.
"""

from __future__ import annotations

import re

from fundradar.pipeline.normalise.text import strip_invisible

# C0 controls other than tab, newline and carriage return, plus DEL: invalid in XML 1.0, noise in
# a spreadsheet cell, and a way to smuggle line breaks past naive parsers. Scraped PDFs and
# Word-pasted pages do contain them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def clean_text(value: str | None) -> str:
    """Text fit for any export: controls, NUL and bidirectional overrides removed, '' for None.

    The normaliser already strips them from new calls; rows stored before it did are cleaned
    here too (defence in depth: a U+202E in a title shows it reversed in Excel or a calendar).
    """
    if not value:
        return ""
    value = strip_invisible(value)
    return _CONTROL.sub("", value) if _CONTROL.search(value) else value


def one_line(value: str | None) -> str:
    """Text on one line (a summary line, an event title): whitespace runs folded to one space."""
    if not value:
        return ""
    return " ".join(clean_text(value).split())
