"""Crawls as jobs of a Scrapyd server (config `defaults: crawl_backend: scrapyd`).

`fundradar crawl`, `run` and the scheduler then schedule one job per source through Scrapyd's
JSON API (`schedule.json`, with the run's own settings: its token, the fixture server, sample),
poll `listjobs.json` until each has finished, and report the run each job wrote, found by its
token (`fundradar.crawling.run_of`), exactly as for a local child process. The jobs write to the
database their server's environment names: it must be this one (FUNDRADAR_DATABASE_URL).

Scrapyd unreachable, a job refused, lost or timed out: that source's result says why (counted as
a failed crawl), the other sources go on; nothing raises.

The project is deployed as an egg built here (`build_egg`, `deploy`), not by `scrapyd-deploy`:
that tool runs `python setup.py bdist_egg`, which needs a setup.py, a source checkout and
setuptools' legacy egg command, while this zips the package that is running (a checkout or an
installed wheel alike). `deploy` then checks Scrapyd lists a spider for every enabled source, so
an egg that cannot read its config fails the deploy loudly (and is removed from Scrapyd again)
instead of failing every crawl. The egg carries the config this side runs with.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests

from fundradar import __version__
from fundradar.crawlers.runner import RunOutcome, stop_requested
from fundradar.exceptions import ScrapydError

log = logging.getLogger("fundradar.crawl")

# the packages the egg holds: `fundradar` and the stage folders mapped into it (pyproject.toml)
EGG_PACKAGES = (
    "fundradar", "fundradar.crawlers", "fundradar.pipeline", "fundradar.alerts",
    "fundradar.config",
)  # fmt: skip
CONFIG_FILES = ("sources.yaml", "recipients.yaml", "priorities.yaml")
SETTINGS_MODULE = "fundradar.crawlers.settings"  # the egg's `scrapy` entry point
REQUEST_TIMEOUT = 30.0  # seconds for one API call
# Scrapyd not answering for this long while jobs run: they are reported failed (they may still
# finish on the server; the next crawl sees their runs)
LOST_AFTER = 120.0


def redact(url: str) -> str:
    """The URL without a user or password (Scrapyd's basic auth), for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class Scrapyd:
    """The few calls of Scrapyd's JSON API fundradar makes; each raises ScrapydError."""

    def __init__(self, url: str, project: str) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self.project = project
        self.where = redact(self.url)
        self.http = requests.Session()

    def call(self, method: str, endpoint: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.http.request(
                method, urljoin(self.url, endpoint), timeout=REQUEST_TIMEOUT, **kwargs
            )
        except requests.RequestException as exc:
            raise ScrapydError(
                f"Scrapyd at {self.where} unreachable ({type(exc).__name__})"
            ) from None
        if response.status_code != 200:
            raise ScrapydError(
                f"Scrapyd at {self.where} answered {endpoint} with HTTP {response.status_code}"
            )
        try:
            data = response.json()
        except ValueError:
            raise ScrapydError(f"Scrapyd at {self.where}: {endpoint} answered no JSON") from None
        if not isinstance(data, dict) or data.get("status") != "ok":
            message = data.get("message") if isinstance(data, dict) else None
            text = " ".join(str(message or data).split())[:300]
            raise ScrapydError(f"Scrapyd at {self.where} refused {endpoint}: {text}")
        return data

    def schedule(self, spider: str, settings: dict[str, str]) -> str:
        data = {"project": self.project, "spider": spider,
                "setting": [f"{k}={v}" for k, v in settings.items()]}  # fmt: skip
        return str(self.call("POST", "schedule.json", data=data)["jobid"])

    def jobs(self) -> dict[str, tuple[str, str | None]]:
        """Job id -> (pending | running | finished, its log's URL when Scrapyd gives one)."""
        data = self.call("GET", "listjobs.json", params={"project": self.project})
        out: dict[str, tuple[str, str | None]] = {}
        for state in ("pending", "running", "finished"):
            for job in data.get(state) or []:
                log_url = job.get("log_url")
                out[str(job.get("id"))] = (state, urljoin(self.where, log_url) if log_url else None)
        return out

    def cancel(self, jobid: str) -> None:
        self.call("POST", "cancel.json", data={"project": self.project, "job": jobid})

    def add_version(self, version: str, egg: Path) -> dict[str, Any]:
        with egg.open("rb") as f:
            return self.call(
                "POST", "addversion.json", data={"project": self.project, "version": version},
                files={"egg": ("fundradar.egg", f)},
            )  # fmt: skip

    def delete_version(self, version: str) -> None:
        self.call("POST", "delversion.json", data={"project": self.project, "version": version})

    def spiders(self) -> list[str]:
        data = self.call("GET", "listspiders.json", params={"project": self.project})
        return [str(s) for s in data.get("spiders") or []]


@dataclass
class JobResult:
    """One source's Scrapyd job, in the shape `fundradar.crawling.crawl` reads a child's."""

    source: str
    returncode: int  # 0: the job finished (its run tells how it went); 1: it did not
    seconds: float
    log_file: str  # the job's log on the Scrapyd server, or the server's address
    token: str | None = None  # FUNDRADAR_CRAWL_TOKEN given to the job: finds its own run
    failure: str | None = None  # what to report when the job left no run
    interrupted: bool = False  # cancelled on a stop request


def job_settings(token: str, fixture_server: str | None, sample: bool) -> dict[str, str]:
    """The run's own settings (`-s` of the job, above the config's: see crawlers/base.py)."""
    settings = {"FUNDRADAR_CRAWL_TOKEN": token, "FUNDRADAR_SAMPLE": str(bool(sample))}
    if fixture_server:
        settings["FUNDRADAR_FIXTURE_SERVER"] = fixture_server
    return settings


def run_jobs(
    source_ids: Sequence[str],
    *,
    url: str,
    project: str = "fundradar",
    fixture_server: str | None = None,
    sample: bool = False,
    on_done: Callable[[JobResult], None] | None = None,
    timeout: float = 3600,
    poll: float = 1.0,
) -> RunOutcome:
    """Schedule a job per source, follow each to its end, report each as it ends."""
    scrapyd = Scrapyd(url, project)
    results = RunOutcome()
    running: dict[str, tuple[str, str, float]] = {}  # job id -> source, token, start

    def finish(result: JobResult) -> None:
        results.append(result)  # type: ignore[arg-type]
        if on_done:
            on_done(result)

    for position, sid in enumerate(source_ids):
        if stop_requested():
            results.not_started.extend(source_ids[position:])
            break
        token = uuid.uuid4().hex[:12]
        try:
            jobid = scrapyd.schedule(sid, job_settings(token, fixture_server, sample))
        except ScrapydError as exc:
            log.error("%s: not scheduled: %s", sid, exc)
            finish(JobResult(sid, 1, 0.0, scrapyd.where, token, f"not crawled: {exc}"))
            continue
        log.info("%s: Scrapyd job %s", sid, jobid)
        running[jobid] = (sid, token, time.monotonic())

    cancelled: set[str] = set()
    silent_since: float | None = None
    while running:
        time.sleep(poll)
        try:
            jobs = scrapyd.jobs()
            silent_since = None
        except ScrapydError as exc:
            silent_since = silent_since or time.monotonic()
            if time.monotonic() - silent_since < LOST_AFTER:
                continue
            for jobid, (sid, token, started) in list(running.items()):
                del running[jobid]
                note = f"job {jobid} not followed to its end: {exc} for {LOST_AFTER:.0f} s"
                finish(JobResult(sid, 1, time.monotonic() - started, scrapyd.where, token, note))
            break
        for jobid, (sid, token, started) in list(running.items()):
            state, log_url = jobs.get(jobid, ("unknown", None))
            seconds = time.monotonic() - started
            where = log_url or scrapyd.where
            if state == "finished":
                del running[jobid]
                note = (
                    f"Scrapyd job {jobid} ended without recording its run (does the Scrapyd "
                    f"service's FUNDRADAR_DATABASE_URL name this database?); see {where}"
                )
                finish(JobResult(sid, 0, seconds, where, token, note, jobid in cancelled))
            elif state == "unknown":  # Scrapyd restarted, or forgot it (finished_to_keep)
                del running[jobid]
                note = f"Scrapyd no longer knows job {jobid} (restarted?); see {scrapyd.where}"
                finish(JobResult(sid, 1, seconds, where, token, note, jobid in cancelled))
            elif jobid not in cancelled and (stop_requested() or seconds > timeout):
                cancelled.add(jobid)  # once: Scrapy stops gracefully and records its run
                try:
                    scrapyd.cancel(jobid)
                except ScrapydError as exc:
                    log.error("%s: job %s not cancelled: %s", sid, jobid, exc)
    return results


def build_egg(folder: Path) -> Path:
    """The project egg Scrapyd runs jobs from: the running `fundradar` package (code, config,
    migrations, samples) and EGG-INFO naming the `scrapy` settings entry point.

    Its config is the one this process runs with (FUNDRADAR_CONFIG, else the packaged one): the
    jobs crawl the sources this side schedules. (FUNDRADAR_CONFIG in the Scrapyd service's
    environment would override it; secrets are never in these files.)
    """
    from fundradar import settings

    egg = folder / f"fundradar-{__version__}-py{sys.version_info[0]}.{sys.version_info[1]}.egg"
    written: set[str] = set()
    with zipfile.ZipFile(egg, "w", zipfile.ZIP_DEFLATED) as zf:
        config = settings.load().config_dir
        for name in CONFIG_FILES:
            if (config / name).is_file():
                written.add(f"fundradar/config/{name}")
                zf.write(config / name, f"fundradar/config/{name}")
        for package in EGG_PACKAGES:
            root = files(package)
            if not isinstance(root, Path):
                raise ScrapydError(f"{package} is not on disk ({root}); deploy from an install")
            base = package.replace(".", "/")
            for path in sorted(root.rglob("*")):
                rel = path.relative_to(root)
                if (
                    not path.is_file()
                    or path.suffix == ".pyc"
                    or any(part == "__pycache__" or part.startswith(".") for part in rel.parts)
                ):
                    continue
                name = f"{base}/{rel.as_posix()}"
                if name not in written:  # an installed fundradar/ holds its stages already
                    written.add(name)
                    zf.write(path, name)
        zf.writestr("EGG-INFO/PKG-INFO", f"Metadata-Version: 2.1\nName: fundradar\n"
                                         f"Version: {__version__}\n")  # fmt: skip
        zf.writestr("EGG-INFO/entry_points.txt", f"[scrapy]\nsettings = {SETTINGS_MODULE}\n")
        zf.writestr("EGG-INFO/top_level.txt", "fundradar\n")
    return egg


@dataclass
class Deployed:
    version: str
    spiders: list[str]


def deploy(url: str, project: str = "fundradar", version: str | None = None) -> Deployed:
    """Build the egg, add it to Scrapyd as a new version, and check it lists every enabled
    source's spider (ScrapydError otherwise, with what is missing)."""
    from fundradar.config.loader import load_sources

    scrapyd = Scrapyd(url, project)
    # a number that grows: Scrapyd runs the newest version, and sorts them as versions
    version = version or f"{int(time.time())}"
    with tempfile.TemporaryDirectory(prefix="fundradar-egg-") as tmp:
        scrapyd.add_version(version, build_egg(Path(tmp)))
    spiders = scrapyd.spiders()
    missing = [s.id for s in load_sources().enabled if s.id not in spiders]
    if missing:
        # not left as the newest version: Scrapyd would run every next job from it
        scrapyd.delete_version(version)
        raise ScrapydError(
            f"the egg for {scrapyd.where} ({project} {version}) has no spider for "
            f"{', '.join(missing)}, so it was removed again (an api source needs its spider "
            "module; see the Scrapyd log for a config the jobs could not read)"
        )
    return Deployed(version, spiders)
