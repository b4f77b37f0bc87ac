"""Deadline reading speed: `normalise()` on generated calls, with the deadline in a deadline
text and with the deadline only in the description, beside `dateparser` on the same texts.

    python bench/dates.py              # 2,000 calls
    python bench/dates.py -n 5000 --seed 3

The calls are bench/pipeline.py's generated calls (reconstructed — not captures: 1-3 kB HTML
summaries, deadlines written as funders write them). The "description" run moves each deadline
to the end of the summary behind a cue ("Date limite : …", "Deadline: …"), so the cue-word
reader scans the whole text — the path feeds and listing cards now take.

Targets: the summary run at least half as fast as the deadline-text run (the cue-word reader
scans 1-3 kB where a deadline text is a line; measured in the same run, so machine load cancels
out), and the deadline-text run at least 300 calls/s on an idle machine (a crawl of every
source is ~2,000 calls). The reference is `dateparser.parse` (the library this module does
without) on the same deadline texts in the same run.

Prints; asserts nothing (benchmarks report, tests assert).
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TARGET = 300.0  # calls/s, deadline-text run, idle machine
TARGET_RATIO = 0.5  # summary run / deadline-text run


def _generated(n: int, seed: int) -> list:  # type: ignore[type-arg]
    spec = importlib.util.spec_from_file_location("bench_pipeline", REPO / "bench" / "pipeline.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    calls, _origin = module.generate(n, seed)
    return calls


def _in_description(calls: list) -> list:  # type: ignore[type-arg]
    moved = []
    for call in calls:
        c = copy.deepcopy(call)
        text = c.deadline_texts[0] if c.deadline_texts else ""
        if text and not text.lower().startswith(("date limite", "deadline")):
            text = ("Date limite : " if c.language == "fr" else "Deadline: ") + text
        c.summary = (c.summary or "") + f"<p>{text}</p>"
        c.deadline_texts = []
        moved.append(c)
    return moved


def _normalise_speed(calls: list, now: datetime) -> tuple[float, int]:  # type: ignore[type-arg]
    from fundradar.pipeline.normalise import Rejected, normalise

    work = [copy.deepcopy(c) for c in calls]
    found = 0
    start = time.perf_counter()
    for call in work:
        try:
            normalise(call, now=now)
        except Rejected:
            continue
        found += call.deadline is not None
    return len(work) / (time.perf_counter() - start), found


def _dateparser_speed(texts: list[str]) -> float:
    import dateparser

    settings = {"DATE_ORDER": "DMY", "RETURN_AS_TIMEZONE_AWARE": False}
    dateparser.parse("1 janvier 2027", languages=["fr", "en"], settings=settings)  # warm up
    start = time.perf_counter()
    for text in texts:
        dateparser.parse(text, languages=["fr", "en", "es"], settings=settings)  # type: ignore[arg-type]
    return len(texts) / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    calls = _generated(args.n, args.seed)
    described = _in_description(calls)
    _normalise_speed(calls[:50], now)  # imports and caches, not measured
    texts = [t for c in calls for t in c.deadline_texts][: min(500, args.n)]
    ref = _dateparser_speed(texts)
    plain, plain_found = _normalise_speed(calls, now)
    desc, desc_found = _normalise_speed(described, now)
    print(f"normalise, deadline text:        {plain:7,.0f} calls/s "
          f"({plain_found:,} of {len(calls):,} with a deadline)")  # fmt: skip
    print(f"normalise, deadline in summary:  {desc:7,.0f} calls/s "
          f"({desc_found:,} of {len(calls):,} with a deadline)")  # fmt: skip
    print(f"summary run / deadline-text run: {desc / plain:.2f} (target at least {TARGET_RATIO})")
    print(f"target, deadline-text run: at least {TARGET:,.0f} calls/s on an idle machine")
    print(f"reference, dateparser.parse on {len(texts)} deadline texts: {ref:7,.0f} texts/s")


if __name__ == "__main__":
    main()
