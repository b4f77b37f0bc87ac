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
candidates to the few calls of the same days).

Then the labelled pairs (tests/fixtures/dedupe/pairs.jsonl) end to end: for each pair, one record
is stored (`store.upsert`) in an empty database and the other is looked up (`find_match`), both
ways round; a pair is found when the look-up lands on the stored record. Unlike the pairs test
(the decision alone, no database), this counts what the SQL narrowing and the prefilter lose:
precision and recall per part, to be compared before and after a change of the candidate
queries. Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
PAIRS = REPO / "tests" / "fixtures" / "dedupe" / "pairs.jsonl"


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


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def pair_call(record: dict, now: datetime):  # type: ignore[no-untyped-def]
    """A labelled record as a normalised `Call`, as a spider would give it."""
    from fundradar.pipeline.normalise import normalise
    from fundradar.pipeline.record import Call

    deadlines = sorted(_aware(datetime.fromisoformat(d)) for d in record.get("deadlines") or [])
    call = Call(
        source=record.get("source") or "import", url=record.get("url") or "https://x.invalid/",
        title=record.get("title") or "", funder=record.get("funder"),
        language=record.get("language"), source_ref=record.get("source_ref"),
        deadlines=[_aware(d) for d in deadlines],
    )  # fmt: skip
    if record.get("links"):
        call.extra["links_to"] = list(record["links"])
    return normalise(call, now=now)


def pairs_end_to_end() -> dict[str, Counter[str]]:
    """{part: Counter(tp, fp, fn, tn)} over both orders of every labelled pair."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from fundradar.pipeline import store
    from fundradar.pipeline.dedupe import find_match
    from fundradar.pipeline.models import Base

    pairs = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines()]
    out: dict[str, Counter[str]] = {}
    for pair in pairs:
        for first, second in ((pair["a"], pair["b"]), (pair["b"], pair["a"])):
            dates = [_aware(datetime.fromisoformat(d)) for r in (first, second)
                     for d in r.get("deadlines") or []]  # fmt: skip
            # "now" before every deadline: the stored call's next deadline is then its first
            now = min(dates, default=datetime(2026, 1, 1, tzinfo=UTC)) - timedelta(days=30)
            engine = create_engine("sqlite://")
            Base.metadata.create_all(engine)
            with Session(engine) as session:
                stored = store.upsert(session, pair_call(first, now), now=now).row
                session.flush()
                found = find_match(session, pair_call(second, now))
                same = found is not None and found.row.id == stored.id
            engine.dispose()
            tally = out.setdefault(pair["part"], Counter())
            label = "t" if same == pair["same"] else "f"
            tally[label + ("p" if same else "n")] += 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=3000)
    parser.add_argument("--pairs-only", action="store_true", help="only the labelled pairs")
    args = parser.parse_args()
    if args.pairs_only:
        return print_pairs()
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
    print_pairs()


def print_pairs() -> None:
    print("labelled pairs end to end (store one record, find_match the other, both orders):")
    for part, t in sorted(pairs_end_to_end().items()):
        precision = t["tp"] / max(1, t["tp"] + t["fp"])
        recall = t["tp"] / max(1, t["tp"] + t["fn"])
        print(f"  {part}: {sum(t.values())} look-ups, precision {precision:.3f} "
              f"({t['tp']}/{t['tp'] + t['fp']}), recall {recall:.3f} ({t['tp']}/"
              f"{t['tp'] + t['fn']}), false merges {t['fp']}")  # fmt: skip


if __name__ == "__main__":
    main()
