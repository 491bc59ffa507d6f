"""One Settings object, read from MEDIASHELF_* variables once at start and passed down."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from mediashelf.digits import ascii_int
from mediashelf.errors import ConfigError

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_DURATIONS = {"": 1, "ms": 0.001, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_size(value: Any) -> int:
    """'50 MB', '2GB', '200MiB' or a plain byte count."""
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", str(value))
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError("expected a size such as 50MB, 2GB or a number of bytes")
    return int(Decimal(m.group(1)) * _UNITS[m.group(2).lower()])  # exact, however large


def parse_duration(value: Any) -> float:
    """'24h', '30m', '90s', '7d' or a plain number of seconds."""
    if isinstance(value, int | float):
        return float(value)
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", str(value))
    if not m or m.group(2).lower() not in _DURATIONS:
        raise ValueError("expected a duration such as 90s, 30m, 24h or 7d")
    seconds = float(m.group(1)) * _DURATIONS[m.group(2).lower()]
    if not math.isfinite(seconds):
        raise ValueError("expected a duration such as 90s, 30m, 24h or 7d")
    return seconds


@dataclass(frozen=True, slots=True)
class Reserve:
    """Free space kept on each local volume we write: bytes, a share of the volume, or (unset)
    the smaller of 1 GB and 5 % of it."""

    size: int | None = None
    fraction: float | None = None

    def on(self, volume_bytes: int) -> int:
        """The reserve in bytes on a volume of that size."""
        if self.size is not None:
            return self.size
        if self.fraction is not None:
            return int(volume_bytes * self.fraction)
        return min(10**9, volume_bytes // 20)


def parse_reserve(value: Any) -> Reserve:
    """'1GB', '500MiB', '0', or a share of the volume such as '5%'."""
    if isinstance(value, Reserve):
        return value
    text = str(value).strip()
    if text.endswith("%"):
        m = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)\s*", text[:-1])
        if not m or float(m.group(1)) >= 100:
            raise ValueError("expected a size such as 1GB, or a share of the volume below 100%")
        return Reserve(fraction=float(m.group(1)) / 100)
    try:
        return Reserve(size=parse_size(text))
    except ValueError:
        raise ValueError("expected a size such as 1GB, or a share of the volume such as "
                         "5%") from None


def _parse_ports(value: Any) -> Any:
    if isinstance(value, str):
        words = value.replace(",", " ").split()
        ports = [ascii_int(w) for w in words]
        if not all(p is not None and 0 < p < 65536 for p in ports):
            raise ValueError("expected port numbers (1 to 65535) separated by commas or spaces")
        return ports
    return value


@dataclass(frozen=True, slots=True)
class Rate:
    """A budget: `count` requests per `window` seconds (a whole number, as RateLimit's w)."""

    count: int
    window: int

    def __str__(self) -> str:
        return f"{self.count}/{self.window}s"


_PERIODS = {"second": 1, "seconds": 1, "minute": 60, "minutes": 60, "hour": 3600,
            "hours": 3600, "day": 86400, "days": 86400}
_RATE_HINT = "expected a budget such as 600/minute, 60/10s or 5000/hour, or off"


def parse_rate(value: Any) -> Rate | None:
    """'600/minute', '10/second', '60/10s', '5000/hour', '100000/day'; 'off' (or empty) for none."""
    if value is None or isinstance(value, Rate):
        return value
    text = str(value).strip().lower()
    if text in ("", "off", "none", "0"):
        return None
    count, slash, period = (part.strip() for part in text.partition("/"))
    if not slash or not count.isascii() or not count.isdigit() or not 0 < int(count) < 10**12:
        raise ValueError(_RATE_HINT)
    seconds: float = _PERIODS.get(period, 0)
    if not seconds:
        try:  # a duration: 10s, 5m, 1h, 7d, or a number of seconds
            seconds = parse_duration(period) if period else 0
        except ValueError:
            raise ValueError(_RATE_HINT) from None
    if seconds < 1 or seconds != int(seconds) or seconds > 366 * 86400:
        raise ValueError("a budget's period must be whole seconds, from 1s to 366d")
    return Rate(int(count), int(seconds))


Budget = Annotated[Rate | None, NoDecode, BeforeValidator(parse_rate)]


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _parse_log_level(value: Any) -> Any:
    if isinstance(value, str) and value.strip().upper() in _LOG_LEVELS:
        return value.strip().upper()
    raise ValueError(f"expected one of {', '.join(_LOG_LEVELS)}")


def _parse_log_format(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in ("text", "json"):
        return value.strip().lower()
    raise ValueError("expected text or json")


def _parse_tracing(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in ("off", "otlp", "console"):
        return value.strip().lower()
    raise ValueError("expected off, otlp or console")


def parse_schedule(value: Any) -> Any:
    """'5s, 5m, 30m, 2h, 5h, 10h, 10h': the waits before each retry of a webhook delivery."""
    if isinstance(value, str):
        words = value.replace(",", " ").split()
        if not words or len(words) > 50:
            raise ValueError("expected 1 to 50 durations separated by commas, such as 5s, 5m, 30m")
        return [parse_duration(w) for w in words]
    return value


Size = Annotated[int, BeforeValidator(parse_size), Field(gt=0)]
Duration = Annotated[float, BeforeValidator(parse_duration), Field(ge=0)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEDIASHELF_", extra="ignore")

    data_dir: Path = Path(".mediashelf")
    database_url: str = ""
    storage_url: str = ""
    public_url: str = ""
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    s3_endpoint_url: str | None = None

    allow_private_urls: bool = False
    allowed_ports: Annotated[list[int], NoDecode, BeforeValidator(_parse_ports)] = []
    fetch_connect_timeout: Duration = 10.0
    fetch_read_timeout: Duration = 30.0
    fetch_total_timeout: Duration = 600.0
    head_timeout: Duration = 30.0  # a request's head (line and headers) must arrive within it
    body_timeout: Duration = 60.0  # the most a body due may pause

    purge_after: Duration = 86400.0
    url_ttl: Duration = 86400.0
    min_free_space: Annotated[Reserve, NoDecode, BeforeValidator(parse_reserve)] = Reserve()
    upload_lease: Annotated[float, BeforeValidator(parse_duration), Field(ge=1)] = 600.0
    idempotency_ttl: Annotated[float, BeforeValidator(parse_duration), Field(ge=1)] = 86400.0
    upload_expiry: Annotated[float, BeforeValidator(parse_duration), Field(gt=0)] = 86400.0
    upload_lock: Annotated[float, BeforeValidator(parse_duration), Field(gt=0)] = 30.0
    event_retention: Annotated[float, BeforeValidator(parse_duration), Field(ge=1)] = 7 * 86400.0
    event_poll: Annotated[float, BeforeValidator(parse_duration), Field(gt=0)] = 0.5  # streams
    event_heartbeat: Annotated[float, BeforeValidator(parse_duration), Field(gt=0)] = 15.0
    max_image_bytes: Size = 50 * 10**6
    max_video_bytes: Size = 2 * 10**9
    max_audio_bytes: Size = 200 * 10**6

    worker_concurrency: int = Field(default=2, ge=1, le=64)
    media_processes: int = Field(default=2, ge=1, le=64)
    media_timeout: Duration = 120.0
    media_memory_mb: int = Field(default=1536, ge=64)
    media_max_pixels: int = Field(default=100_000_000, ge=1)
    media_max_duration: Duration = 4 * 3600.0
    media_tasks_per_process: int = Field(default=50, ge=1)
    job_lease: Duration = 60.0
    # A worker with no heartbeat for this long is not counted live (/readyz, /metrics); workers
    # beat at a third of it.
    worker_stale_after: Annotated[float, BeforeValidator(parse_duration), Field(ge=1)] = 60.0
    worker_metrics_port: int | None = Field(default=None, ge=0, le=65535)  # `worker`'s own port
    job_max_attempts: int = Field(default=5, ge=1)
    poll_interval: Duration = 0.5

    list_cache: int = Field(default=512, ge=0)  # listing replies kept per API process
    web_concurrency: int = Field(default=1, ge=1, le=64)  # API processes of `serve`
    db_pool_size: int = Field(default=5, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    seed_music: bool = True
    log_level: Annotated[str, BeforeValidator(_parse_log_level)] = "INFO"
    log_format: Annotated[str, BeforeValidator(_parse_log_format)] = "text"
    tracing: Annotated[str, BeforeValidator(_parse_tracing)] = "off"  # OpenTelemetry (extra)

    # Request budgets (off until set): per API key, and per tenant (all its keys together)
    rate_limit_reads: Budget = None
    rate_limit_writes: Budget = None
    tenant_rate_limit_reads: Budget = None
    tenant_rate_limit_writes: Budget = None
    # Wrong keys per client address; each failure waits a growing delay of this step
    auth_failure_limit: Budget = Rate(120, 60)
    auth_failure_delay: Duration = 0.05

    # Webhooks (services/webhooks.py, services/delivery.py): the waits before each retry, the
    # answer's deadline, how long a failing endpoint lasts, a rotated secret's overlap.
    webhook_retry_schedule: Annotated[list[float], NoDecode, BeforeValidator(parse_schedule)] = [
        5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0]
    webhook_timeout: Annotated[float, BeforeValidator(parse_duration), Field(gt=0)] = 15.0
    webhook_disable_after: Annotated[float, BeforeValidator(parse_duration), Field(gt=0)] = \
        5 * 86400.0
    webhook_secret_overlap: Duration = 86400.0
    webhook_max_endpoints: int = Field(default=20, ge=1, le=1000)
    webhook_concurrency: int = Field(default=8, ge=1, le=256)  # deliveries in flight per worker
    webhook_lease: Annotated[float, BeforeValidator(parse_duration), Field(ge=1)] = 60.0
    # A worker's deliverer runs in a process of its own (delivery_process.py); off: in a thread
    webhook_process: bool = True

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        self.data_dir = self.data_dir.expanduser().absolute()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'mediashelf.db'}"
        if not self.storage_url:
            self.storage_url = (self.data_dir / "files").as_uri()
        if not self.database_url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ValueError("MEDIASHELF_DATABASE_URL must start with sqlite: or postgresql:")
        if not self.storage_url.startswith(("file:", "s3:")):
            raise ValueError("MEDIASHELF_STORAGE_URL must start with file:// or s3://")
        if self.public_url and not self.public_url.startswith(("http://", "https://")):
            raise ValueError("MEDIASHELF_PUBLIC_URL must start with http:// or https://")
        self.public_url = self.public_url.rstrip("/")
        return self

    @property
    def base_url(self) -> str:
        """The base that fileUrl and thumbnailUrl are built on."""
        if self.public_url:
            return self.public_url
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def max_bytes(self, asset_type: str) -> int:
        return {"IMAGE": self.max_image_bytes, "VIDEO": self.max_video_bytes,
                "AUDIO": self.max_audio_bytes}[asset_type]


def load_settings(flags: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read the environment (plus flag overrides); a bad value raises ConfigError naming it:
    the flag it came from (`flags` maps a field to its flag's spelling), else the variable."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = err.get("loc") or ()
        if loc:
            field = str(loc[0])
            name = (flags or {}).get(field) if field in given else None
            raise ConfigError(f"{name or 'MEDIASHELF_' + field.upper()}: {_explain(err)}"
                              ) from None
        raise ConfigError(_explain(err)) from None
    except SettingsError:  # a value pydantic-settings could not even decode
        raise ConfigError("a MEDIASHELF_* setting could not be read") from None


def _explain(err: ErrorDetails) -> str:
    """Our words for a validation error: pydantic's own text is not for operators."""
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    if kind == "value_error":  # our own validators' messages
        return str(ctx.get("error", "invalid value"))
    if kind.startswith("bool"):
        return "expected true or false (or 1/0, yes/no, on/off)"
    if kind.startswith("int") or kind.startswith("float"):
        return "expected a whole number" if kind.startswith("int") else "expected a number"
    for bound, words in (("ge", "at least"), ("gt", "more than"), ("le", "at most"),
                         ("lt", "less than")):
        if bound in ctx:
            return f"must be {words} {ctx[bound]}"
    return "invalid value"


def format_size(n: int) -> str:
    """Bytes as people read them: 999 B, 1.5 kB, 50 MB (decimal units, as the limits are written).

    One decimal at most, rounded half up in whole numbers, the same rule as the client's
    size_text and the web page's formatBytes (tests/unit/test_size_format.py holds them to it).
    """
    if n < 1000:
        return f"{n} B"
    for power, unit in enumerate(("kB", "MB", "GB", "TB"), start=1):
        size = 1000**power
        tenths = (n * 10 + size // 2) // size
        if tenths < 10_000 or unit == "TB":  # 999.96 kB rounds to 1000.0: say 1 MB instead
            break
    whole, tenth = divmod(tenths, 10)
    return f"{whole} {unit}" if tenth == 0 else f"{whole}.{tenth} {unit}"
