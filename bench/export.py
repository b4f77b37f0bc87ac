"""Export speed and memory: the CSV feed of N stored calls beside a plain sqlite3 CSV dump.

    python bench/export.py                    # 10,000 and 100,000 calls, medians of 3
    python bench/export.py --sizes 1000 50000 --repeat 5
    python bench/export.py --with-reference   # also the plain reference formatter (slow)

For each size it builds a SQLite database of N synthetic calls (reconstructed — not captures:
realistic lengths of title, summary, themes and reasons), then, `--repeat` times, each in a
fresh child process and interleaved so that load on the machine hits all of them alike:

- `fundradar CSV`: `pipeline.exports.csv_feed.write_csv_file` over every call (`--all`,
  so it reads the same rows as the dumps), timed;
- `sqlite3 CLI`: `sqlite3 -csv -header DB "SELECT * FROM calls"` (every column, no
  formatting, no neutralising: the floor for "read the table and write CSV"), timed; when no
  `sqlite3` program is installed, the stdlib `sqlite3` cursor into `csv.writer` stands in,
  and the table says so;
- `python sqlite3`: the stdlib `sqlite3` cursor into `csv.writer`, timed;
- `reference` (with `--with-reference`): the same feed through `RowFormatter`, the plain
  formatter kept as the reference; its file must equal the fast one byte for byte.

Then once per size, memory: the export again under tracemalloc (peak Python heap during the
export) and the child's peak RSS. Streaming means both stay flat from 10k to 100k.

Prints medians, each target beside its figure, and the ratios; nothing is asserted
(benchmarks report, tests assert).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

THEMES = [
    "climate", "ocean", "biodiversity", "waste", "energy", "agriculture", "water", "health",
    "education", "inclusion", "digital", "regional-cooperation", "economy",
]  # fmt: skip
FUNDERS = [("European Commission", "Horizon Europe"), ("Agence française de développement",
           "FISONG"), ("Région Guadeloupe", "Interreg Caraïbes"), ("UNDP", None),
           ("Préfecture de Martinique", "Fonds de coopération régionale")]  # fmt: skip
BANDS = ["high", "medium", "low", "none"]
STATUSES = ["open", "forthcoming", "closed"]


def _rss_kib() -> int:
    """Current resident set size (Linux /proc), in KiB."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def seed(home: Path, n: int) -> Path:
    """A database of n calls, written with Core executemany (fast; not what is measured)."""
    os.environ["FUNDRADAR_HOME"] = str(home)
    from sqlalchemy import insert

    from fundradar.pipeline import db
    from fundradar.pipeline.models import CallRow

    db.init()
    engine = db.get_engine()
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    summary = ("Support for climate resilience, ocean governance and disaster risk reduction in "
               "Small Island Developing States of the Eastern Caribbean. ") * 5  # fmt: skip
    formula = "=SUM(1)"  # a hostile title now and then: neutralising is part of the cost
    batch: list[dict[str, object]] = []
    with engine.begin() as conn:
        for i in range(n):
            funder, programme = FUNDERS[i % len(FUNDERS)]
            deadline = now + timedelta(days=(i % 400) - 60, hours=i % 24)
            batch.append({
                "key": f"bench:{i:07d}", "source": "bench", "source_ref": f"{i:07d}",
                "url": f"https://example.org/calls/{i}?lang=fr",
                "canonical_url": f"https://example.org/calls/{i}",
                "title": f"Appel à projets n°{i} — résilience climatique et économie bleue dans "
                         f"les petits États insulaires (OECS) {formula if i % 97 == 0 else ''}",
                "summary": summary, "funder": funder, "programme": programme,
                "language": "fr", "deadline": deadline, "deadlines": [deadline.isoformat()],
                "opens_at": now - timedelta(days=30), "status": STATUSES[i % 3],
                "budget_min": 100000.0 if i % 2 else None, "budget_max": 2500000.0,
                "currency": "EUR", "budget_scope": "per_project" if i % 2 else "total",
                "score": (i * 37) % 101, "band": BANDS[i % 4],
                "themes": [THEMES[i % 13], THEMES[(i * 7) % 13]],
                "reasons": ["Eligible: OECS member states named in the call",
                            f"Theme: {THEMES[i % 13]}", "Deadline in more than four weeks"],
                "eligible_countries": ["LC", "DM", "GD"], "eligible_applicants": [],
                "notes": [], "extra": {}, "content_hash": f"{i:064d}",
                "first_seen": now - timedelta(days=i % 90), "last_seen": now, "listed": True,
            })  # fmt: skip
            if len(batch) == 5000:
                conn.execute(insert(CallRow), batch)
                batch = []
        if batch:
            conn.execute(insert(CallRow), batch)
    path = Path(engine.url.database or "")
    db.reset_caches()
    return path


