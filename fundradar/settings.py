"""Runtime settings, read from the environment only (secrets never live in files).

One annotated module so a maintainer finds every knob in one place. Each value is read when
`load()` is called, not at import time, so tests and `fundradar demo` can point a process at
another folder by setting variables first.

- FUNDRADAR_HOME: data folder (database, outbox, exports, logs);
  default ~/.local/share/fundradar (or $XDG_DATA_HOME/fundradar)
- FUNDRADAR_DATABASE_URL: any SQLAlchemy URL; default sqlite:///$FUNDRADAR_HOME/fundradar.db
- FUNDRADAR_CONFIG: the config folder; default the packaged config/
- FUNDRADAR_SMTP_HOST: SMTP relay; unset means digests go to $FUNDRADAR_HOME/outbox/*.eml
- FUNDRADAR_SMTP_PORT: default 587 (starttls), 465 (ssl), 25 (none)
- FUNDRADAR_SMTP_USER / FUNDRADAR_SMTP_PASSWORD: login (the password is never logged)
- FUNDRADAR_SMTP_SECURITY: starttls (default), ssl or none
- FUNDRADAR_SMTP_TIMEOUT: seconds per SMTP operation, default 30
- FUNDRADAR_MAIL_FROM: sender; default recipients.yaml `digest.from`
- FUNDRADAR_WEB_TOKEN: access token `serve` requires when bound off loopback; at least 32
  characters (`python -c "import secrets; print(secrets.token_urlsafe(32))"` makes one)
- FUNDRADAR_AUTHOR: who `review` records as author; default $USER
- FUNDRADAR_PUBLIC_URL: the review page's address as officers reach it (e.g.
  https://fundradar.example.org); mail links to call pages only when it is set
- FUNDRADAR_SECRET_KEY: signs the links in mail (unsubscribe, verdicts); at least 32
  characters; required when FUNDRADAR_PUBLIC_URL is set
- FUNDRADAR_MAINTAINER_CHANNEL: an Apprise URL (msteams://…, slack://…, tgram://…,
  json://host/path) that also gets the maintainer's source alerts; it holds the service's
  token, so it lives here and not in recipients.yaml; never logged in full
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from fundradar.exceptions import ConfigError

DISPLAY_TZ = "America/St_Lucia"  # officers read every date in Saint Lucia time


# A token is the only lock on the review page once it listens beyond loopback: 32 characters of
# token_urlsafe are 192 bits, far out of reach of guessing over HTTP.
MIN_WEB_TOKEN = 32
MAKE_WEB_TOKEN = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


def _default_home() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "fundradar"


@dataclass(frozen=True)
class SmtpSettings:
    host: str | None
    port: int
    user: str | None
    password: str | None = field(repr=False)  # repr=False: a settings dump never shows it
    security: str  # starttls | ssl | none
    timeout: float
    mail_from: str | None


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    config_dir: Path
    smtp: SmtpSettings
    web_token: str | None = field(repr=False)
    author: str
    public_url: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    maintainer_channel: str | None = field(default=None, repr=False)

    @property
    def outbox(self) -> Path:
        return self.home / "outbox"

    @property
    def exports(self) -> Path:
        return self.home / "exports"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    def ensure_dirs(self) -> None:
        for p in (self.home, self.outbox, self.exports, self.logs):
            p.mkdir(parents=True, exist_ok=True)


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError("environment", name, f"a whole number, got {raw!r}") from None


def check_web_token(token: str | None) -> None:
    """`serve` refuses a configured token shorter than MIN_WEB_TOKEN (None: no token set)."""
    if token is not None and len(token) < MIN_WEB_TOKEN:
        raise ConfigError(
            "environment", "FUNDRADAR_WEB_TOKEN",
            f"at least {MIN_WEB_TOKEN} characters, got {len(token)}; make one with "
            f"{MAKE_WEB_TOKEN}",
        )  # fmt: skip


def _public_url() -> str | None:
    raw = (os.environ.get("FUNDRADAR_PUBLIC_URL") or "").strip()
    if not raw:
        return None
    if not raw.startswith(("https://", "http://")) or " " in raw:
        raise ConfigError(
            "environment", "FUNDRADAR_PUBLIC_URL",
            f"the review page's address starting with https:// or http://, got {raw!r}",
        )  # fmt: skip
    return raw.rstrip("/")


def _secret_key(public_url: str | None) -> str | None:
    key = os.environ.get("FUNDRADAR_SECRET_KEY") or None
    if key is not None and len(key) < MIN_WEB_TOKEN:
        raise ConfigError(
            "environment", "FUNDRADAR_SECRET_KEY",
            f"at least {MIN_WEB_TOKEN} characters, got {len(key)}; make one with "
            f"{MAKE_WEB_TOKEN}",
        )  # fmt: skip
    if key is None and public_url is not None:
        raise ConfigError(
            "environment", "FUNDRADAR_SECRET_KEY",
            "set it when FUNDRADAR_PUBLIC_URL is set (it signs the links in mail); make one "
            f"with {MAKE_WEB_TOKEN}",
        )  # fmt: skip
    return key


def packaged_config() -> Path:
    """The config defaults shipped as package data of `fundradar.config` (config/ in a checkout,
    site-packages/fundradar/config once installed, an extracted copy when a Scrapyd job runs
    from the zipped egg), found by importlib.resources."""
    from fundradar.resources import package_folder

    return package_folder("fundradar.config")


def load() -> Settings:
    """Read the environment now. Cheap; call it where needed rather than caching globally."""
    home = Path(os.environ.get("FUNDRADAR_HOME") or _default_home()).expanduser()
    db_url = os.environ.get("FUNDRADAR_DATABASE_URL") or f"sqlite:///{home / 'fundradar.db'}"
    config_dir = Path(os.environ.get("FUNDRADAR_CONFIG") or packaged_config()).expanduser()
    security = (os.environ.get("FUNDRADAR_SMTP_SECURITY") or "starttls").strip().lower()
    if security not in ("starttls", "ssl", "none"):
        raise ConfigError(
            "environment", "FUNDRADAR_SMTP_SECURITY", f"starttls, ssl or none, got {security!r}"
        )
    default_port = {"starttls": 587, "ssl": 465, "none": 25}[security]
    smtp = SmtpSettings(
        host=os.environ.get("FUNDRADAR_SMTP_HOST") or None,
        port=_int_env("FUNDRADAR_SMTP_PORT", default_port),
        user=os.environ.get("FUNDRADAR_SMTP_USER") or None,
        password=os.environ.get("FUNDRADAR_SMTP_PASSWORD") or None,
        security=security,
        timeout=float(_int_env("FUNDRADAR_SMTP_TIMEOUT", 30)),
        mail_from=os.environ.get("FUNDRADAR_MAIL_FROM") or None,
    )
    return Settings(
        home=home,
        database_url=db_url,
        config_dir=config_dir,
        smtp=smtp,
        web_token=os.environ.get("FUNDRADAR_WEB_TOKEN") or None,
        author=os.environ.get("FUNDRADAR_AUTHOR") or os.environ.get("USER") or "unknown",
        public_url=(public_url := _public_url()),
        secret_key=_secret_key(public_url),
        maintainer_channel=(os.environ.get("FUNDRADAR_MAINTAINER_CHANNEL") or "").strip() or None,
    )
