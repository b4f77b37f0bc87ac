"""Exports: the CSV feed officers open in Excel, a deadlines calendar (ICS), an Atom feed of new
relevant calls, JSON Lines, and the officers' verdicts for re-tuning the scorer.

Every export reads calls through `pipeline.exports.query` (one selection, one set of filters,
streamed) and treats the stored text as hostile: scraped titles can hold formula payloads,
markup, control characters or `javascript:` links. The helpers here are the shared defences.
"""

from __future__ import annotations

import re

# C0 controls other than tab, newline and carriage return, plus DEL: invalid in XML 1.0, noise in
# a spreadsheet cell, and a way to smuggle line breaks past naive parsers. Scraped PDFs and
# Word-pasted pages do contain them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def clean_text(value: str | None) -> str:
    """Text fit for any export: controls removed, '' for None."""
    if not value:
        return ""
    return _CONTROL.sub("", value) if _CONTROL.search(value) else value


def one_line(value: str | None) -> str:
    """Text on one line (a summary line, an event title): whitespace runs folded to one space."""
    if not value:
        return ""
    return " ".join(clean_text(value).split())
