"""Leases in the database: work that must run on one machine at a time, across servers.

Two servers pointing at one database must never send a week's digest twice nor crawl one
source at once, so the claims live in the database both use (table `leases`), not in a file
of one machine:

- **Taken atomically.** `acquire` is one `INSERT ... ON CONFLICT (name) DO UPDATE ... WHERE
  the row has expired OR is already mine` (SQLite and PostgreSQL both have it): of two
  claimants only one row version wins; the loser reads who holds it.
- **Never stolen from a live holder.** A row is only taken over once `expires_at` has passed;
  its holder's heartbeat (`Held`, a thread renewing every third of the time to live) keeps
  moving it on while the process lives, and a renewal only succeeds while the row still
  names the renewer, so an expired holder finds out (`Held.lost`) instead of carrying on.
- **Freed when the holder dies.** A holder killed (SIGKILL, power cut, lost network) stops
  renewing: the lease is free `ttl` seconds later at the latest, so nothing waits forever.
  On the holder's own machine it is free at once: each row names its holder's *node* (host,
  boot and PID namespace, `node_id`), and a claimant on the same node whose `kill(pid, 0)`
  finds no such process takes it over (a PID reused since only makes it wait for the expiry).
- **One clock.** Expiry is judged by the database's clock (PostgreSQL's `clock_timestamp()`),
  never by each server's own, so two servers whose clocks disagree cannot both think they
  hold it. A SQLite file lives on one machine, whose clock is the database's.
- **Fencing.** `renew_in(session, ...)` renews inside the caller's own transaction: the
  digest marks a delivery *sending* in the same commit that proves it still holds its lease.

Why rows rather than PostgreSQL advisory locks: one code path for SQLite (the default) and
PostgreSQL, tested on both; the holder is readable ("being crawled by host:pid:…", and when
it expires), which an advisory lock does not tell; and a lease survives a pooled connection
being recycled, where a session-level advisory lock is silently dropped with its connection.
The migration lock (`pipeline.db.init`) stays an advisory lock: it lives in one transaction.

Holder ids are `<host>:<pid>:<random>`, one per `Held` (`new_holder`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from types import TracebackType

from sqlalchemy import case, delete, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from fundradar import settings
from fundradar.pipeline import db
from fundradar.pipeline.models import Lease

log = logging.getLogger("fundradar.locks")

# seconds a lease lives without a heartbeat: how long a dead holder can keep others waiting.
# Renewed every third of it, so two missed beats in a row (a slow database) are survived.
DEFAULT_TTL = 60.0

_table = Lease.__table__


def crawl_lease(source: str) -> str:
    """The lease a crawl of `source` is dispatched under (`fundradar.crawling.crawl`)."""
    return f"crawl:{source}"


def run_lease(run_id: int) -> str:
    """The lease the process writing crawl run `run_id` holds while it runs (`RunLog`)."""
    return f"run:{run_id}"


@lru_cache(maxsize=1)
def _node() -> tuple[str, bool]:
    parts, known = [socket.gethostname()], True
    for path in ("/proc/sys/kernel/random/boot_id", "/proc/self/ns/pid"):
        try:
            parts.append(os.readlink(path) if path.endswith("/pid") else Path(path).read_text())
        except OSError:  # not Linux: only the expiry frees a dead holder's lease
            parts.append("?")
            known = False
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16], known


def node_id() -> str:
    """This machine, boot and PID namespace, hashed: where a holder's PID means something (two
    containers may share a host name and a boot, never a PID namespace)."""
    return _node()[0]


def _gone_here(holder: str, node: str) -> bool:
    """Is `holder` a process of this node that no longer exists?"""
    mine, known = _node()
    if node != mine or not known:
        return False
    try:
        pid = int(holder.split(":")[-2])
    except (IndexError, ValueError):
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists (owned by another user): alive
        return False
    return False


def new_holder() -> str:
    """A holder id, `<host>:<pid>:<random>`: who to ask, and unique to one claimant (two
    threads of one process holding their own `Held` are two holders)."""
    return f"{socket.gethostname()[:150]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class LeaseInfo:
    name: str
    holder: str
    acquired_at: datetime
    expires_at: datetime

    def describe(self) -> str:
        """'host:pid:abcd1234 since 05:00:02 UTC': who, and since when, for a report."""
        return f"{self.holder} since {self.acquired_at:%Y-%m-%d %H:%M:%S} UTC"


def db_now(session: Session) -> datetime:
    """Now by the database's clock (aware, UTC)."""
    if session.get_bind().dialect.name == "postgresql":
        value = session.execute(text("SELECT clock_timestamp()")).scalar_one()
        return value.astimezone(UTC)
    return datetime.now(UTC)


