"""Import speed: `fundradar import` of N JSONL lines, and how soon the first result shows.

    python bench/importer.py               # 3,000 lines, median of 3
    python bench/importer.py --lines 500 --repeat 5

The lines are reconstructed — not captures: calls shaped like the labelled ones (French and
English titles, funders, free-text deadlines and budgets), each with its own link and title so
every line is a new call, about one in fifty a near-repeat of an earlier one (dedupe at work).

Each run is a fresh data folder and a fresh `python -m fundradar import FILE` process with its
output piped, as a script would run it. Printed, medians of `--repeat` runs: the whole run,
lines per second, and the time until the first result line reached the pipe, beside the whole
run (before results streamed, the first line came with the last, after the whole run).
Nothing is asserted (benchmarks report, tests assert).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FUNDERS = ["Agence française de développement", "European Commission", "UNDP",
           "Région Guadeloupe", "Global Affairs Canada"]  # fmt: skip
TOPICS = ["économie bleue", "résilience climatique", "gestion des déchets", "énergie solaire",
          "biodiversité marine", "ocean governance", "disaster risk reduction"]  # fmt: skip


def lines(n: int) -> list[str]:
    out = []
    for i in range(n):
        j = i - 1 if i % 50 == 49 else i  # a near-repeat of the line before, now and then
        out.append(json.dumps({
            "title": f"Appel à projets {j} — {TOPICS[j % len(TOPICS)]} dans la Caraïbe",
            "url": f"https://example.org/appels/{i}",
            "funder": FUNDERS[j % len(FUNDERS)],
            "summary": "Soutien aux petits États insulaires en développement de l'OECS. " * 3,
            "deadline": f"{1 + j % 28} mars 2027 à 12h00",
            "budget": f"jusqu'à {50 + j % 400} 000 EUR",
            "eligibility": "Sainte-Lucie, Dominique, Grenade",
        }, ensure_ascii=False))  # fmt: skip
    return out


def run_once(path: Path, home: Path) -> tuple[float, float, int]:
    env = dict(os.environ, FUNDRADAR_HOME=str(home))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "fundradar", "import", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)  # fmt: skip
    assert proc.stdout is not None
    first = proc.stdout.readline()
    t_first = time.perf_counter() - t0
    rest = proc.stdout.read()
    proc.wait()
    total = time.perf_counter() - t0
    printed = (first + rest).decode().count("\n")
    return total, t_first, printed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    totals, firsts = [], []
    with tempfile.TemporaryDirectory(prefix="fundradar-bench-import-") as tmp:
        path = Path(tmp) / "calls.jsonl"
        path.write_text("\n".join(lines(args.lines)) + "\n", encoding="utf-8")
        for k in range(args.repeat):
            total, first, printed = run_once(path, Path(tmp) / f"home-{k}")
            if printed != args.lines + 1:  # a result line per line, and the summary
                raise SystemExit(f"run {k}: {printed} lines printed, expected {args.lines + 1}")
            totals.append(total)
            firsts.append(first)
    total, first = statistics.median(totals), statistics.median(firsts)
    print(f"import benchmark — python {sys.version.split()[0]}, {args.lines:,} lines, "
          f"fresh database per run, median of {args.repeat}")  # fmt: skip
    print(f"  whole import:        {total:.1f} s ({args.lines / total:,.0f} lines/s, "
          f"{1000 * total / args.lines:.1f} ms a line, process start included)")  # fmt: skip
    print(f"  first result shown:  {first:.2f} s after start ({100 * first / total:.1f} % of "
          f"the whole run; target: the first line's time, not the whole run's)")  # fmt: skip


if __name__ == "__main__":
    main()
