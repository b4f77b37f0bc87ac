"""Partner directory speed: duplicate candidates over N organisations, and seeding from calls.

    python bench/partners.py                  # 500 and 2,000 organisations, 5,000 calls
    python bench/partners.py --sizes 1000 --calls 20000

Each size builds a SQLite database in a temporary folder with N synthetic organisations
(reconstructed — not captures: names drawn from the words of real funders' names, a tenth of
them near-duplicates of another: a letter dropped, accents removed, capitals changed) and
times, in this process:

- `duplicate_candidates`: `pipeline.partnerships.organisations.duplicate_candidates`;
- `reference`: the plain loop it replaced, rapidfuzz's `token_sort_ratio` called from Python
  on every pair (only the fuzzy part: the floor any pairwise Python loop pays).

Then `seed_from_calls` over `--calls` stored calls drawn from 40 funders, twice (the second
run finds everything done: idempotent). Prints each figure beside its target; nothing is
asserted (benchmarks report, tests assert).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

WORDS = """agence fonds institut caribbean ocean climate université research national
    development banque region conseil ministère santé énergie eau marine jeunesse femmes numérique
    coopération française européenne francophonie recherche territoriale antilles
    guyane""".split()  # noqa: SIM905 (a word list reads better as text)
TARGET_DUPLICATES_S = {500: 1.0, 2000: 10.0}  # an officer waits for the page: seconds
TARGET_SEED_PER_CALL_MS = 1.0


def names(n: int, rng: random.Random) -> list[str]:
    out = []
    for i in range(n):
        if out and i % 10 == 0:
            base = rng.choice(out)
            k = rng.randrange(len(base))
            out.append(base[:k] + base[k + 1 :] if len(base) > 12 else base.upper())
        else:
            out.append(" ".join(w.capitalize() for w in rng.sample(WORDS, 4)) + f" {i}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--calls", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.environ["FUNDRADAR_HOME"] = home
        os.environ.pop("FUNDRADAR_DATABASE_URL", None)
        run(args.sizes, args.calls, Path(home))


def run(sizes: list[int], n_calls: int, home: Path) -> None:
    from rapidfuzz import fuzz

    from fundradar.pipeline import db
    from fundradar.pipeline.models import Organisation
    from fundradar.pipeline.partnerships import organisations as orgs

    rng = random.Random(15)
    print(f"{'organisations':>13}  {'duplicate_candidates':>20}  {'reference':>9}  target")
    for n in sizes:
        url = f"sqlite:///{home / f'orgs-{n}.db'}"
        with db.session_scope(url) as s:
            for name in names(n, rng):
                s.add(Organisation(name=name, name_key=orgs.fold_name(name),
                                   acronym=orgs.acronym_of(name), aliases=[], languages=[],
                                   kind="other", origin="manual"))  # fmt: skip
        with db.session_scope(url) as s:
            t = time.perf_counter()
            pairs = orgs.duplicate_candidates(s)
            ours = time.perf_counter() - t
            keys = [o.name_key for o in orgs.directory(s)]
        t = time.perf_counter()
        ref = sum(
            fuzz.token_sort_ratio(a, b) >= orgs.FUZZY_DUPLICATE
            for i, a in enumerate(keys)
            for b in keys[i + 1 :]
        )
        reference = time.perf_counter() - t
        target = TARGET_DUPLICATES_S.get(n)
        print(f"{n:>13}  {ours:>18.2f} s  {reference:>7.2f} s  "
              f"{f'< {target:.0f} s' if target else '-'}   ({len(pairs)} pairs, "
              f"{ref} by the reference's fuzzy test alone)")  # fmt: skip

    from tests.pipeline.exports.exports_factory import add_call

    url = f"sqlite:///{home / 'calls.db'}"
    funders = [" ".join(rng.sample(WORDS, 3)).title() for _ in range(40)]
    with db.session_scope(url) as s:
        for i in range(n_calls):
            add_call(s, i + 1, funder=rng.choice(funders), programme=None)
    for label in ("first", "again"):
        with db.session_scope(url) as s:
            t = time.perf_counter()
            links = orgs.seed_from_calls(s)
            took = time.perf_counter() - t
        per = took / n_calls * 1000
        print(f"seed_from_calls ({label}) over {n_calls} calls: {took:.2f} s, {per:.2f} ms a call "
              f"(target < {TARGET_SEED_PER_CALL_MS} ms), {links} links made")  # fmt: skip


if __name__ == "__main__":
    main()
