"""A bad MEDIASHELF_* value is one line in our words that names the variable."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediashelf.errors import ConfigError
from mediashelf.settings import Settings, load_settings

SIZES = ["MAX_IMAGE_BYTES", "MAX_VIDEO_BYTES", "MAX_AUDIO_BYTES", "MIN_FREE_SPACE"]
DURATIONS = ["FETCH_CONNECT_TIMEOUT", "FETCH_READ_TIMEOUT", "FETCH_TOTAL_TIMEOUT", "HEAD_TIMEOUT",
             "BODY_TIMEOUT", "PURGE_AFTER",
             "URL_TTL", "UPLOAD_LEASE", "UPLOAD_EXPIRY", "UPLOAD_LOCK", "MEDIA_TIMEOUT",
             "MEDIA_MAX_DURATION", "JOB_LEASE", "POLL_INTERVAL", "IDEMPOTENCY_TTL",
             "WORKER_STALE_AFTER", "AUTH_FAILURE_DELAY", "EVENT_RETENTION", "EVENT_POLL",
             "EVENT_HEARTBEAT", "WEBHOOK_TIMEOUT", "WEBHOOK_DISABLE_AFTER",
             "WEBHOOK_SECRET_OVERLAP", "WEBHOOK_LEASE"]
BOOLS = ["ALLOW_PRIVATE_URLS", "SEED_MUSIC", "WEBHOOK_PROCESS"]
INTS = ["PORT", "WORKER_CONCURRENCY", "MEDIA_PROCESSES", "MEDIA_MEMORY_MB", "MEDIA_MAX_PIXELS",
        "MEDIA_TASKS_PER_PROCESS", "JOB_MAX_ATTEMPTS", "LIST_CACHE", "WEB_CONCURRENCY",
        "DB_POOL_SIZE", "DB_MAX_OVERFLOW", "WORKER_METRICS_PORT", "WEBHOOK_MAX_ENDPOINTS",
        "WEBHOOK_CONCURRENCY"]
RATES = ["RATE_LIMIT_READS", "RATE_LIMIT_WRITES", "TENANT_RATE_LIMIT_READS",
         "TENANT_RATE_LIMIT_WRITES", "AUTH_FAILURE_LIMIT"]
OTHERS = ["ALLOWED_PORTS", "LOG_LEVEL", "LOG_FORMAT", "TRACING", "WEBHOOK_RETRY_SCHEDULE",
          *RATES]
LIBRARY_TEXT = ("Value error", "Input should", "invalid literal", "pydantic", "validation error",
                "For further information", "float", "int(", "Traceback")

# Values wrong for every setting of the kind (and some wrong for all kinds).
BAD = {
    "size": ["lots", "-1", "0", "5 parsecs", "1e3", "½MB", "0.0001", "", "9" * 400 + "x"],
    "duration": ["soon", "-5", "1 fortnight", "1e3", "9" * 400, "inf", "nan", "٣s"],
    "bool": ["maybe", "2", "yes please", "", "ja"],
    "int": ["x", "1.5", "-1000000", "12abc", "", "٣"],
}
BAD_OTHERS = {"ALLOWED_PORTS": ["x y", "0", "70000", "-1", "80;443"],
              "LOG_LEVEL": ["loud", "0", "", "info please"],
              "LOG_FORMAT": ["xml", "", "0", "json please"],
              "TRACING": ["on", "jaeger", "", "true"],
              "WEBHOOK_RETRY_SCHEDULE": ["soon", "", "5s,,x", "-5s", "1 fortnight", "inf",
                                         "5s " * 51],
              **{rate: ["lots", "10", "10/fortnight", "-5/minute", "0/minute", "½/minute",
                        "1e3/hour", "٣/minute"] for rate in RATES},
              "WORKER_STALE_AFTER": ["soon", "-5", "0.5", "1 fortnight", "inf", "٣s"],
              "MIN_FREE_SPACE": ["lots", "-1", "100%", "5 parsecs", "½MB", "٣%", "x%"]}
KIND = {**dict.fromkeys(SIZES, "size"), **dict.fromkeys(DURATIONS, "duration"),
        **dict.fromkeys(BOOLS, "bool"), **dict.fromkeys(INTS, "int"),
        **dict.fromkeys(OTHERS, "other")}


def test_every_setting_is_covered() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    assert fields - {"DATA_DIR", "DATABASE_URL", "STORAGE_URL", "PUBLIC_URL", "HOST",
                     "S3_ENDPOINT_URL"} == set(KIND)


def _check(name: str, value: str, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """None when the value is accepted, else the one-line message (checked for leaks)."""
    monkeypatch.setenv(f"MEDIASHELF_{name}", value)
    try:
        load_settings()
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith(f"MEDIASHELF_{name}: "), message
        assert "\n" not in message and not any(t in message for t in LIBRARY_TEXT), message
        assert len(message) < 200
        return message
    finally:
        monkeypatch.delenv(f"MEDIASHELF_{name}")
    return None


@pytest.mark.parametrize("name", sorted(KIND))
def test_known_bad_values_are_refused_in_our_words(name: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    for value in BAD_OTHERS.get(name) or BAD[KIND[name]]:
        assert _check(name, value, monkeypatch) is not None, value


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(sorted(KIND)),
       value=st.one_of(st.text(max_size=30),
                       st.from_regex(r"-?[0-9]{1,25}(\.[0-9]{0,5})? ?[a-zA-Z%]{0,4}",
                                     fullmatch=True)))
def test_any_value_is_accepted_or_refused_in_one_line(name: str, value: str) -> None:
    if "\0" in value:  # the environment cannot hold a NUL
        return
    with pytest.MonkeyPatch.context() as monkeypatch:
        _check(name, value, monkeypatch)
