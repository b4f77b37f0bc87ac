"""Search speed: the review page's word search through the database's index, beside the Python
matching it replaced, measured in the same run on the same calls.

    python bench/search.py                      # 20,000 calls on SQLite, medians of 5
    python bench/search.py --calls 50000 --repeat 3
    python bench/search.py --database-url postgresql+psycopg://user:pw@127.0.0.1:5432/db

It builds a database of N synthetic calls (reconstructed — not captures: English, French and
Spanish titles and summaries of realistic length, funders, themes, eligibility), written with
Core executemany and their search documents made by `search_index.document` (that cost is
printed too: the store pays it once per call written). Then for each query:

- `index`: what the review page does for its words: `web.search.narrow` (query terms, theme
  expansion, the FTS5 MATCH or tsquery) and the ids of every call it selects;
- `page`: the review page's database work for the same search: `narrow`, the count, and the
  first 50 calls in the page's order;
- `python (reference)`: the matching it replaced: every call the other filters leave read
  back and its words folded, stemmed and compared in Python (`web.search.document`,
  `matches_text`), as `fundradar.web.search` did before the index;

both over the page's default selection (open, forthcoming or undated calls), each the median
of `--repeat` runs (the reference: of `--reference-repeat`, 1 by default: seconds a query),
and the two must find the same calls (a mismatch is printed as such).
Target: at most 50 ms per query at 20,000 calls. Prints each figure beside its target and the
reference; nothing is asserted (benchmarks report, tests assert).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TARGET_MS = 50.0
THEMES = ["climate", "ocean", "biodiversity", "waste", "energy", "agriculture", "water", "health",
          "education", "inclusion", "digital", "regional-cooperation", "economy"]  # fmt: skip
FUNDERS = [("European Commission", "Horizon Europe"),
           ("Agence française de développement", "FISONG"),
           ("Région Guadeloupe", "Interreg Caraïbes"), ("UNDP", None),
           ("Préfecture de Martinique", "Fonds de coopération régionale"),
           ("Banco Interamericano de Desarrollo", "BID Lab")]  # fmt: skip
TOPICS = {
    "en": ["coastal resilience", "sargassum monitoring", "renewable energy for islands",
           "youth employment", "public health systems", "blue economy", "coral reef restoration",
           "waste management", "climate adaptation", "digital skills for schools"],
    "fr": ["résilience du littoral", "surveillance des sargasses", "énergies renouvelables",
           "emploi des jeunes", "santé publique", "économie bleue", "restauration des récifs",
           "gestion des déchets", "adaptation au changement climatique", "pêche durable"],
    "es": ["resiliencia costera", "pesquerías sostenibles", "energías renovables",
           "empleo juvenil", "salud pública", "economía azul", "restauración de arrecifes",
           "gestión de residuos", "adaptación climática", "sociedad civil"],
}  # fmt: skip
FILLER = {
    "en": ("support for projects led by local organisations in small island developing states "
           "of the eastern caribbean with partners from the region and beyond"),
    "fr": ("appui aux projets portés par des associations et des collectivités des petits états "
           "insulaires de la caraïbe orientale avec des partenaires de la région"),
    "es": ("apoyo a proyectos de organizaciones no gubernamentales y autoridades locales de los "
           "pequeños estados insulares del caribe oriental con socios de la región"),
}  # fmt: skip
QUERIES = ["ocean", "océans", "coastal resilience", "pesquería", "sargasses", "energie",
           "youth employment caribbean", "Martinique coopération", "horizon", "ngo",
           "coral reefs restoration", "zanzibar"]  # fmt: skip


def _rare_words(rng: random.Random, n: int) -> list[str]:
    """Made-up words, so the index has a long tail of rare terms as real text does."""
    letters = "abcdefghijklmnoprstuvz"
    return ["".join(rng.choice(letters) for _ in range(rng.randrange(5, 10))) for _ in range(n)]


def seed(n: int) -> float:
    """Store n calls; returns the seconds spent making their search documents."""
    from sqlalchemy import insert

    from fundradar.pipeline import db
    from fundradar.pipeline.models import CallRow
    from fundradar.pipeline.store import search_index

    db.init()
    engine = db.get_engine()
    rng = random.Random(13)
    rare = _rare_words(rng, 5000)
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    doc_seconds = 0.0
    rows: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for i in range(n):
            lang = rng.choice(["en", "en", "fr", "es"])
            topic = rng.choice(TOPICS[lang])
            funder, programme = rng.choice(FUNDERS)
            filler = FILLER[lang].split()
            summary = " ".join(rng.choice(filler) for _ in range(rng.randrange(40, 120)))
            summary += " " + " ".join(rng.choice(rare) for _ in range(8))
            values: dict[str, Any] = {
                "key": f"bench:{i}", "source": "bench", "source_ref": f"REF-{i:06d}",
                "url": f"https://funder.example.org/calls/{i}",
                "canonical_url": f"https://funder.example.org/calls/{i}",
                "title": f"{topic.capitalize()} {rng.choice(rare)} {2026 + i % 3}",
                "summary": summary, "funder": funder, "programme": programme, "language": lang,
                "eligibility_text": " ".join(rng.choice(filler) for _ in range(20)),
                "eligible_applicants": rng.sample(["NGOs", "local authorities", "SMEs",
                                                   "universities"], 2),
                "deadline": now + timedelta(days=rng.randrange(-60, 300)),
                "status": rng.choice(["open", "open", "forthcoming", "closed", None]),
                "themes": rng.sample(THEMES, rng.randrange(0, 4)),
                "score": rng.randrange(0, 100), "band": rng.choice(["high", "medium", "low"]),
                "reasons": [], "content_hash": "h", "first_seen": now, "last_seen": now,
                "deadlines": [], "eligible_countries": [], "notes": [], "extra": {},
            }  # fmt: skip
            t0 = time.perf_counter()
            values["search_doc"] = search_index.document(values)
            doc_seconds += time.perf_counter() - t0
            rows.append(values)
            if len(rows) >= 2000:
                conn.execute(insert(CallRow), rows)
                rows = []
        if rows:
            conn.execute(insert(CallRow), rows)
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE calls")
    return doc_seconds


def measure(repeat: int, reference_repeat: int) -> list[tuple[str, float, float, float, int, bool]]:
    from sqlalchemy import select

    from fundradar.pipeline import db
    from fundradar.pipeline.exports.query import CallFilter, conditions, count_calls, statement
    from fundradar.pipeline.models import CallRow
    from fundradar.pipeline.score import load_profile
    from fundradar.web import search

    profile = load_profile()
    labels = {k: v.label for k, v in profile.themes.items()}
    applicants = {k: a.terms.all() for k, a in profile.applicants.items()}
    out = []
    with db.session_scope() as s:
        for q in QUERIES:
            wanted = search.Search(text=q)
            by_index, by_page, by_python = [], [], []
            found_index: set[int] = set()
            found_python: set[int] = set()
            for i in range(repeat):  # interleaved: load on the machine hits both alike
                t0 = time.perf_counter()
                flt = search.narrow(s, CallFilter(), wanted, theme_labels=labels,
                                    applicant_terms=applicants)  # fmt: skip
                found_index = set(s.scalars(select(CallRow.id).where(*conditions(flt))))
                by_index.append(time.perf_counter() - t0)
                t0 = time.perf_counter()  # the page: how many, and the first 50 in its order
                flt = search.narrow(s, CallFilter(), wanted, theme_labels=labels,
                                    applicant_terms=applicants)  # fmt: skip
                count_calls(s, flt)
                s.scalars(statement(flt, ["id"]).limit(50)).all()
                by_page.append(time.perf_counter() - t0)
                if i >= reference_repeat:
                    continue
                t0 = time.perf_counter()
                found_python = search._python_ids(
                    s,
                    CallFilter(),
                    wanted,
                    theme_labels=labels,
                    applicant_terms=applicants,
                    match_words=True,
                )
                by_python.append(time.perf_counter() - t0)
            out.append((q, statistics.median(by_index) * 1000, statistics.median(by_page) * 1000,
                        statistics.median(by_python) * 1000, len(found_index),
                        found_index == found_python))  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--reference-repeat",
        type=int,
        default=1,
        help="runs of the Python reference per query (seconds each at 20k)",
    )
    parser.add_argument("--database-url", help="a PostgreSQL URL (default: a SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["FUNDRADAR_HOME"] = tmp
        if args.database_url:
            os.environ["FUNDRADAR_DATABASE_URL"] = args.database_url
        from fundradar.pipeline import db
        from fundradar.pipeline.models import CallRow

        t0 = time.perf_counter()
        doc_seconds = seed(args.calls)
        dialect = db.get_engine().dialect.name
        print(f"{args.calls:,} calls on {dialect}, stored in {time.perf_counter() - t0:.1f} s; "
              f"search documents: {doc_seconds / args.calls * 1000:.3f} ms per call")  # fmt: skip
        try:
            rows = measure(args.repeat, args.reference_repeat)
        finally:
            if args.database_url:  # leave the server as it was found
                with db.get_engine().begin() as conn:
                    conn.execute(CallRow.__table__.delete())
        print(f"\n{'query':<28} {'index ms':>9} {'target':>7} {'python ms (reference)':>22} "
              f"{'×':>6} {'page ms':>8} {'found':>6}  same")  # fmt: skip
        for q, idx, page, ref, n, same in rows:
            agree = "yes" if same else "NO: results differ"
            print(f"{q:<28} {idx:>9.1f} {'≤ ' + str(int(TARGET_MS)):>7} {ref:>22.1f} "
                  f"{ref / idx:>6.0f} {page:>8.1f} {n:>6}  {agree}")  # fmt: skip
        worst = max(r[1] for r in rows)
        median = statistics.median(r[1] for r in rows)
        ref_median = statistics.median(r[3] for r in rows)
        verdict = "met" if worst <= TARGET_MS else "MISSED"
        print(f"\nindex: median {median:.1f} ms, worst {worst:.1f} ms per query (target ≤ "
              f"{TARGET_MS:.0f} ms at 20,000 calls: {verdict}); "
              f"python reference: median {ref_median:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