def _info(row: Lease) -> LeaseInfo:
    return LeaseInfo(row.name, row.holder, row.acquired_at, row.expires_at)


def acquire_in(session: Session, name: str, *, holder: str, ttl: float) -> tuple[bool, LeaseInfo]:
    """Take `name` for `holder` unless another holder's lease is still alive (in the caller's
    transaction). Returns (taken, the lease as it now stands). Taking one's own lease again
    renews it."""
    now = db_now(session)
    values = {
        "name": name, "holder": holder, "node": node_id(), "acquired_at": now,
        "renewed_at": now, "expires_at": now + timedelta(seconds=ttl),
    }  # fmt: skip
    takeable = [_table.c.expires_at <= now, _table.c.holder == holder]
    before = session.execute(
        select(_table.c.holder, _table.c.node).where(_table.c.name == name)
    ).first()
    if before is not None and before.holder != holder and _gone_here(before.holder, before.node):
        # its process is gone from this machine: taken over only if the row still names it
        takeable.append(_table.c.holder == before.holder)
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(_table).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[_table.c.name],
        set_={
            "holder": stmt.excluded.holder,
            "node": stmt.excluded.node,
            # my own lease again: it is the same claim, still held since it was first taken
            "acquired_at": case(
                (_table.c.holder == holder, _table.c.acquired_at), else_=stmt.excluded.acquired_at
            ),
            "renewed_at": stmt.excluded.renewed_at,
            "expires_at": stmt.excluded.expires_at,
        },
        where=or_(*takeable),
    )
    session.execute(stmt)
    row = session.scalars(
        select(Lease).where(Lease.name == name).execution_options(populate_existing=True)
    ).one()
    return row.holder == holder, _info(row)


def acquire(
    name: str, *, holder: str, ttl: float = DEFAULT_TTL, url: str | None = None
) -> tuple[bool, LeaseInfo]:
    """`acquire_in` in a transaction of its own."""
    with db.session_scope(url) as session:
        return acquire_in(session, name, holder=holder, ttl=ttl)


