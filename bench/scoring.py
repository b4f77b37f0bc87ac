"""Scoring benchmark: the relevance scorer against labelled calls, beside a keyword alert.

    python bench/scoring.py [LABELLED.jsonl ...] [--calls N]

Reads labelled JSONL files (default: both labelled sets -- the development set,
../shared/eval/dev_calls.jsonl beside the repository or else its copy in tests/fixtures/eval/,
and the constructed hold-out set tests/fixtures/eval/holdout_calls.jsonl) and prints, for each,
for the scorer and for a keyword-alert reference (flag a call when any of ~30 terms appears,
rank by how many times they appear):

* NDCG@10 with graded gains (gain = label 0-3; ties in score share their gains, so a scorer
  gains nothing from the order of the file),
* Spearman correlation between score and label (average ranks for ties),
* recall of label-3 calls among flagged calls (band high or medium: what the digest shows),
* share of label-0 calls among flagged calls,
* speed in calls per second on N calls (the file replicated; default 10,000),

then the calls whose band disagrees with their label, to help tuning. Not a test: the targets
are asserted in tests/test_score.py (on both sets).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from fundradar.pipeline.score import load_profile, score_call  # noqa: E402

DEFAULT_FILE = REPO / ".." / "shared" / "eval" / "dev_calls.jsonl"
FIXTURE_FILE = REPO / "tests" / "fixtures" / "eval" / "dev_calls.jsonl"
HOLDOUT_FILE = REPO / "tests" / "fixtures" / "eval" / "holdout_calls.jsonl"
FLAGGED = ("high", "medium")
EXPECTED_BAND = {3: "high", 2: "medium", 1: "low", 0: "none"}
BAND_ORDER = ("none", "low", "medium", "high")

# What a keyword alert (a saved search on a funding portal) would watch for. Naive on purpose:
# case- and accent-insensitive substrings, so "Dominica" also fires on "Dominican Republic".
KEYWORDS = (
    "caribbean", "caraibe", "caribe", "oecs", "oeco", "eastern caribbean", "climate", "climat",
    "ocean", "marine", "island", "resilience", "disaster", "biodiversity", "fisheries",
    "renewable energy", "blue economy", "saint lucia", "sainte-lucie", "dominica", "grenada",
    "antigua", "st kitts", "saint vincent", "montserrat", "anguilla", "virgin islands",
    "martinique", "guadeloupe", "saint-martin",
)  # fmt: skip


# ------------------------------------------------------------------------------------------------
# Metrics
# ------------------------------------------------------------------------------------------------


def _tie_groups(scores: Sequence[float]) -> list[list[int]]:
    """Indices sorted by score (highest first), grouped where scores are equal."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    groups: list[list[int]] = []
    for i in order:
        if groups and scores[groups[-1][0]] == scores[i]:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def ndcg_at_k(labels: Sequence[int], scores: Sequence[float], k: int = 10) -> float:
    """NDCG@k with gain = label; tied scores share the mean gain of their group."""

    def dcg(gains: list[float]) -> float:
        return sum(g / math.log2(pos + 2) for pos, g in enumerate(gains[:k]))

    gains: list[float] = []
    for group in _tie_groups(scores):
        mean = sum(labels[i] for i in group) / len(group)
        gains.extend([mean] * len(group))
    ideal = dcg(sorted((float(x) for x in labels), reverse=True))
    return dcg(gains) / ideal if ideal else 0.0


def _average_ranks(values: Sequence[float]) -> list[float]:
    ranks = [0.0] * len(values)
    pos = 0
    for group in reversed(_tie_groups(values)):  # ascending
        mean = pos + (len(group) + 1) / 2
        for i in group:
            ranks[i] = mean
        pos += len(group)
    return ranks


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    ra, rb = _average_ranks(a), _average_ranks(b)
    n = len(ra)
    ma, mb = sum(ra) / n, sum(rb) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb, strict=True))
    va = math.sqrt(sum((x - ma) ** 2 for x in ra))
    vb = math.sqrt(sum((y - mb) ** 2 for y in rb))
    return cov / (va * vb) if va and vb else 0.0


@dataclass(frozen=True)
class Metrics:
    ndcg10: float
    spearman: float
    recall3: float  # label-3 calls flagged / label-3 calls
    share0: float  # label-0 calls among flagged calls
    flagged: int
    calls_per_second: float | None = None


def evaluate(labels: Sequence[int], scores: Sequence[float], flagged: Sequence[bool]) -> Metrics:
    threes = [f for lab, f in zip(labels, flagged, strict=True) if lab == 3]
    shown = [lab for lab, f in zip(labels, flagged, strict=True) if f]
    return Metrics(
        ndcg10=ndcg_at_k(labels, scores, 10),
        spearman=spearman(scores, [float(x) for x in labels]),
        recall3=sum(threes) / len(threes) if threes else 1.0,
        share0=sum(1 for lab in shown if lab == 0) / len(shown) if shown else 0.0,
        flagged=len(shown),
    )