# ------------------------------------------------------------------------------ child runs

TARGET_RATIO = 2.0  # issue 16: export <= 2x the sqlite3 CLI dump of the same rows
TARGET_MEMORY = 1.25  # "flat": peak at the largest size <= 1.25x the peak at the smallest


def child_fundradar(out: Path, trace: bool, reference: bool) -> dict[str, float]:
    import tracemalloc

    from sqlalchemy import select

    from fundradar.pipeline import db
    from fundradar.pipeline.exports.csv_feed import write_csv_file
    from fundradar.pipeline.exports.query import CallFilter

    flt = CallFilter(statuses=(), include_dismissed=True)  # every call, like the dumps
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)  # one "today" for every run: files comparable
    with db.session_scope() as s:  # connect and check the schema before measuring
        s.execute(select(1))
    rss_before = _rss_kib()
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    with db.session_scope() as s:
        n = write_csv_file(out, s, flt, now=now, reference=reference)
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"seconds": seconds, "rows": n, "heap_peak": peak, "rss_before_kib": rss_before,
            "rss_peak_kib": maxrss}  # fmt: skip


def child_python_sqlite(dbfile: Path, out: Path) -> dict[str, float]:
    import csv
    import sqlite3

    t0 = time.perf_counter()
    conn = sqlite3.connect(dbfile)
    cur = conn.execute("SELECT * FROM calls")
    with out.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([d[0] for d in cur.description])
        rows = 0
        while batch := cur.fetchmany(1000):
            w.writerows(batch)
            rows += len(batch)
    conn.close()
    return {"seconds": time.perf_counter() - t0, "rows": rows}


def run_child(*args: str) -> dict[str, float]:
    env = dict(os.environ)
    proc = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, env=env,
        check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def sqlite_cli(dbfile: Path, out: Path) -> float | None:
    exe = shutil.which("sqlite3")
    if exe is None:
        return None
    t0 = time.perf_counter()
    with out.open("wb") as fh:
        subprocess.run([exe, "-csv", "-header", str(dbfile), "SELECT * FROM calls"], stdout=fh,
                       check=True)  # fmt: skip
    return time.perf_counter() - t0


