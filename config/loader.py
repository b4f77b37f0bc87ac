"""Load and validate the YAML configuration, once per process.

Three files live in the config folder (the packaged `config/`, or `$FUNDRADAR_CONFIG`):
`sources.yaml` (what to crawl), `recipients.yaml` (who gets the digest, and when) and
`priorities.yaml` (the OECS profile; validated by `pipeline.score`). pydantic does the checking so
that a typo such as `enabeld:` or `kind: rss2` is caught before any crawl starts, and the first
problem is reported as one line: file, key, what was expected.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from fundradar.exceptions import ConfigError

SOURCE_ID = re.compile(r"^[a-z][a-z0-9_]{1,40}$")
EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
M = TypeVar("M", bound=BaseModel)
# Fields whose share of filled values a crawl run records (CrawlRun.coverage) and a source's
# `health.coverage` may set a minimum for.
COVERAGE_FIELDS = (
    "title", "url", "summary", "deadline", "opens_at", "status", "budget_max", "programme",
    "language", "eligibility_text", "source_ref",
)  # fmt: skip


class _Strict(BaseModel):
    # forbid unknown keys: a misspelt key must fail loudly, not be silently ignored
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_tz(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"an IANA time zone such as Europe/Paris, got {value!r}") from None
    return value


class Selectors(_Strict):
    """CSS (or XPath when the value starts with `/` or `(`) selectors for HTML sources.

    Kept in config, not code, so a maintainer can repair a redesigned site without a release.
    Fields a selector misses are looked for by their labels on the detail page.
    """

    item: str | None = None  # one listing entry
    link: str | None = None  # within an item: the detail link
    next_page: str | None = None  # the "next" pagination link
    title: str | None = None
    summary: str | None = None
    deadline: str | None = None
    opens: str | None = None
    period: str | None = None  # "17 décembre 2024 - 24 janvier 2025" on a card
    status: str | None = None
    budget: str | None = None
    eligibility: str | None = None
    programme: str | None = None
    published: str | None = None
    body: str | None = None  # the detail page's main text (label reader looks here first)


class HealthThresholds(_Strict):
    """When a crawl that found calls is still judged `degraded`, and when a quiet source is
    flagged "possibly broken" (crawlers/runlog.py `verdict`, pipeline/health.py).

    `margin` is a hysteresis: a source that was fine turns degraded only below
    `min_ratio - margin` (40% by default), and a degraded one recovers at `min_ratio` (50%), so
    a count that hovers around the line does not raise and clear an alarm every week.
    """

    min_ratio: float = Field(default=0.5, gt=0, le=1)  # of the median of recent ok runs
    margin: float = Field(default=0.1, ge=0, lt=1)
    min_drop: int = Field(default=2, ge=0)  # fewer calls lost than this never alarms
    history_runs: int = Field(default=3, ge=1, le=20)  # recent ok runs the median is taken over
    # required field -> least share of calls that must have it (e.g. deadline: 0.6)
    coverage: dict[str, float] = Field(default_factory=dict)
    quiet_runs: int = Field(
        default=3, ge=1, le=52
    )  # runs with no new/updated call: "possibly broken"

    @field_validator("coverage")
    @classmethod
    def _coverage(cls, v: dict[str, float]) -> dict[str, float]:
        for name, share in v.items():
            if name not in COVERAGE_FIELDS:
                raise ValueError(f"field names among {', '.join(COVERAGE_FIELDS)}; got {name!r}")
            if not 0 <= share <= 1:
                raise ValueError(f"a share between 0 and 1 for {name} (0.6 = 60%), got {share!r}")
        return v


class Source(_Strict):
    id: str
    kind: Literal["api", "feed", "wordpress", "html"]
    funder: str
    start_urls: list[str] = Field(min_length=1)
    timezone: str = "Europe/Paris"
    enabled: bool = True
    language: str | None = None
    programme: str | None = None
    spider: str | None = None  # spider class name override; default: spider named like the id
    allowed_domains: list[str] = Field(default_factory=list)
    selectors: Selectors = Field(default_factory=Selectors)
    max_pages: int = Field(default=20, ge=1, le=500)  # politeness bound on pagination
    options: dict[str, Any] = Field(default_factory=dict)  # source-specific knobs
    # overrides of `defaults.health`, key by key
    health: HealthThresholds = Field(default_factory=HealthThresholds)
    notes: str | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not SOURCE_ID.match(v):
            raise ValueError(f"a lower-case id of letters, digits and _ (like eu_ft), got {v!r}")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return _check_tz(v)

    @field_validator("start_urls")
    @classmethod
    def _urls(cls, v: list[str]) -> list[str]:
        for u in v:
            if not re.match(r"^https?://[^/\s]+", u):
                raise ValueError(f"http(s) URLs, got {u!r}")
        return v


class CrawlDefaults(_Strict):
    contact: str = "dcrm@oecs.int"  # goes in the User-Agent so a funder's webmaster can write
    timezone: str = "Europe/Paris"
    download_delay: float = Field(default=2.0, ge=0)
    concurrent_per_domain: int = Field(default=2, ge=1, le=2)  # SOURCES.md: at most 2
    http_cache: bool = True
    # each source in its own crawl process (2 s of start-up each) instead of all in one; for a
    # source that misbehaves (`fundradar crawl --isolate` for one run)
    isolate: bool = False
    # crawl processes the sources are dealt over (each one reactor, many spiders; `fundradar
    # crawl --processes N` for one run). 1 by default: at the default delay (2 s a request per
    # site) one process is far from busy, and several processes writing one SQLite database
    # wait for each other's write lock (a re-crawl took 40 % longer with 2 than with 1)
    crawl_processes: int = Field(default=1, ge=1, le=64)
    download_timeout: float = Field(default=60, gt=0, le=600)  # seconds; then "unreachable"
    # a 429/503 with Retry-After is retried after that wait, if it is no longer than this
    retry_after_max: float = Field(default=120, ge=0, le=3600)
    health: HealthThresholds = Field(default_factory=HealthThresholds)
    # where crawls run: `local` (a child process per source, on this machine) or `scrapyd`
    # (jobs of the Scrapyd server at `scrapyd_url`, which must write to the same database)
    crawl_backend: Literal["local", "scrapyd"] = "local"
    scrapyd_url: str | None = Field(default=None, validate_default=True)
    scrapyd_project: str = Field(default="fundradar", pattern=r"^[A-Za-z0-9_.-]{1,100}$")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return _check_tz(v)

    @field_validator("scrapyd_url")
    @classmethod
    def _scrapyd_url(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is not None and not re.match(r"^https?://[^/\s]+", v):
            raise ValueError(
                f"the Scrapyd server's http(s) address such as http://127.0.0.1:6800/, got {v!r}"
            )
        if v is None and info.data.get("crawl_backend") == "scrapyd":
            raise ValueError(
                "the Scrapyd server's address (e.g. scrapyd_url: http://127.0.0.1:6800/) when "
                "crawl_backend is scrapyd; or set crawl_backend: local"
            )
        return v


class SourcesFile(_Strict):
    defaults: CrawlDefaults = Field(default_factory=CrawlDefaults)
    sources: list[Source] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> SourcesFile:
        seen: set[str] = set()
        for s in self.sources:
            if s.id in seen:
                raise ValueError(f"unique source ids; {s.id!r} appears twice")
            seen.add(s.id)
        return self

    def get(self, source_id: str) -> Source | None:
        return next((s for s in self.sources if s.id == source_id), None)

    @property
    def enabled(self) -> list[Source]:
        return [s for s in self.sources if s.enabled]

    def health_of(self, source_id: str) -> HealthThresholds:
        """The source's thresholds: `defaults.health`, with the keys its own `health:` sets."""
        base = self.defaults.health
        source = self.get(source_id)
        if source is None:
            return base
        own = source.health
        return base.model_copy(update={k: getattr(own, k) for k in own.model_fields_set})