# ------------------------------------------------------------------------------------------------
# The two scorers
# ------------------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c)
    )


def keyword_score(record: dict[str, Any]) -> tuple[float, bool]:
    """The keyword alert: (number of keyword occurrences, flagged)."""
    text = _fold(
        " ".join(
            str(record.get(k) or "") for k in ("title", "text", "summary", "funder", "programme")
        )
    )
    count = sum(text.count(term) for term in KEYWORDS)
    return float(count), count > 0


def load_records(path: Path) -> list[dict[str, Any]]:
    records = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            record = json.loads(line)
            if "label" not in record:
                raise SystemExit(f"{path}:{n}: no 'label' field")
            records.append(record)
    return records


def run_scorer(records: list[dict[str, Any]]) -> tuple[list[Any], Metrics]:
    profile = load_profile()
    results = [score_call(r, profile) for r in records]
    labels = [int(r["label"]) for r in records]
    metrics = evaluate(labels, [x.score for x in results], [x.band in FLAGGED for x in results])
    return results, metrics


def run_keywords(records: list[dict[str, Any]]) -> Metrics:
    out = [keyword_score(r) for r in records]
    labels = [int(r["label"]) for r in records]
    return evaluate(labels, [s for s, _ in out], [f for _, f in out])


def speed(records: list[dict[str, Any]], n: int, fn: Callable[[dict[str, Any]], object]) -> float:
    batch = (records * (n // len(records) + 1))[:n]
    start = time.perf_counter()
    for r in batch:
        fn(r)
    return n / (time.perf_counter() - start)


# ------------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------------


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def report(path: Path, n_speed: int) -> str:
    records = load_records(path)
    results, ours = run_scorer(records)
    keywords = run_keywords(records)
    profile = load_profile()
    ours_speed = speed(records, n_speed, lambda r: score_call(r, profile))
    kw_speed = speed(records, n_speed, keyword_score)

    def row(name: str, target: str, a: float, b: float, fmt: str) -> list[str]:
        return [name, target, format(a, fmt), format(b, fmt)]

    rows = [
        row("NDCG@10 (gain = label)", ">= 0.90", ours.ndcg10, keywords.ndcg10, ".3f"),
        row("Spearman score~label", ">= 0.80", ours.spearman, keywords.spearman, ".3f"),
        row("label-3 recall among flagged", "1.00", ours.recall3, keywords.recall3, ".2f"),
        row("label-0 share among flagged", "<= 0.05", ours.share0, keywords.share0, ".3f"),
        ["calls flagged", "", str(ours.flagged), str(keywords.flagged)],
        [f"calls/second ({n_speed:,} calls)", "", f"{ours_speed:,.0f}", f"{kw_speed:,.0f}"],
    ]
    out = [
        f"Scoring benchmark: {len(records)} labelled calls from {path}",
        "",
        _table(("figure", "target", "scorer", "keyword alert"), rows),
        "",
    ]

    misses = []
    for rec, res in zip(records, results, strict=True):
        label = int(rec["label"])
        gap = BAND_ORDER.index(res.band) - BAND_ORDER.index(EXPECTED_BAND[label])
        if gap:
            misses.append((-abs(gap), -label, rec, res, gap))
    misses.sort(key=lambda m: (m[0], m[1], -m[3].score))
    out.append(
        f"Calls whose band differs from their label ({len(misses)}; label 3=high, 2=medium, "
        "1=low, 0=none):"
    )
    rows = [
        [
            rec["id"],
            str(rec["label"]),
            f"{res.band} ({'+' if gap > 0 else ''}{gap})",
            str(res.score),
            (rec.get("title") or "")[:58],
            (res.reasons[0] if res.reasons else "")[:90],
        ]
        for _, _, rec, res, gap in misses
    ]
    out.append(_table(("id", "label", "band", "score", "title", "first reason"), rows))
    return "\n".join(out)


def default_files() -> list[Path]:
    """The development set (the shared copy when present) and the hold-out set."""
    return [DEFAULT_FILE if DEFAULT_FILE.is_file() else FIXTURE_FILE, HOLDOUT_FILE]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "files", nargs="*", type=Path, help="labelled JSONL files (default: dev and hold-out sets)"
    )
    parser.add_argument("--calls", type=int, default=10_000, help="calls for the speed figure")
    args = parser.parse_args(argv)
    paths = args.files or default_files()
    print("\n\n".join(report(path.resolve(), args.calls) for path in paths))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
