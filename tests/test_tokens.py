"""Signed mail links (fundradar.tokens): tampering, expiry, purpose and the settings behind them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun import freeze_time

from fundradar import settings, tokens
from fundradar.exceptions import ConfigError, LinkTokenError

SECRET = "s" * 40


def test_a_token_round_trips_its_payload() -> None:
    token = tokens.sign(SECRET, "unsubscribe", {"subscription": 7, "email": "a@b.lc"})
    assert tokens.verify(SECRET, "unsubscribe", token) == {"subscription": 7, "email": "a@b.lc"}


# not the very last character: its low bits are base64 padding, so some changes to it decode
# to the same signature bytes (and would pass, rightly)
@pytest.mark.parametrize("position", [0, 10, -3])
def test_a_tampered_token_is_refused(position: int) -> None:
    token = tokens.sign(SECRET, "verdict", {"call": 3, "verdict": "relevant"})
    flipped = "A" if token[position] != "A" else "B"
    bad = token[:position] + flipped + token[position:][1:]
    with pytest.raises(LinkTokenError, match="not valid") as err:
        tokens.verify(SECRET, "verdict", bad)
    assert not err.value.expired


def test_another_key_or_purpose_is_refused() -> None:
    token = tokens.sign(SECRET, "verdict", {"call": 3})
    with pytest.raises(LinkTokenError):
        tokens.verify("t" * 40, "verdict", token)
    with pytest.raises(LinkTokenError):  # a verdict link is never an unsubscribe link
        tokens.verify(SECRET, "unsubscribe", token)


def test_an_expired_token_is_refused_and_says_so() -> None:
    with freeze_time("2026-01-01 12:00:00"):
        token = tokens.sign(SECRET, "verdict", {"call": 3})
    with freeze_time("2026-01-30 12:00:00"):
        assert tokens.verify(SECRET, "verdict", token) == {"call": 3}
    with freeze_time("2026-02-01 12:00:01"), pytest.raises(LinkTokenError) as err:
        tokens.verify(SECRET, "verdict", token)
    assert err.value.expired and "expired" in str(err.value)
    with freeze_time("2026-01-02 12:00:01"), pytest.raises(LinkTokenError):
        tokens.verify(SECRET, "verdict", token, max_age=timedelta(days=1))


def test_public_url_needs_a_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.load().public_url is None and settings.load().secret_key is None
    monkeypatch.setenv("FUNDRADAR_PUBLIC_URL", "https://radar.example.org/")
    with pytest.raises(ConfigError, match=r"FUNDRADAR_SECRET_KEY.*make one"):
        settings.load()
    monkeypatch.setenv("FUNDRADAR_SECRET_KEY", "short")
    with pytest.raises(ConfigError, match="at least 32"):
        settings.load()
    monkeypatch.setenv("FUNDRADAR_SECRET_KEY", SECRET)
    loaded = settings.load()
    assert loaded.public_url == "https://radar.example.org" and loaded.secret_key == SECRET
    assert SECRET not in repr(loaded)
    monkeypatch.setenv("FUNDRADAR_PUBLIC_URL", "javascript:alert(1)")
    with pytest.raises(ConfigError, match="FUNDRADAR_PUBLIC_URL"):
        settings.load()
