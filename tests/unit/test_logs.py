"""MEDIASHELF_LOG_FORMAT=json: one JSON object a line, with the text line's fields."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediashelf import logs

_KEYS = st.text("abcdefghij_", min_size=1, max_size=8).map(lambda k: "f" + k)  # not a record's
_VALUES = (st.text() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
           | st.booleans() | st.none())


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The root logger set up as the server does, its stream read back; restored after."""
    root = logging.getLogger()
    saved, level, stream = root.handlers[:], root.level, io.StringIO()
    old_stderr, sys.stderr = sys.stderr, stream
    try:
        logs.setup("INFO", "json")
        yield stream
    finally:
        sys.stderr = old_stderr
        root.handlers[:] = saved
        root.setLevel(level)


def _record(message: str, fields: dict[str, object], exc: bool = False) -> logging.LogRecord:
    info = None
    if exc:
        try:
            raise ValueError("bad\nthing")
        except ValueError:
            info = sys.exc_info()
    record = logging.LogRecord("mediashelf.worker", logging.WARNING, __file__, 1, message,
                               None, info)
    record.__dict__.update(fields)
    return record


@settings(max_examples=60)
@given(message=st.text(), fields=st.dictionaries(_KEYS, _VALUES, max_size=6), exc=st.booleans())
def test_a_json_line_holds_what_the_text_line_holds(message: str, fields: dict[str, object],
                                                    exc: bool) -> None:
    record = _record(message, fields, exc)
    line = logs.JsonFormatter().format(record)
    assert "\n" not in line and "\r" not in line  # newlines in values are escaped
    event = json.loads(line)
    text = logs.LineFormatter().format(record)
    assert text.split(" ", 3)[:3] == [event["time"], event["level"], event["logger"]]
    assert event["message"] == message and event["level"] == "warning"
    for key, value in fields.items():
        assert event[key] == value and f" {key}=" in text
    assert ("Traceback" in event["exception"] and "bad\nthing" in event["exception"]) if exc \
        else "exception" not in event


def test_logged_lines_parse_one_by_one(captured: io.StringIO) -> None:
    log = logging.getLogger("mediashelf.test")
    log.info("job.finished", extra={"job_id": 7, "asset_id": "a", "seconds": 0.25})
    log.warning("naïve\nname", extra={"huge": 2**80, "obj": object(), "tags": ["x", "é"]})
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        log.exception("worker.claim_failed", extra={"worker": "w1"})
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
    events = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert [e["message"] for e in events] == [
        "job.finished", "naïve\nname", "worker.claim_failed", "Started server process [42]"]
    assert events[0]["job_id"] == 7 and events[0]["seconds"] == 0.25
    assert events[1]["huge"] == 2**80 and events[1]["tags"] == ["x", "é"]
    assert "ZeroDivisionError" in events[2]["exception"] and events[2]["level"] == "error"
    assert events[3]["logger"] == "uvicorn.error"


def test_an_outage_is_logged_when_it_starts_once_a_minute_and_when_it_ends(
        captured: io.StringIO) -> None:
    """A loop that fails every tick (the database down) does not write a traceback a tick."""
    now = [100.0]
    outage = logs.Outage(logging.getLogger("mediashelf.test"), "events.poll_failed",
                         clock=lambda: now[0], worker="w1")
    outage.ok()  # nothing failed: nothing to say
    for _ in range(241):  # two minutes of ticks every half second, and one
        try:
            raise ConnectionError("the database is down")
        except ConnectionError:
            outage.failed()
        now[0] += 0.5
    outage.ok()
    outage.ok()
    events = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert [(e["message"], e["level"]) for e in events] == [
        ("events.poll_failed", "error"), ("events.poll_failed", "error"),
        ("events.poll_failed", "error"), ("events.poll_recovered", "info")]
    assert all("the database is down" in e["exception"] for e in events[:3])
    assert [e.get("failures") for e in events] == [None, 121, 241, 241]
    assert events[-1]["failing_s"] == 120.5 and all(e["worker"] == "w1" for e in events)
    try:  # a new outage starts over
        raise ConnectionError("again")
    except ConnectionError:
        outage.failed()
    assert json.loads(captured.getvalue().splitlines()[-1]).get("failures") is None
