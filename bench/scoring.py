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

Then the feedback from verdicts (`pipeline.score.feedback`), measured so it cannot flatter:

* k-fold cross-validation (default k=5) on each labelled set: the labels stand for the team's
  verdicts (3 shortlist, 2 relevant, 1 and 0 not relevant with the rationale as the reason); the
  model is trained on k-1 folds and scores the held-out fold only, and the figures are over the
  held-out predictions;
* the development set's verdicts scoring the hold-out set (trained on one, measured on the other);
* per language (en, fr, es) on each set, with and without feedback.

The feedback numbers in config/priorities.yaml were set before these figures were measured and
not tuned on either set.
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


# ------------------------------------------------------------------------------------------------
# Feedback from verdicts, cross-validated
# ------------------------------------------------------------------------------------------------

LABEL_VERDICT = {3: "shortlist", 2: "relevant", 1: "not-relevant", 0: "not-relevant"}
LANGUAGES = ("en", "fr", "es")


def _judged(record: dict[str, Any], result: Any) -> Any:
    from fundradar.pipeline.score.feedback import Judged

    label = int(record["label"])
    return Judged(
        ref=str(record["id"]),
        title=str(record.get("title") or ""),
        verdict=LABEL_VERDICT[label],
        funder=record.get("funder"),
        programme=record.get("programme"),
        themes=tuple(result.themes),
        summary=record.get("text"),
        reason=record.get("rationale") if label < 2 else None,
    )


def folds_of(records: list[dict[str, Any]], k: int) -> list[int]:
    """A fold per record, fixed by its id (never by the file's order or a random seed)."""
    order = sorted(range(len(records)), key=lambda i: str(records[i]["id"]))
    fold = [0] * len(records)
    for pos, i in enumerate(order):
        fold[i] = pos % k
    return fold


def cross_validated(records: list[dict[str, Any]], results: list[Any], k: int) -> list[Any]:
    """Each record scored with a model trained on the other folds only."""
    from fundradar.pipeline.score.feedback import train

    profile = load_profile()
    folds = folds_of(records, k)
    out: list[Any] = [None] * len(records)
    for f in range(k):
        train_idx = [i for i in range(len(records)) if folds[i] != f]
        model = train([_judged(records[i], results[i]) for i in train_idx], profile)
        for i in range(len(records)):
            if folds[i] == f:
                out[i], _ = model.adjust(results[i], records[i], profile)
    return out


def trained_on(
    train_records: list[dict[str, Any]], train_results: list[Any],
    records: list[dict[str, Any]], results: list[Any],
) -> list[Any]:  # fmt: skip
    from fundradar.pipeline.score.feedback import train

    profile = load_profile()
    model = train(
        [_judged(r, x) for r, x in zip(train_records, train_results, strict=True)], profile
    )
    return [model.adjust(x, r, profile)[0] for r, x in zip(records, results, strict=True)]


def _metrics(records: list[dict[str, Any]], results: list[Any]) -> Metrics:
    labels = [int(r["label"]) for r in records]
    return evaluate(labels, [x.score for x in results], [x.band in FLAGGED for x in results])


def _figure_rows(name: str, m: Metrics, labels: Sequence[int] = (1, 3)) -> list[str]:
    """A row of figures; "n/a" where the subset cannot say (no label above 0, no label 3, a
    single label)."""
    graded = any(labels) and len(set(labels)) > 1
    return [
        name,
        f"{m.ndcg10:.3f}" if graded else "n/a",
        f"{m.spearman:.3f}" if graded else "n/a",
        f"{m.recall3:.2f}" if 3 in labels else "n/a",
        f"{m.share0:.3f}",
        str(m.flagged),
    ]


FIGURE_HEADERS = ("", "NDCG@10", "Spearman", "label-3 flagged", "label-0 among flagged", "flagged")


def feedback_report(
    path: Path, records: list[dict[str, Any]], results: list[Any], k: int,
    extra: list[tuple[str, list[Any]]] = (),  # type: ignore[assignment]
) -> str:  # fmt: skip
    try:
        cv = cross_validated(records, results, k)
    except ImportError:  # a scorer without feedback (measuring the code before it existed)
        cv = None
    labels = [int(r["label"]) for r in records]
    rows = [_figure_rows("rules only", _metrics(records, results), labels)]
    if cv is not None:
        rows.append(_figure_rows(f"with feedback ({k}-fold CV)", _metrics(records, cv), labels))
        moved = sum(1 for a, b in zip(results, cv, strict=True) if a.score != b.score)
        rebanded = sum(1 for a, b in zip(results, cv, strict=True) if a.band != b.band)
    for name, adjusted in extra:
        rows.append(_figure_rows(name, _metrics(records, adjusted), labels))
    out = [f"Feedback from verdicts on {path.name} ({len(records)} calls):", ""]
    out.append(_table(FIGURE_HEADERS, rows))
    if cv is not None:
        out.append(f"(cross-validated: {moved} scores moved, {rebanded} bands changed)")
    out += ["", "Per language:"]
    rows = []
    for lang in LANGUAGES:
        idx = [i for i, r in enumerate(records) if (r.get("language") or "en") == lang]
        if not idx:
            continue
        sub = [records[i] for i in idx]
        labels = [int(r["label"]) for r in sub]
        name = f"{lang} ({len(idx)})"
        base = _metrics(sub, [results[i] for i in idx])
        rows.append(_figure_rows(f"{name} rules only", base, labels))
        if cv is not None:
            adjusted = _metrics(sub, [cv[i] for i in idx])
            rows.append(_figure_rows(f"{name} with feedback (CV)", adjusted, labels))
    out.append(_table(FIGURE_HEADERS, rows))
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
    parser.add_argument("--folds", type=int, default=5, help="k of the cross-validation")
    args = parser.parse_args(argv)
    paths = args.files or default_files()
    print("\n\n".join(report(path.resolve(), args.calls) for path in paths))
    scored = []
    profile = load_profile()
    for path in paths:
        records = load_records(path.resolve())
        scored.append((path, records, [score_call(r, profile) for r in records]))
    for n, (path, records, results) in enumerate(scored):
        extra: list[tuple[str, list[Any]]] = []
        if not args.files and n == 1:  # the hold-out set, with the development set's verdicts
            try:
                dev_records, dev_results = scored[0][1], scored[0][2]
                extra.append(
                    ("with feedback (dev verdicts)",
                     trained_on(dev_records, dev_results, records, results))
                )  # fmt: skip
            except ImportError:
                pass
        print("\n\n" + feedback_report(path, records, results, args.folds, extra))
    if len(scored) > 1:  # every labelled call in one pool: more verdicts to learn from
        pooled = [r for _, records, _ in scored for r in records]
        pooled_results = [x for _, _, results in scored for x in results]
        name = Path(" + ".join(path.name for path, _, _ in scored))
        print("\n\n" + feedback_report(name, pooled, pooled_results, args.folds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
