"""What the terminal commands share: exit statuses, options, the client, and formatting.

Colour only on a terminal; errors are one `error: …` line on stderr with a status from EXIT_CODES.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from mediashelf_client import (
    Asset,
    AuthenticationError,
    Client,
    MediashelfAPIError,
    NotFoundError,
    PermissionDeniedError,
    ProcessingFailedError,
    WaitTimeoutError,
)

OK, API_ERROR, BAD_ARGS, NOT_FOUND, AUTH, NOT_READY, READ_ONLY = 0, 1, 2, 3, 4, 5, 6
EXIT_CODES = ("Exit status: 0 ok; 1 API or network error; 2 bad arguments; 3 not found; "
              "4 missing or rejected API key; 5 processing failed, not ready, or timed out; "
              "6 read-only (a system asset).")


class TypeName(enum.StrEnum):
    AUDIO = "AUDIO"
    IMAGE = "IMAGE"
    VIDEO = "VIDEO"


class StatusName(enum.StrEnum):
    PROCESSING = "PROCESSING"
    READY = "READY"
    FAILED = "FAILED"


Url = Annotated[str, typer.Option("--url", envvar="MEDIASHELF_URL",
                                  help="Server base URL")]
ApiKey = Annotated[str | None, typer.Option("--api-key", envvar="MEDIASHELF_API_KEY",
                                            show_default=False,
                                            help="API key")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON only, for scripts")]
Timeout = Annotated[float, typer.Option(help="Seconds to wait for processing with --wait")]
DEFAULT_URL = "http://127.0.0.1:8000"


def out() -> Console:
    """Stdout; wide and plain when it is not a terminal, so rows stay on one line."""
    console = Console(highlight=False, soft_wrap=False)
    return console if console.is_terminal else Console(highlight=False, width=160)


def err() -> Console:
    """Stderr, for progress, footers and notes."""
    return Console(stderr=True, highlight=False)


def exit_with(code: int) -> NoReturn:
    """Stop with an exit status from EXIT_CODES."""
    # SystemExit, not typer.Exit: `app(standalone_mode=False)` in cli.main returns the code of a
    # typer.Exit instead of raising it, so its status would be lost.
    raise SystemExit(code)


def fail(message: str, code: int) -> NoReturn:
    """One `error: …` line on stderr, then exit with code."""
    print(f"error: {message}", file=sys.stderr)
    exit_with(code)


def emit_json(data: Any) -> None:
    """Print data as indented JSON on stdout."""
    print(json.dumps(data, indent=2, ensure_ascii=False))


@contextmanager
def connect(url: str, api_key: str | None) -> Iterator[Client]:
    """A Client; SDK errors become one `error: …` line on stderr and a documented exit status."""
    if not api_key:
        fail("no API key: pass --api-key or set MEDIASHELF_API_KEY "
             "(an admin creates one with `mediashelf keys create --tenant NAME`)", AUTH)
    try:
        with Client(url, api_key, max_retries=2) as client:
            yield client
    except ValueError as exc:  # the SDK names its argument; the terminal knows the option
        fail(str(exc).replace("base_url", "--url (MEDIASHELF_URL)", 1), BAD_ARGS)
    except MediashelfAPIError as exc:
        fail(exc.message, _code(exc))


def _code(exc: MediashelfAPIError) -> int:
    if isinstance(exc, NotFoundError):
        return NOT_FOUND
    if isinstance(exc, PermissionDeniedError):
        return READ_ONLY
    if isinstance(exc, AuthenticationError):
        return AUTH
    if isinstance(exc, ProcessingFailedError | WaitTimeoutError):
        return NOT_READY
    return API_ERROR


# --- formatting -------------------------------------------------------------------------------

def size_text(n: int | None) -> str:
    """Bytes in decimal units: 999 B, 1.5 kB, 50 MB (the server's and the web page's rule)."""
    if n is None:
        return ""
    if n < 1000:
        return f"{n} B"
    for power, unit in enumerate(("kB", "MB", "GB", "TB"), start=1):
        size = 1000**power
        tenths = (n * 10 + size // 2) // size  # whole numbers: no float rounding surprises
        if tenths < 10_000 or unit == "TB":
            break
    whole, tenth = divmod(tenths, 10)
    return f"{whole} {unit}" if tenth == 0 else f"{whole}.{tenth} {unit}"


def _duration(ms: int | None) -> str:
    if ms is None:
        return ""
    seconds = round(ms / 1000)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def count_text(n: int | None) -> str:
    """"1 asset", "3 assets", or "? assets" when the count is unknown."""
    return "? assets" if n is None else f"{n} asset{'' if n == 1 else 's'}"


def shape_text(a: Asset) -> str:
    """Dimensions and duration, whichever the asset has."""
    dims = f"{a.width}x{a.height}" if a.width and a.height else ""
    return " · ".join(p for p in (dims, _duration(a.duration_ms)) if p)


def age_text(when: dt.datetime | None) -> str:
    """How long ago: 5s, 3m, 2h, 4d ago, then the date; a time to come: in 5s … 4d (a purge)."""
    if when is None:
        return ""
    seconds = (dt.datetime.now(dt.UTC) - when).total_seconds()
    ahead = seconds < -1  # a second's skew between clocks is still "now"
    seconds = abs(seconds)
    for limit, div, unit in ((60, 1, "s"), (3600, 60, "m"), (86400, 3600, "h"),
                             (86400 * 30, 86400, "d")):
        if seconds < limit:
            count = f"{int(seconds // div)}{unit}"
            return f"in {count}" if ahead else f"{count} ago"
    return when.date().isoformat()


def when_text(when: dt.datetime | None) -> str:
    """Full timestamp with its age."""
    return f"{when:%Y-%m-%d %H:%M:%S %Z} ({age_text(when)})" if when else ""


_STATUS_STYLE = {"READY": "green", "PROCESSING": "yellow", "FAILED": "red"}


def status_text(a: Asset) -> str:
    """The status in its colour (rich markup)."""
    return f"[{_STATUS_STYLE.get(a.status, '')}]{a.status}[/]"


def name_text(a: Asset) -> str:
    """The escaped name, marked when it is a system asset."""
    return escape(a.name or "") + (" [dim](system)[/]" if a.is_system else "")


def tags_text(a: Asset) -> str:
    return escape(", ".join(a.tags))


def asset_table(assets: Sequence[Asset]) -> Table:
    """One row per asset, as `ls` shows them (tags when any has some)."""
    tagged = any(a.tags for a in assets)
    table = Table(Column("id", no_wrap=True), Column("name", overflow="fold"), "type", "status",
                  Column("size", no_wrap=True), Column("shape", no_wrap=True),
                  Column("age", no_wrap=True), box=None)
    if tagged:
        table.add_column("tags", overflow="fold")
    for a in assets:
        row = [a.id, name_text(a), a.type, status_text(a), size_text(a.size_bytes),
               shape_text(a), age_text(a.created_at)]
        table.add_row(*row, *([tags_text(a)] if tagged else []))
    return table


def choices(values: Sequence[str] | None, allowed: type[enum.StrEnum], option: str) -> list[str]:
    """Repeated or comma-separated values of an option (`--type IMAGE,VIDEO`), checked."""
    chosen = []
    for raw in values or []:
        for item in raw.split(","):
            value = item.strip().upper()
            if value not in allowed.__members__:
                fail(f"invalid value '{item.strip()}' for {option}: allowed values are "
                     f"{', '.join(allowed.__members__)}", BAD_ARGS)
            chosen.append(value)
    return chosen


# --- waiting ----------------------------------------------------------------------------------

def wait_all(client: Client, assets: Sequence[Asset], timeout: float
             ) -> list[tuple[Asset, str | None]]:
    """Wait for each asset until one deadline; each comes back with a problem, or None."""
    deadline = time.monotonic() + timeout
    results: list[tuple[Asset, str | None]] = []
    with err().status("waiting for processing…"):
        for asset in assets:
            try:
                ready = client.wait_until_ready(
                    asset, timeout=max(0.0, deadline - time.monotonic()))
                results.append((ready, None))
            except ProcessingFailedError as exc:
                results.append((exc.asset, exc.asset.failure_reason or "processing failed"))
            except WaitTimeoutError:
                results.append((client.get(asset), f"still processing after {timeout:g} s"))
    return results
