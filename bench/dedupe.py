"""Dedupe on numbered series at scale: `fundradar import` of N generated distinct calls
("Call N on <topic>", one funder, deadlines a day apart — the file that once lost 1,255 of
3,000 calls to false merges), beside the same file with distinct titles as a reference.

    python bench/dedupe.py              # 3,000 calls
    python bench/dedupe.py -n 10000

The calls are generated (reconstructed — not captures) by tests/pipeline/dedupe/generated.py.
Figures: false merges (target 0: every call is distinct) for the "Call N" file and for the
mixed-series file (Window N, Round N, Lot N, Cohort N, AMI n°N, Phase <roman>); import speed of
each beside the reference file, whose titles share no words, so the fuzzy stage finds nothing
to judge (target: the series files within 2x the reference: narrowing by deadline keeps the
candidates to the few calls of the same days). Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def reference_lines(n: int) -> list[str]:
    """The same calls with titles that share nothing (a serial spelt as letters)."""
    from tests.pipeline.dedupe.generated import series_calls

    def word(i: int) -> str:
        out = ""
        while True:
            out += "bcdfghjklmnpqrstvwxz"[i % 20] + "aeiou"[i // 20 % 5]
            i //= 100
            if not i:
                return out

    calls = series_calls(n)
    for i, c in enumerate(calls):
        c["title"] = f"{word(i).capitalize()} {word(i * 7919 + 13)} {word(i * 104729 + 7)}"
    return [json.dumps(c, ensure_ascii=False) for c in calls]


def run(lines: list[str]) -> tuple[float, int, int]:
    """(seconds, calls stored new, lines merged into another) in a fresh database."""
    from fundradar.pipeline import db
    from fundradar.pipeline.importer import import_lines

    os.environ["FUNDRADAR_HOME"] = tempfile.mkdtemp(prefix="fundradar-bench-dedupe-")
    db.reset_caches()
    start = time.perf_counter()
    report = import_lines(lines)
    seconds = time.perf_counter() - start
    counts = report.counts
    merged = sum(counts[k] for k in ("updated", "unchanged", "sighting", "duplicate"))
    return seconds, counts["new"], merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=3000)
    args = parser.parse_args()
    from tests.pipeline.dedupe.generated import series_lines

    n = args.n
    run(reference_lines(50))  # warm-up: profile, config and imports load once, outside timing
    ref_s, ref_new, ref_merged = run(reference_lines(n))
    print(f"dedupe benchmark — python {sys.version.split()[0]}, {n:,} distinct calls per file")
    print(f"reference (titles share no words): {ref_s:.2f} s = {n / ref_s:,.0f} calls/s, "
          f"{ref_new:,} new, {ref_merged} merged")  # fmt: skip
    for name, mixed in (("Call N on <topic>", False), ("mixed series words", True)):
        s, new, merged = run(series_lines(n, mixed=mixed))
        print(f"{name}: {s:.2f} s = {n / s:,.0f} calls/s ({s / ref_s:.2f}x the reference, "
              f"target <= 2x); false merges {merged} (target 0), {new:,} new")  # fmt: skip


if __name__ == "__main__":
    main()
