"""Partnerships dashboard speed: its figures and its page over a large database.

    python bench/dashboard.py                       # 20,000 calls, 500 applications
    python bench/dashboard.py --calls 50000 --applications 2000

Builds a SQLite database in a temporary folder with synthetic calls (reconstructed — not
captures: made-up titles, 40 funders, first seen over the last 13 weeks, a fifth with a
verdict), applications at every stage with amounts in two currencies, and 1,000 partner
organisations, then times, in this process:

- `figures`: `pipeline.partnerships.dashboard.dashboard` (every query of the page);
- `page`: GET /dashboard with Flask's test client (queries, 7 charts drawn twice by pygal);
- `reference`: GET / (the review page, same database, same run): the page officers already
  wait for.

Prints each figure beside its target; nothing is asserted (benchmarks report, tests assert).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_FIGURES_S = 0.5
TARGET_PAGE_S = 1.5  # an officer opening the page


def seed(n_calls: int, n_apps: int, n_orgs: int, rng: random.Random) -> None:
    from fundradar.pipeline import db
    from fundradar.pipeline.models import (
        APPLICATION_STAGES,
        ORGANISATION_KINDS,
        Application,
        ApplicationPartner,
        CallRow,
        Organisation,
        Verdict,
        utcnow,
    )

    now = utcnow()
    funders = [f"Funder {i}" for i in range(40)]
    themes = ["ocean", "climate", "health", "energy", "education", "digital", "agriculture"]
    with db.session_scope() as s:
        calls = []
        for i in range(n_calls):
            key = f"bench:{i}"
            calls.append(
                CallRow(
                    key=key,
                    source="bench",
                    url=f"https://example.org/{i}",
                    canonical_url=f"https://example.org/{i}",
                    title=f"Synthetic call {i}",
                    funder=rng.choice(funders),
                    themes=rng.sample(themes, 2),
                    status="open",
                    deadline=now + timedelta(days=rng.randrange(1, 200)),
                    first_seen=now - timedelta(hours=rng.randrange(0, 13 * 7 * 24)),
                    content_hash=hashlib.sha256(key.encode()).hexdigest(),
                    band="medium",
                    score=50,
                )
            )
        s.add_all(calls)
        s.flush()
        s.add_all(
            Verdict(
                call_id=c.id,
                verdict=rng.choice(("relevant", "shortlist", "not-relevant")),
                reason="bench",
                author="bench",
            )
            for c in calls
            if rng.random() < 0.2
        )
        orgs = [
            Organisation(
                name=f"Partner {i}",
                name_key=f"partner {i}",
                kind=rng.choice(ORGANISATION_KINDS),
                country=rng.choice(
                    ("France", "Martinique", "Guadeloupe", "Saint Lucia", "Dominica", None)
                ),
            )
            for i in range(n_orgs)
        ]
        s.add_all(orgs)
        s.flush()
        for i in range(n_apps):
            call = calls[i * (n_calls // max(1, n_apps))]
            app = Application(
                call_id=call.id,
                call_key=call.key,
                title=call.title,
                funder=call.funder,
                funder_deadline=call.deadline,
                stage=rng.choice(APPLICATION_STAGES),
                internal_deadline=(call.deadline - timedelta(days=10)).date(),
                amount_requested=Decimal(rng.randrange(10, 5000) * 1000),
                currency=rng.choice(("EUR", "EUR", "USD")),
            )
            for org in rng.sample(orgs, 3):
                app.partners.append(ApplicationPartner(organisation_id=org.id, role="partner"))
            s.add(app)


def timed(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--applications", type=int, default=500)
    parser.add_argument("--partners", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.environ["FUNDRADAR_HOME"] = home
        os.environ.pop("FUNDRADAR_DATABASE_URL", None)
        from fundradar.pipeline import db
        from fundradar.pipeline.models import utcnow
        from fundradar.pipeline.partnerships.dashboard import dashboard
        from fundradar.web import create_app

        db.reset_caches()
        start = time.perf_counter()
        seed(args.calls, args.applications, args.partners, random.Random(15))
        print(
            f"seeded {args.calls:,} calls, {args.applications:,} applications, "
            f"{args.partners:,} partners in {time.perf_counter() - start:.1f} s"
        )
        client = create_app().test_client()

        def figures() -> None:
            with db.session_scope() as s:
                dashboard(s, utcnow())

        def page(path: str) -> None:
            assert client.get(path).status_code == 200

        page("/dashboard")  # warm: templates compiled, pygal's CSS built
        page("/")
        f = timed(figures)
        d = timed(lambda: page("/dashboard"))
        r = timed(lambda: page("/"))
        print(f"figures    {f:6.3f} s   target < {TARGET_FIGURES_S} s")
        print(f"page       {d:6.3f} s   target < {TARGET_PAGE_S} s")
        print(f"reference  {r:6.3f} s   (the review page, GET /, same database)")
        db.reset_caches()


if __name__ == "__main__":
    main()
