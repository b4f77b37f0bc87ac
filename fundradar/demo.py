"""`fundradar demo`: the whole pipeline on the bundled sample pages, with no internet.

A local HTTP server on 127.0.0.1 answers with the sample pages (package data of
`fundradar.crawlers`: crawlers/samples/ in a checkout) at their original paths; every
enabled spider crawls it through `FixtureRedirectMiddleware` (real HTTP, real Scrapy, each in
its own process), the calls go through the real pipeline into a real SQLite database, then the
CSV feed is written and the digest goes to the outbox folder as .eml files.

Sample calls never mix with real ones: the demo works in $FUNDRADAR_HOME only when that folder
is empty (or holds an earlier demo), otherwise in a new folder it names, and it marks its
database as sample data so a later live crawl into it is refused.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from fundradar import settings
from fundradar.exceptions import SampleDataError
from fundradar.pipeline import db
from fundradar.pipeline.models import Meta
from fundradar.wording import plural

DATASET_KEY = "dataset"


def dataset_of(url: str) -> str | None:
    """'sample' or 'live' as recorded in the database's meta table; None if never marked."""
    with db.session_scope(url) as session:
        row = session.get(Meta, DATASET_KEY)
        return row.value if row else None


def mark_dataset(url: str, value: str) -> None:
    from sqlalchemy.exc import IntegrityError

    for _attempt in range(2):
        try:
            with db.session_scope(url) as session:
                row = session.get(Meta, DATASET_KEY)
                if row is None:
                    session.add(Meta(key=DATASET_KEY, value=value))
                elif row.value != value:
                    raise SampleDataError(
                        f"this database holds {row.value} data; refusing to add {value} calls"
                    )
            return
        except IntegrityError:
            continue  # another crawl marked it first: read its mark and compare once more


def has_calls(url: str) -> bool:
    from fundradar.pipeline.models import CallRow

    with db.session_scope(url) as session:
        return session.scalars(select(CallRow.id).limit(1)).first() is not None


def choose_home(echo: Callable[[str], None]) -> Path:
    """FUNDRADAR_HOME if set and empty (or an earlier demo); else a fresh folder."""
    raw = os.environ.get("FUNDRADAR_HOME")
    if raw:
        home = Path(raw).expanduser()
        if not home.exists() or not any(home.iterdir()):
            return home
        db_file = home / "fundradar.db"
        if db_file.exists() and dataset_of(f"sqlite:///{db_file}") == "sample":
            return home  # an earlier demo: run again on top of it
        echo(f"FUNDRADAR_HOME ({home}) is not empty and holds no earlier demo: using a new folder")
    return Path(tempfile.mkdtemp(prefix="fundradar-demo-"))


def run_demo(*, port: int = 0, echo: Callable[[str], None] = print) -> int:
    from fundradar.crawling import crawl
    from fundradar.fixture_server import FixtureServer, sample_folders

    # before the demo takes over FUNDRADAR_HOME: captures recorded into the user's home count
    folders = sample_folders()
    home = choose_home(echo)
    # the demo owns its environment: its folder, its SQLite file, and no SMTP (sample calls
    # must never be mailed to real people)
    os.environ["FUNDRADAR_HOME"] = str(home)
    os.environ.pop("FUNDRADAR_DATABASE_URL", None)
    os.environ.pop("FUNDRADAR_SMTP_HOST", None)
    db.reset_caches()
    env = settings.load()
    env.ensure_dirs()
    db.init(env.database_url)
    if has_calls(env.database_url) and dataset_of(env.database_url) != "sample":
        raise SampleDataError(f"{env.database_url} holds real calls; the demo will not touch it")
    mark_dataset(env.database_url, "sample")

    echo("fundradar demo — runs on BUNDLED SAMPLE PAGES, not the live sites.")
    echo(f"data folder: {home}")
    echo(f"sample pages: {_where(folders)}")
    with FixtureServer(folders, port=port) as server:
        echo(f"sample-page server: {server.url} (127.0.0.1 only)")
        summaries = crawl(
            [], fixture_server=server.url, sample=True,
            on_done=lambda s: echo(f"  {s.source:<20} {s.status:<9} {plural(s.calls, 'call')}"),
            backend="local",  # its own SQLite file, which no Scrapyd job writes to
        )  # fmt: skip
    total = sum(s.calls for s in summaries)
    failed = [f"{s.source} ({s.status})" for s in summaries if s.status != "ok"]
    echo(f"stored {plural(total, 'sample call')} from {plural(len(summaries), 'source')}")

    from fundradar.alerts.send import send_digest
    from fundradar.pipeline.exports.csv_feed import feed_path, write_csv_file
    from fundradar.pipeline.exports.query import CallFilter

    with db.session_scope() as session:
        every = write_csv_file(env.exports / "calls-all.csv", session, CallFilter(statuses=()))
    echo(f"CSV feed (open and forthcoming calls): {feed_path()}")
    every_path = env.exports / "calls-all.csv"
    echo(f"CSV of every call, closed ones too ({plural(every, 'row')}): {every_path}")

    report = send_digest(force=True)
    emls = sorted(env.outbox.glob("*.eml"))
    echo(f"digest: {len(emls)} message(s) in the outbox {env.outbox}")
    for eml in emls[-3:]:
        echo(f"  {eml}")
    echo("")
    echo("These are SAMPLE calls from bundled pages. Try, with the same FUNDRADAR_HOME:")
    echo(f"  export FUNDRADAR_HOME={home}")
    echo("  fundradar export csv --all | head;  fundradar digest preview -o digest.html")
    if failed:
        echo(f"problem: not every source was read right: {', '.join(failed)}")
        return 1
    return 0 if report_ok(report) else 1


def _where(folders: list[Path]) -> str:
    """Where the pages come from, in one line: one folder, or the bundled one and the others."""
    parents = sorted({str(f.parent) for f in folders})
    return "; ".join(parents) if parents else "none found"


def report_ok(report: object) -> bool:
    return bool(getattr(report, "ok", True))
