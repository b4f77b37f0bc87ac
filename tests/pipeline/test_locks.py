"""Database leases (pipeline/locks.py): atomic, never stolen from a live holder, freed when the
holder dies, on the suite's database (SQLite, or PostgreSQL with FUNDRADAR_TEST_DATABASE_URL)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from fundradar.pipeline import db, locks

REPO = Path(__file__).resolve().parents[2]


def test_a_free_lease_is_taken_and_a_held_one_names_its_holder() -> None:
    taken, lease = locks.acquire("crawl:eu_ft", holder="a:1:x", ttl=30)
    assert taken and lease.holder == "a:1:x"
    taken, lease = locks.acquire("crawl:eu_ft", holder="b:2:y", ttl=30)
    assert not taken and lease.holder == "a:1:x"
    assert "a:1:x since" in lease.describe()
    # another name is another lease
    assert locks.acquire("crawl:afd", holder="b:2:y", ttl=30)[0]
    held = locks.current("crawl:eu_ft")
    assert held is not None and held.holder == "a:1:x"


def test_taking_ones_own_lease_again_renews_it_and_keeps_its_start() -> None:
    _, first = locks.acquire("digest", holder="a:1:x", ttl=5)
    taken, again = locks.acquire("digest", holder="a:1:x", ttl=30)
    assert taken and again.acquired_at == first.acquired_at
    assert again.expires_at > first.expires_at


def test_an_expired_lease_is_taken_over_and_its_old_holder_cannot_renew_it() -> None:
    assert locks.acquire("crawl:eu_ft", holder="dead:1:x", ttl=0.05)[0]
    time.sleep(0.1)  # the holder died: no heartbeat
    assert locks.current("crawl:eu_ft") is None
    taken, lease = locks.acquire("crawl:eu_ft", holder="b:2:y", ttl=30)
    assert taken and lease.holder == "b:2:y"
    with db.session_scope() as s:  # the old holder comes back: it has lost it
        assert not locks.renew_in(s, "crawl:eu_ft", holder="dead:1:x", ttl=30)
    assert not locks.release("crawl:eu_ft", holder="dead:1:x")  # and cannot free it either
    assert locks.current("crawl:eu_ft").holder == "b:2:y"  # type: ignore[union-attr]


def test_a_live_holder_keeps_its_lease_well_past_its_time_to_live() -> None:
    with locks.Held(ttl=0.15) as held:
        assert held.claim("digest")[0]
        deadline = time.monotonic() + 0.6  # four times the ttl: only the heartbeat keeps it
        while time.monotonic() < deadline:
            taken, lease = locks.acquire("digest", holder="thief:9:z", ttl=30)
            assert not taken and lease.holder == held.holder
            time.sleep(0.02)
        assert held.check("digest") and not held.lost
    # released at the end of the block: free at once, not after the ttl
    assert locks.current("digest") is None
    assert locks.acquire("digest", holder="next:3:w", ttl=30)[0]


def test_a_holder_whose_lease_expired_and_was_taken_finds_out() -> None:
    held = locks.Held(ttl=0.05)
    assert held.claim("crawl:eu_ft")[0]
    held._stop.set()  # a stalled process: its heartbeat does not run
    held._thread.join()  # type: ignore[union-attr]
    time.sleep(0.1)
    assert locks.acquire("crawl:eu_ft", holder="b:2:y", ttl=30)[0]
    held.beat()  # the stalled holder wakes up
    assert not held.check("crawl:eu_ft")
    assert "another holder" in held.lost["crawl:eu_ft"]
    with db.session_scope() as s:
        assert not held.renew_in(s, "crawl:eu_ft")
    held.close()  # releasing what it lost does not free the new holder's lease
    assert locks.current("crawl:eu_ft").holder == "b:2:y"  # type: ignore[union-attr]


def _killed_holder() -> str:
    """A process that takes the digest lease and dies by SIGKILL: its holder id."""
    db.init()
    code = (
        "import os\nfrom fundradar.pipeline import locks\n"
        "h = locks.Held(ttl=30)\nprint(h.claim('digest')[1].holder, flush=True)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=_env(), timeout=60)  # fmt: skip
    assert out.returncode == -9, out.stderr
    return out.stdout.strip()


def test_a_holder_killed_on_this_machine_frees_its_lease_at_once() -> None:
    from fundradar.pipeline.models import Lease

    dead = _killed_holder()
    with db.session_scope() as s:  # its row is there, unexpired ...
        assert s.get_one(Lease, "digest").holder == dead
    assert locks.current("digest") is None  # ... but nobody holds it: its process is gone
    taken, lease = locks.acquire("digest", holder="b:2:y", ttl=30)
    assert taken and lease.holder == "b:2:y"  # its process is gone: no 30 s wait


def test_a_holder_killed_on_another_machine_frees_its_lease_after_its_ttl() -> None:
    from sqlalchemy import update

    from fundradar.pipeline.models import Lease

    dead = _killed_holder()
    with db.session_scope() as s:  # as if it had run on another server: its PID means nothing here
        now = locks.db_now(s)
        s.execute(update(Lease).values(node="another-server", expires_at=now + dt.timedelta(
            seconds=0.3)))  # fmt: skip
    taken, lease = locks.acquire("digest", holder="b:2:y", ttl=30)
    assert not taken and lease.holder == dead
    time.sleep(0.35)
    taken, lease = locks.acquire("digest", holder="b:2:y", ttl=30)
    assert taken and lease.holder == "b:2:y"


def test_of_many_processes_claiming_at_once_exactly_one_wins(tmp_path: Path) -> None:
    db.init()
    start = time.time() + 1.5  # all of them started and importing before the moment comes
    code = (
        "import json, sys, time\nfrom fundradar.pipeline import locks, db\ndb.init()\n"
        f"time.sleep(max(0.0, {start} - time.time()))\n"
        "h = locks.new_holder()\n"
        "print(json.dumps([h, locks.acquire('crawl:eu_ft', holder=h, ttl=30)[1].holder]))\n"
    )
    cmd = [sys.executable, "-c", code]
    pipe = subprocess.PIPE
    procs = [
        subprocess.Popen(cmd, stdout=pipe, stderr=pipe, text=True, env=_env()) for _ in range(4)
    ]
    answers = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        answers.append(json.loads(out))
    winners = {me for me, holder in answers if me == holder}
    assert len(winners) == 1
    assert {holder for _, holder in answers} == winners  # every loser was told who won
    from fundradar.pipeline.models import Lease

    with db.session_scope() as s:  # the row names the winner (whose process has ended since)
        assert s.get_one(Lease, "crawl:eu_ft").holder in winners


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env
