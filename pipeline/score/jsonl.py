"""The `fundradar score` contract: JSONL calls in, JSONL scores out, one line for one line.

Input, one JSON object a line: `title` (required) and any of `id`, `summary` (aliases `text`,
`description`), `funder`, `programme`, `url`, `language`, `deadline`, `opens`, `budget`,
`eligibility`. Unknown fields are ignored.

Output, one line per input line, in the same order:

    {"id": ..., "score": 0-100, "band": "high|medium|low|none", "eligible": true|false|null,
     "themes": [...], "reasons": [...]}

`id` is the input's `id`, or the line number (1-based, counting every line of the input) when
the input has none. A bad line (invalid JSON, not an object, no title) gets
`{"id": <id or line number>, "error": "..."}` and the run goes on.

Blank lines (empty or only whitespace) are skipped and produce no output: they carry no call,
and a trailing newline at the end of a file must not read as an error. Because line numbers
count them, an error's line number is still the line an editor shows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from fundradar.pipeline.score import Profile, load_profile, score_call


def _dump(obj: dict[str, Any]) -> str:
    # ensure_ascii=False: reasons quote French and Spanish words, and “curly quotes”
    return json.dumps(obj, ensure_ascii=False)


def _error(ident: Any, message: str) -> str:
    return _dump({"id": ident, "error": message})


def score_line(line: str, number: int, profile: Profile) -> str | None:
    """The output line for one input line (None for a blank line)."""
    text = line.lstrip("\ufeff")  # a byte-order mark some Windows editors put on line 1
    if not text.strip():
        return None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return _error(number, f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})")
    if not isinstance(obj, dict):
        kind = {list: "an array", str: "a string"}.get(type(obj), type(obj).__name__)
        return _error(number, f"line {number}: expected a JSON object, got {kind}")
    ident = obj.get("id")
    if ident is None:
        ident = number
    title = obj.get("title")
    if not isinstance(title, str) or not title.strip():
        problem = "no title" if title is None or title == "" else "a title that is not text"
        return _error(ident, f"line {number}: {problem} (title is required)")
    try:
        result = score_call(obj, profile)
    except Exception as exc:  # one odd line must not stop a batch of thousands
        return _error(ident, f"line {number}: could not be scored ({type(exc).__name__}: {exc})")
    return _dump(
        {
            "id": ident,
            "score": result.score,
            "band": result.band,
            "eligible": result.eligible,
            "themes": result.themes,
            "reasons": result.reasons,
        }
    )


def score_lines(lines: Iterable[str], profile: Profile | None = None) -> Iterator[str]:
    """Score JSONL lines lazily (a line out as soon as its line is in), skipping blank lines."""
    p = profile or load_profile()
    for number, line in enumerate(lines, 1):
        out = score_line(line, number, p)
        if out is not None:
            yield out
