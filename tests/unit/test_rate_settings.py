"""Budgets as operators write them: `600/minute`, `60/10s`, `off`; a bad one names its variable."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediashelf.errors import ConfigError
from mediashelf.settings import Rate, load_settings, parse_rate

_WORDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


@given(st.integers(1, 10**11), st.sampled_from(sorted(_WORDS)), st.booleans(),
       st.sampled_from(["", " ", "  "]))
def test_a_count_per_period(count: int, word: str, plural: bool, pad: str) -> None:
    text = f"{pad}{count}{pad}/{pad}{word}{'s' if plural else ''}{pad}"
    assert parse_rate(text) == Rate(count, _WORDS[word])
    assert parse_rate(text.upper()) == Rate(count, _WORDS[word])


@given(st.integers(1, 10**6), st.integers(1, 3600))
def test_a_count_per_duration(count: int, seconds: int) -> None:
    assert parse_rate(f"{count}/{seconds}s") == Rate(count, seconds)
    assert parse_rate(f"{count}/{seconds}") == Rate(count, seconds)


@pytest.mark.parametrize("text", ["off", "OFF", "", "none", "0"])
def test_off(text: str) -> None:
    assert parse_rate(text) is None


@given(st.text(max_size=20).filter(
    lambda t: t.strip().lower() not in ("", "off", "none", "0") and "/" not in t))
def test_anything_without_a_period_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rate(text)


@pytest.mark.parametrize("text", ["0/minute", "-5/minute", "5/fortnight", "5/0s", "5/1.5s",
                                  "5/400d", "1e3/minute", "\uff15/minute", "10**12/minute",
                                  "1000000000000/minute", "5/", "/minute", "5/minute/2"])
def test_nonsense_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rate(text)


def test_defaults_and_a_bad_value_naming_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings.rate_limit_reads is None and settings.tenant_rate_limit_writes is None
    assert settings.auth_failure_limit == Rate(120, 60)  # at least 100 wrong keys a minute
    monkeypatch.setenv("MEDIASHELF_RATE_LIMIT_WRITES", "lots")
    with pytest.raises(ConfigError, match="MEDIASHELF_RATE_LIMIT_WRITES: expected a budget"):
        load_settings()
    monkeypatch.setenv("MEDIASHELF_RATE_LIMIT_WRITES", "60/minute")
    monkeypatch.setenv("MEDIASHELF_AUTH_FAILURE_LIMIT", "off")
    settings = load_settings()
    assert settings.rate_limit_writes == Rate(60, 60) and settings.auth_failure_limit is None