def renew_in(session: Session, name: str, *, holder: str, ttl: float) -> bool:
    """Move `holder`'s lease on by `ttl` from now, in the caller's transaction. False when the
    row no longer names `holder` (it expired and another took it, or it was released): the
    caller has lost it and must not do the work it guarded."""
    now = db_now(session)
    result = session.execute(
        update(_table)
        .where(_table.c.name == name, _table.c.holder == holder)
        .values(renewed_at=now, expires_at=now + timedelta(seconds=ttl))
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def release(name: str, *, holder: str, url: str | None = None) -> bool:
    """Give `name` up (only if `holder` still holds it). True when a row was removed."""
    with db.session_scope(url) as session:
        result = session.execute(
            delete(_table).where(_table.c.name == name, _table.c.holder == holder)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]


def live_in(session: Session, names: Iterable[str]) -> dict[str, LeaseInfo]:
    """The leases among `names` that are held now: not expired, and not held by a process of
    this node that is gone."""
    wanted = list(names)
    if not wanted:
        return {}
    now = db_now(session)
    rows = session.scalars(
        select(Lease).where(Lease.name.in_(wanted), Lease.expires_at > now)
    ).all()
    return {row.name: _info(row) for row in rows if not _gone_here(row.holder, row.node)}


def held_with_prefix(prefix: str, *, url: str | None = None) -> list[LeaseInfo]:
    """The leases held now whose name starts with `prefix` ("crawl:": every crawl running)."""
    with db.session_scope(url) as session:
        names = session.scalars(select(Lease.name).where(Lease.name.startswith(prefix))).all()
        return sorted(live_in(session, names).values(), key=lambda lease: lease.name)


def current(name: str, *, url: str | None = None) -> LeaseInfo | None:
    """Who holds `name` now (None: nobody, or a lease that has expired)."""
    with db.session_scope(url) as session:
        return live_in(session, [name]).get(name)


class Held:
    """The leases one process holds, kept alive by a heartbeat thread until released.

        with Held() as held:
            taken, lease = held.claim("crawl:eu_ft")
            ...
            held.release("crawl:eu_ft")   # or at the end of the block

    A lease the heartbeat could not renew (another holder has it, or the database stayed
    unreachable until it expired) is in `lost` with the cause; `check(name)` says whether it is
    still held. The thread is a daemon: a process that dies stops renewing at once.
    """

    def __init__(self, *, ttl: float = DEFAULT_TTL, holder: str | None = None,
                 url: str | None = None) -> None:  # fmt: skip
        self.ttl = ttl
        self.holder = holder or new_holder()
        self.url = url or settings.load().database_url  # the heartbeat renews on this one
        self.lost: dict[str, str] = {}
        self._names: dict[str, datetime] = {}  # name -> expires_at as last renewed
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Held:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def names(self) -> list[str]:
        with self._lock:
            return list(self._names)

    def claim(self, name: str) -> tuple[bool, LeaseInfo]:
        """Take `name` (kept alive from now on), or (False, who holds it)."""
        taken, info = acquire(name, holder=self.holder, ttl=self.ttl, url=self.url)
        if taken:
            with self._lock:
                self._names[name] = info.expires_at
                self.lost.pop(name, None)
            self._start()
        return taken, info

    def renew_in(self, session: Session, name: str) -> bool:
        """Renew `name` inside the caller's transaction (fencing: the caller's writes commit
        only together with the proof that it still holds the lease)."""
        if name in self.lost:
            return False
        return renew_in(session, name, holder=self.holder, ttl=self.ttl)

    def check(self, name: str) -> bool:
        with self._lock:
            return name in self._names and name not in self.lost

    def release(self, name: str) -> None:
        with self._lock:
            held = self._names.pop(name, None) is not None
        if held:
            try:
                release(name, holder=self.holder, url=self.url)
            except Exception as exc:  # it expires by itself within ttl
                log.warning("cannot release lease %s (%s); it expires within %gs",
                            name, db.describe(exc), self.ttl)  # fmt: skip

    def close(self) -> None:
        self._stop.set()
        for name in self.names:
            self.release(name)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    # --- the heartbeat ---------------------------------------------------------------------
    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._beat, name="fundradar-lease-heartbeat", daemon=True
            )
            self._thread.start()

    def beat(self) -> None:
        """Renew every lease held once (the heartbeat thread calls it every ttl/3)."""
        for name in self.names:
            try:
                with db.session_scope(self.url) as session:
                    ok = renew_in(session, name, holder=self.holder, ttl=self.ttl)
                    until = db_now(session) + timedelta(seconds=self.ttl)
            except Exception as exc:  # the database is unreachable: try again at the next beat
                with self._lock:
                    expires = self._names.get(name)
                if expires is not None and datetime.now(UTC) >= expires:
                    self._lose(name, f"could not renew it before it expired ({db.describe(exc)})")
                else:
                    log.warning("cannot renew lease %s yet: %s", name, db.describe(exc))
                continue
            if not ok:
                self._lose(name, "another holder has taken it over (it had expired)")
                continue
            with self._lock:
                if name in self._names:
                    self._names[name] = until

    def _lose(self, name: str, cause: str) -> None:
        with self._lock:
            self._names.pop(name, None)
            self.lost[name] = cause
        log.error("lease %s lost by %s: %s", name, self.holder, cause)

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            self.beat()