def measure(n: int, work: Path, repeat: int, with_reference: bool) -> dict[str, Any]:
    home = work / f"home-{n}"
    dbfile = seed(home, n)
    os.environ["FUNDRADAR_HOME"] = str(home)
    ours: list[float] = []
    cli: list[float] = []
    py: list[float] = []
    ref: list[float] = []
    rss: list[float] = []
    for _ in range(repeat):  # interleaved: a busy moment slows every contender alike
        r = run_child("fundradar", str(work / f"fr-{n}.csv"), "0", "0")
        assert r["rows"] == n, r
        ours.append(r["seconds"])
        rss.append(r["rss_peak_kib"] - r["rss_before_kib"])
        c = sqlite_cli(dbfile, work / f"cli-{n}.csv")
        p = run_child("python", str(dbfile), str(work / f"py-{n}.csv"))
        assert p["rows"] == n, p
        py.append(p["seconds"])
        cli.append(c if c is not None else p["seconds"])
        if with_reference:
            ref.append(run_child("fundradar", str(work / f"ref-{n}.csv"), "0", "1")["seconds"])
    mem = run_child("fundradar", str(work / f"fr-mem-{n}.csv"), "1", "0")
    same = None
    if with_reference:
        same = (work / f"ref-{n}.csv").read_bytes() == (work / f"fr-{n}.csv").read_bytes()
    return {
        "n": n, "ours": statistics.median(ours), "cli": statistics.median(cli),
        "py": statistics.median(py), "ref": statistics.median(ref) if ref else None,
        "heap": mem["heap_peak"], "rss": statistics.median(rss), "same": same,
        "size": (work / f"fr-{n}.csv").stat().st_size,
    }  # fmt: skip


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    print("  ".join(h.ljust(widths[i]) for i, h in enumerate(header)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(widths[i]) for i, c in enumerate(row)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure (median; default 3)")
    ap.add_argument(
        "--with-reference",
        action="store_true",
        help="also time the plain reference formatter and compare the files",
    )
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "fundradar":
            result = child_fundradar(Path(rest[0]), rest[1] == "1", rest[2] == "1")
        else:
            result = child_python_sqlite(Path(rest[0]), Path(rest[1]))
        print(json.dumps(result))
        return

    mib = 1024 * 1024
    cli_name = "sqlite3 CLI" if shutil.which("sqlite3") else "python sqlite3 (no CLI here)"
    print(
        f"export benchmark — python {sys.version.split()[0]}, sqlite3 CLI: "
        f"{shutil.which('sqlite3') or 'not installed: python sqlite3+csv stands in'}"
    )
    print(f"every call of the table, written as CSV; each timing in a fresh process, "
          f"median of {args.repeat}\n")  # fmt: skip
    results = []
    with tempfile.TemporaryDirectory(prefix="fundradar-bench-") as tmp:
        for n in args.sizes:
            results.append(measure(n, Path(tmp), args.repeat, args.with_reference))

    header = ("calls", "fundradar CSV", f"{cli_name} dump", "ratio", "target",
              "python sqlite3+csv", "CSV size")  # fmt: skip
    rows = []
    for r in results:
        ratio = r["ours"] / r["cli"]
        rows.append((
            f"{r['n']:,}", f"{r['ours']:.2f} s ({r['n'] / r['ours']:,.0f}/s)",
            f"{r['cli']:.2f} s", f"{ratio:.2f}x",
            f"<= {TARGET_RATIO:.1f}x {'met' if ratio <= TARGET_RATIO else 'MISSED'}",
            f"{r['py']:.2f} s", f"{r['size'] / mib:.1f} MiB",
        ))  # fmt: skip
    table(header, rows)

    print()
    first = results[0]
    header = ("calls", "heap peak (tracemalloc)", "vs smallest", "RSS growth (median)",
              "target")  # fmt: skip
    rows = []
    for r in results:
        grow = r["heap"] / first["heap"] if first["heap"] else float("nan")
        rows.append((
            f"{r['n']:,}", f"{r['heap'] / mib:.2f} MiB", f"{grow:.2f}x",
            f"{r['rss'] / 1024:.1f} MiB",
            f"<= {TARGET_MEMORY:.2f}x {'met' if grow <= TARGET_MEMORY else 'MISSED'}",
        ))  # fmt: skip
    table(header, rows)

    if args.with_reference:
        print()
        header = ("calls", "reference formatter", "fast formatter", "speed-up", "same bytes")
        rows = [(f"{r['n']:,}", f"{r['ref']:.2f} s", f"{r['ours']:.2f} s",
                 f"{r['ref'] / r['ours']:.1f}x", "yes" if r["same"] else "NO")
                for r in results]  # fmt: skip
        table(header, rows)

    print("\nheap peak: tracemalloc peak during the export (a separate run, tracing slows it);")
    print("RSS growth: the child's peak RSS minus its RSS before exporting;")
    print("the sqlite3 dumps write all 38 raw columns, unsorted; fundradar writes 15 formatted "
          "ones in the feed's order (local-time deadline, days left, budget text, neutralised "
          "cells).")  # fmt: skip


if __name__ == "__main__":
    main()
