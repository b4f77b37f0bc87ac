"""Generated distinct calls of numbered series — reconstructed, not captures.

The shape of the file a user imported when 1,255 of 3,000 distinct calls were merged away
("Call 146 on …" into "Call 134 on …"): one funder, one source, titles "Call N on <topic>" from
a handful of topics, deadlines a day apart, so every deadline window holds several calls of the
same topic whose titles differ by their number only. Used by tests/pipeline/dedupe and by
bench/dedupe.py; every call is distinct, so any merge is a false merge.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

TOPICS = (
    "climate adaptation", "coastal resilience", "renewable energy", "food security",
    "youth employment", "digital skills", "public health", "sustainable tourism",
    "marine protected areas", "disaster risk reduction",
)  # fmt: skip
# Series words of the issue: each generated title numbers one of them.
SERIES = (
    "Call {n} on {topic}", "Window {n}: {topic}", "Round {n} – {topic} grants",
    "Lot {n} – {topic}", "Cohort {n} of the {topic} accelerator",
    "Appel à projets n°{n} : {topic}", "{topic} programme, phase {roman}",
)  # fmt: skip
_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")
START = datetime(2027, 1, 4, 16, tzinfo=UTC)


def series_calls(n: int = 3000, *, mixed: bool = False) -> list[dict[str, object]]:
    """`n` distinct calls as `fundradar import` JSON objects.

    Call i has deadline START + i // 2 days (two calls a day, so each ±36 h window holds six or
    seven) and topic TOPICS[i // 12 % len(TOPICS)]: blocks of twelve calls on one topic, so
    most calls have five or six neighbours within the deadline tolerance whose titles differ by
    their number only ("Call 134" / "Call 135" on one topic, deadlines a day apart). `mixed`
    cycles the title through the series words of SERIES instead of "Call N" only (roman
    numerals I-X for phases).
    """
    out: list[dict[str, object]] = []
    for i in range(1, n + 1):
        topic = TOPICS[i // 12 % len(TOPICS)]
        pattern = SERIES[i % len(SERIES)] if mixed else SERIES[0]
        title = pattern.format(n=i, topic=topic, roman=_ROMAN[i // len(SERIES) % 10])
        when = START + timedelta(days=i // 2)
        out.append({
            "title": title,
            "url": f"https://funder.example.org/calls/{i}",
            "funder": "Generated Development Fund",
            "deadline": when.strftime("%Y-%m-%d %H:%M"),
            "language": "fr" if pattern.startswith("Appel") else "en",
            "timezone": "UTC",
        })  # fmt: skip
    return out


def series_lines(n: int = 3000, *, mixed: bool = False) -> list[str]:
    return [json.dumps(c, ensure_ascii=False) for c in series_calls(n, mixed=mixed)]
