"""Bad input, named: what is wrong with a raw call before and after normalising it.

Scraped pages are hostile or broken in a handful of recurring ways. Each is a `Finding` with a
short `kind` (the crawl statistic `fundradar/bad_input/<kind>`) and a sentence for the
quarantine table. A *fatal* finding means the call cannot be stored (`refuse`); the others are
repaired or dropped field by field and the call is stored, with the finding kept as evidence,
because a real call with a broken description is still a call an officer wants.

| kind          | what                                              | fatal |
|---------------|---------------------------------------------------|-------|
| empty         | no title, no text, no date: an empty page          | yes   |
| no_title      | text or dates but no title                         | yes   |
| unsafe_link   | `javascript:`, `data:`... instead of an http(s) link | yes   |
| encoding      | undecodable bytes (U+FFFD): kept; mojibake ("Ã©"): repaired | no |
| huge_text     | a text field over `MAX_RAW_CHARS`                  | no: cut |
| script        | `<script>` (or on*= handlers) in a text field      | no: removed by normalise |
| bad_date      | a date out of range (1900, 2200) or impossible     | no: the date is dropped |
| nul           | NUL bytes in any text (PostgreSQL refuses them even in a query) | no: removed |

Used by `crawlers.pipelines.NormalisePipeline` and `pipeline.importer`, so a crawl and an
import count the same things the same way.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from fundradar.pipeline.db_safety import clean_json
from fundradar.pipeline.record import Call

MAX_RAW_CHARS = 1_000_000  # a description is a few kB; beyond this it is a broken page
TEXT_FIELDS = ("title", "summary", "eligibility_text", "funder", "programme", "instrument")
_SCRIPT = re.compile(r"<\s*script\b|\bon[a-z]{3,20}\s*=\s*[\"']|javascript\s*:", re.IGNORECASE)
# UTF-8 read as cp1252: "Ã©" for é, "â€™" for ’, "Â " for a no-break space
_MOJIBAKE = re.compile(r"Ã[\u0080-\u00bf\u0152-\u0178\u2013-\u203a]|â€|Â[\u00a0-\u00bf]")
_URL_SCHEME = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.-]*):")


@dataclass(frozen=True)
class Finding:
    kind: str
    detail: str
    fatal: bool = False

    @property
    def reason(self) -> str:
        return self.detail if self.fatal else f"repaired: {self.detail}"


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 1_000_000 else f"{n / 1000:.0f} kB"


def _fix_run(m: re.Match[str]) -> str:
    run = m.group(0)
    for codec in ("cp1252", "latin-1"):
        try:
            return run.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
    return run


def _fix_mojibake(text: str) -> str | None:
    """UTF-8 read as cp1252 ("FranÃ§ais"), decoded back run by run where that is what it is
    (a run that does not decode is left alone, so real accents elsewhere survive)."""
    fixed = re.sub(r"[^\x00-\x7f]+", _fix_run, text)
    return fixed if fixed != text else None


def screen(call: Call) -> list[Finding]:
    """Findings on the raw call; repairs what can be repaired, in place."""
    found: list[Finding] = []
    nul = _strip_nul(call)
    if nul:
        found.append(Finding("nul", f"NUL bytes removed from {', '.join(nul)}"))
    has_text = any((getattr(call, f) or "").strip() for f in ("title", "summary"))
    if not has_text and not call.deadline_texts and not call.deadlines and not call.period_text:
        return [Finding("empty", "empty page: no title, no text, no date", fatal=True)]

    scheme = _URL_SCHEME.match(call.url or "")
    if scheme and scheme.group(1).lower() not in ("http", "https"):
        found.append(Finding("unsafe_link", f"{scheme.group(1).lower()}: link, not http(s)",
                             fatal=True))  # fmt: skip

    for name in TEXT_FIELDS:
        value = getattr(call, name)
        if not isinstance(value, str) or not value:
            continue
        if len(value) > MAX_RAW_CHARS:
            found.append(Finding("huge_text", f"{name} of {_size(len(value))} cut to "
                                 f"{_size(MAX_RAW_CHARS)}"))  # fmt: skip
            value = value[:MAX_RAW_CHARS]
        if _MOJIBAKE.search(value):
            fixed = _fix_mojibake(value)
            if fixed is not None:
                found.append(
                    Finding("encoding", f"{name} was UTF-8 read as Latin-1, decoded again")
                )
                value = fixed
        bad = value.count("\ufffd")
        if bad:
            found.append(Finding("encoding", f"{name} has {bad} undecodable character(s): the "
                                 "page's declared encoding is wrong"))  # fmt: skip
        if _SCRIPT.search(value):
            found.append(Finding("script", f"script or event handler in {name}, removed"))
        setattr(call, name, value)

    if not (call.title or "").strip() and not any(f.fatal for f in found):
        found.append(Finding("no_title", "no title", fatal=True))
    return _one_per_kind(found)


def _strip_nul(call: Call) -> list[str]:
    """Remove NUL bytes from every text of the call, in place (the extra dict included): no
    page has a reason to hold one, and PostgreSQL refuses a NUL in any text, even in the
    look-up that finds the stored call. Returns the fields that had one."""
    fields = []
    for f in dataclasses.fields(call):
        value = getattr(call, f.name)
        cleaned = clean_json(value)  # the database's own rule
        if cleaned is not value:
            setattr(call, f.name, cleaned)
            fields.append(f.name)
    return fields


def _one_per_kind(found: list[Finding]) -> list[Finding]:
    """One finding per kind and call (a page counts once as mis-encoded, not once a field)."""
    merged: dict[str, Finding] = {}
    for f in found:
        if f.kind in merged:
            first = merged[f.kind]
            merged[f.kind] = Finding(f.kind, f"{first.detail}; {f.detail}", first.fatal or f.fatal)
        else:
            merged[f.kind] = f
    return list(merged.values())


def after_normalise(call: Call) -> list[Finding]:
    """Findings normalise left in the call's notes (dates it refused)."""
    return _one_per_kind(
        [
            Finding("bad_date", note)
            for note in call.notes
            if note.startswith(("deadline rejected", "opening date rejected", "period rejected"))
        ]
    )