class Recipient(_Strict):
    email: str
    name: str | None = None
    language: Literal["en", "fr"] = "en"
    min_band: Literal["high", "medium", "low", "none"] = "medium"
    themes: list[str] = Field(default_factory=list)  # empty: every theme
    # the rest of a subscription's filters (alerts/subscription_filter.py); empty: no limit
    sources: list[str] = Field(default_factory=list)
    words: str | None = Field(default=None, max_length=200)  # every word must match
    call_language: Literal["en", "fr", "es"] | None = None  # the call's own language
    # weekly: the digest; instant: the digest and, after each crawl, a mail per new high call
    frequency: Literal["weekly", "instant"] = "weekly"

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        if not EMAIL.match(v):
            raise ValueError(f"an e-mail address, got {v!r}")
        return v


class Schedule(_Strict):
    timezone: str = "America/St_Lucia"
    crawl: str = "0 5 * * mon"  # crontab fields: minute hour day month day-of-week
    digest: str = "0 7 * * mon"
    misfire_grace_hours: float = Field(default=12, gt=0)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return _check_tz(v)

    @field_validator("crawl", "digest")
    @classmethod
    def _cron(cls, v: str) -> str:
        # the scheduler's own parser, so a line that passes here cannot fail at `schedule` time
        from apscheduler.triggers.cron import CronTrigger

        if len(v.split()) != 5:
            raise ValueError(f"a crontab line of 5 fields like '0 5 * * mon', got {v!r}")
        try:
            CronTrigger.from_crontab(v, timezone="UTC")
        except ValueError as exc:
            raise ValueError(
                f"a valid crontab line (minute 0-59, hour 0-23, day 1-31, month 1-12, weekday "
                f"mon-sun) like '0 5 * * mon'; {v!r} is not ({exc})"
            ) from None
        return v


