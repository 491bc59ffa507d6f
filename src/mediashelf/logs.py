"""One line per event: time, level, logger, action, then the event's fields (asset, tenant and
job ids), as text (`key=value`) or, with MEDIASHELF_LOG_FORMAT=json, as one JSON object a line."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

import orjson

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "asctime", "color_message", "taskName"}


def _stamp(record: logging.LogRecord) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + \
        f".{int(record.msecs):03d}Z"


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The event's own fields: what the code passed as `extra`."""
    return {k: v for k, v in record.__dict__.items()
            if k not in _STANDARD and not k.startswith("_")}


class LineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        parts = [_stamp(record), record.levelname.lower(), record.name, record.getMessage()]
        for key, value in _fields(record).items():
            text = str(value)
            parts.append(f"{key}={text!r}" if " " in text or not text else f"{key}={text}")
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """The text line's fields as one JSON object; a traceback is a field, so one line still."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {"time": _stamp(record), "level": record.levelname.lower(),
                                 "logger": record.name, "message": record.getMessage()}
        for key, value in _fields(record).items():
            event.setdefault(key, value)  # a field never hides the four above
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        try:
            return orjson.dumps(event, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
        except TypeError:  # what orjson refuses even with default= (an int past 64 bits)
            return json.dumps(event, default=str)


def setup(level: str, fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else LineFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn.access", "alembic", "botocore", "boto3", "s3transfer"):
        logging.getLogger(name).setLevel(logging.WARNING)


class Outage:
    """A loop's failure that repeats every tick (the database down): logged with its traceback
    when it starts, then once a minute with the count, and a line when it ends, instead of a
    traceback a tick."""

    def __init__(self, log: logging.Logger, action: str, every_s: float = 60.0,
                 clock: Any = time.monotonic, **extra: Any) -> None:
        self._log, self._action, self._every_s = log, action, every_s
        self._clock, self._extra = clock, extra
        self._since: float | None = None
        self._last = 0.0
        self._count = 0

    def failed(self) -> None:
        """Call from the except block (the traceback is the current exception's)."""
        now = self._clock()
        self._count += 1
        if self._since is None:
            self._since = self._last = now
            self._log.exception(self._action, extra=self._extra)
        elif now - self._last >= self._every_s:
            self._last = now
            self._log.error(self._action, exc_info=True, extra={
                **self._extra, "failures": self._count,
                "failing_s": round(now - self._since, 1)})

    def ok(self) -> None:
        if self._since is not None:
            self._log.info(self._action.removesuffix("_failed") + "_recovered", extra={
                **self._extra, "failures": self._count,
                "failing_s": round(self._clock() - self._since, 1)})
            self._since, self._count = None, 0