class DigestSettings(_Strict):
    mail_from: str = Field(default="fundradar@localhost", alias="from")
    reply_to: str | None = None
    closing_within_days: int = Field(default=14, ge=1, le=90)
    reminder_days: list[int] = Field(default_factory=lambda: [14, 3])
    max_per_section: int = Field(default=25, ge=1)
    top_reasons: int = Field(default=3, ge=1, le=10)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RecipientsFile(_Strict):
    digest: DigestSettings = Field(default_factory=DigestSettings)
    schedule: Schedule = Field(default_factory=Schedule)
    recipients: list[Recipient] = Field(default_factory=list)
    # who is told when a source starts failing or recovers (alerts/maintainer.py); none: nobody
    maintainer: str | None = None

    @field_validator("maintainer")
    @classmethod
    def _maintainer(cls, v: str | None) -> str | None:
        if v is not None and not EMAIL.match(v):
            raise ValueError(f"an e-mail address, got {v!r}")
        return v


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path, error: type[ConfigError]) -> Any:
    if not path.is_file():
        raise error(path, "(file)", "a YAML file; it does not exist")
    try:
        # libyaml's parser when PyYAML has it: the 66 KB priorities.yaml took 0.3 s to read in
        # pure Python, in every crawl process and command (same results, same errors)
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except UnicodeDecodeError:
        raise error(path, "(file)", "UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(syntax)"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(path, where, f"valid YAML ({problem})") from None


def _key_path(data: Any, loc: tuple[Any, ...]) -> str:
    """Turn pydantic's ('sources', 3, 'kind') into 'sources[3] (id=afd).kind'."""
    out, node = "", data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            if isinstance(node, list) and part < len(node):
                node = node[part]
                if isinstance(node, dict) and ("id" in node or "name" in node):
                    out += f" ({'id=' + str(node['id']) if 'id' in node else node['name']})"
            continue
        out += f".{part}" if out else str(part)
        node = node.get(part) if isinstance(node, dict) else None
    return out or "(top level)"


def validate_file(path: Path, model: type[M], error: type[ConfigError] = ConfigError) -> M:
    """Read a YAML file into `model`; the first problem raises `error(file, key, expected)`.

    Shared by every config file (sources, recipients, priorities) so they all report alike.
    """
    data = _read_yaml(path, error)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise error(path, "(top level)", "a mapping of keys to values")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # a misspelt key shows as "unknown key" and "missing key": name the misspelling
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "no such key (misspelt? see the comments at the top of the file)"
        elif err["type"] == "missing":
            msg = "a value; this key is required"
        else:
            got = err.get("input")
            if not isinstance(got, dict | list) and repr(got)[:60] not in msg:
                msg += f" (found {got!r})"
        raise error(path, _key_path(data, tuple(err["loc"])), msg) from None


def config_dir() -> Path:
    from fundradar import settings

    return settings.load().config_dir


@lru_cache(maxsize=8)
def _sources(path: Path, mtime: float) -> SourcesFile:
    return validate_file(path, SourcesFile)


@lru_cache(maxsize=8)
def _recipients(path: Path, mtime: float) -> RecipientsFile:
    return validate_file(path, RecipientsFile)


def _stamp(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return -1.0


def load_sources(folder: Path | None = None) -> SourcesFile:
    """sources.yaml, validated; cached until the file changes."""
    path = (folder or config_dir()) / "sources.yaml"
    return _sources(path, _stamp(path))


def load_recipients(folder: Path | None = None) -> RecipientsFile:
    path = (folder or config_dir()) / "recipients.yaml"
    return _recipients(path, _stamp(path))


def load_all(folder: Path | None = None) -> tuple[SourcesFile, RecipientsFile, Any]:
    """Validate all three files (used at command start so errors come before any work)."""
    from fundradar.pipeline.score import load_profile

    folder = folder or config_dir()
    return load_sources(folder), load_recipients(folder), load_profile(folder / "priorities.yaml")
