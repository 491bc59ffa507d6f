"""The library from a terminal, over the SDK: ls, upload, import, get, rm, open.

Tables and progress for people, `--json` for scripts (JSON only on stdout), colour only on a
terminal, and exit statuses a script can branch on (see EXIT_CODES).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import mimetypes
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, NoReturn
from urllib.parse import unquote, urlsplit

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Column, Table

from mediashelf import (
    APIConnectionError,
    Asset,
    AuthenticationError,
    Client,
    MediashelfAPIError,
    NotFoundError,
    ProcessingFailedError,
    WaitTimeoutError,
)

OK, API_ERROR, BAD_ARGS, NOT_FOUND, AUTH, NOT_READY = 0, 1, 2, 3, 4, 5
EXIT_CODES = ("Exit status: 0 ok; 1 API or network error; 2 bad arguments; 3 not found; "
              "4 missing or rejected API key; 5 processing failed, not ready, or timed out.")
MEDIA_SUFFIXES = frozenset({
    ".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".avif",
    ".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".mpg", ".mpeg", ".ts", ".3gp", ".flv",
    ".ogv", ".mp3", ".m4a", ".aac", ".wav", ".flac", ".ogg", ".oga", ".opus",
})


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


def _out() -> Console:
    console = Console(highlight=False, soft_wrap=False)
    return console if console.is_terminal else Console(highlight=False, width=160)


def _err() -> Console:
    return Console(stderr=True, highlight=False)


def _exit(code: int) -> NoReturn:
    # SystemExit, not typer.Exit: `app(standalone_mode=False)` in cli.main returns the code of a
    # typer.Exit instead of raising it, so its status would be lost.
    raise SystemExit(code)


def _fail(message: str, code: int) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    _exit(code)


def _emit(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


@contextmanager
def _client(url: str, api_key: str | None) -> Iterator[Client]:
    """A Client; SDK errors become one `error: …` line on stderr and a documented exit status."""
    if not api_key:
        _fail("no API key: pass --api-key or set MEDIASHELF_API_KEY "
              "(an admin creates one with `mediashelf keys create --tenant NAME`)", AUTH)
    try:
        with Client(url, api_key, max_retries=2) as client:
            yield client
    except ValueError as exc:
        _fail(str(exc), BAD_ARGS)
    except MediashelfAPIError as exc:
        _fail(exc.message, _code(exc))


def _code(exc: MediashelfAPIError) -> int:
    if isinstance(exc, NotFoundError):
        return NOT_FOUND
    if isinstance(exc, AuthenticationError):
        return AUTH
    if isinstance(exc, ProcessingFailedError | WaitTimeoutError):
        return NOT_READY
    return API_ERROR


# --- formatting -------------------------------------------------------------------------------

def _size(n: int | None) -> str:
    if n is None:
        return ""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return ""


def _duration(ms: int | None) -> str:
    if ms is None:
        return ""
    seconds = round(ms / 1000)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _count(n: int | None) -> str:
    return "? assets" if n is None else f"{n} asset{'' if n == 1 else 's'}"


def _shape(a: Asset) -> str:
    dims = f"{a.width}x{a.height}" if a.width and a.height else ""
    return " · ".join(p for p in (dims, _duration(a.duration_ms)) if p)


def _age(when: dt.datetime | None) -> str:
    if when is None:
        return ""
    seconds = (dt.datetime.now(dt.UTC) - when).total_seconds()
    for limit, div, unit in ((60, 1, "s"), (3600, 60, "m"), (86400, 3600, "h"),
                             (86400 * 30, 86400, "d")):
        if seconds < limit:
            return f"{max(0, int(seconds // div))}{unit} ago"
    return when.date().isoformat()


def _when(when: dt.datetime | None) -> str:
    return f"{when:%Y-%m-%d %H:%M:%S %Z} ({_age(when)})" if when else ""


_STATUS_STYLE = {"READY": "green", "PROCESSING": "yellow", "FAILED": "red"}


def _status(a: Asset) -> str:
    return f"[{_STATUS_STYLE.get(a.status, '')}]{a.status}[/]"


def _name(a: Asset) -> str:
    return escape(a.name or "") + (" [dim](system)[/]" if a.is_system else "")


def _asset_table(assets: Sequence[Asset]) -> Table:
    table = Table(Column("id", no_wrap=True), Column("name", overflow="fold"), "type", "status",
                  Column("size", no_wrap=True), Column("shape", no_wrap=True),
                  Column("age", no_wrap=True), box=None)
    for a in assets:
        table.add_row(a.id, _name(a), a.type, _status(a), _size(a.size_bytes), _shape(a),
                      _age(a.created_at))
    return table


# --- commands ---------------------------------------------------------------------------------

def ls(
    type_: Annotated[list[TypeName] | None, typer.Option(
        "--type", "-t", case_sensitive=False, help="AUDIO, IMAGE or VIDEO; repeat for several")
    ] = None,
    status: Annotated[list[StatusName] | None, typer.Option(
        "--status", "-s", case_sensitive=False,
        help="PROCESSING, READY or FAILED; repeat for several (default: READY)")] = None,
    all_: Annotated[bool, typer.Option("--all", "-a", help="Every page, not just one")] = False,
    page: Annotated[int, typer.Option(min=1, help="Page to show")] = 1,
    page_size: Annotated[int, typer.Option(min=1, max=100, help="Assets per page")] = 20,
    url: Url = DEFAULT_URL, api_key: ApiKey = None, as_json: AsJson = False,
) -> None:
    """List assets, newest first: id, name, type, status, size, dimensions/duration, age."""
    types, statuses = [t.value for t in type_ or []], [s.value for s in status or []]
    with _client(url, api_key) as client:
        if all_:
            assets = list(client.iter_assets(type=types, status=statuses))
            footer = _count(len(assets))
        else:
            result = client.list(type=types, status=statuses, page=page, page_size=page_size)
            assets = list(result.items)
            footer = f"page {result.page} of {result.total_pages} · {_count(result.total_count)}"
            if result.has_next:
                footer += f" (next: --page {result.page + 1}, or --all)"
    if as_json:
        _emit([dict(a.raw) for a in assets])
        return
    if assets:
        _out().print(_asset_table(assets))
    _err().print(f"[dim]{footer}[/]" if assets or all_ else f"[dim]no assets · {footer}[/]")


def _fetch(url: str, api_key: str | None, asset_id: str) -> Asset:
    with _client(url, api_key) as client:
        try:
            return client.get(asset_id)
        except NotFoundError:
            _fail(f"no asset {asset_id}", NOT_FOUND)


def get(asset_id: Annotated[str, typer.Argument(help="The asset's id")],
        url: Url = DEFAULT_URL, api_key: ApiKey = None, as_json: AsJson = False) -> None:
    """Show one asset: every field, its URLs and its technical metadata."""
    asset = _fetch(url, api_key, asset_id)
    if as_json:
        _emit(dict(asset.raw))
        return
    table = Table(box=None, show_header=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")  # URLs whole, for copying
    rows = [("id", asset.id), ("name", _name(asset)), ("type", asset.type),
            ("status", _status(asset)), ("failure", escape(asset.failure_reason or "")),
            ("mime type", asset.mime_type or ""), ("size", _size(asset.size_bytes)),
            ("shape", _shape(asset)), ("created", _when(asset.created_at)),
            ("file URL", escape(asset.file_url or "")),
            ("thumbnail", escape(asset.thumbnail_url or ""))]
    rows += [(k, escape(json.dumps(v) if not isinstance(v, str) else v))
             for k, v in sorted(asset.metadata.items())]
    for key, value in rows:
        if value:
            table.add_row(key, value)
    _out().print(table)


def rm(asset_ids: Annotated[list[str], typer.Argument(help="One or more asset ids")],
       url: Url = DEFAULT_URL, api_key: ApiKey = None, as_json: AsJson = False) -> None:
    """Delete assets (an admin can bring one back within the grace period)."""
    deleted, missing = [], []
    with _client(url, api_key) as client:
        for asset_id in asset_ids:
            try:
                client.delete(asset_id)
                deleted.append(asset_id)
            except NotFoundError:
                missing.append(asset_id)
                print(f"error: no asset {asset_id}", file=sys.stderr)
    if as_json:
        _emit({"deleted": deleted, "notFound": missing})
    else:
        for asset_id in deleted:
            print(f"deleted {asset_id}")
    if missing:
        _exit(NOT_FOUND)


def open_(asset_id: Annotated[str, typer.Argument(help="The asset's id")],
          thumbnail: Annotated[bool, typer.Option("--thumbnail", help="The thumbnail's URL instead")
                              ] = False,
          url: Url = DEFAULT_URL, api_key: ApiKey = None, as_json: AsJson = False) -> None:
    """Print the asset's file URL (signed: it works without the key, until it expires)."""
    asset = _fetch(url, api_key, asset_id)
    link = asset.thumbnail_url if thumbnail else asset.file_url
    if not link:
        _fail(f"asset {asset.id} is {asset.status}: it has no "
              f"{'thumbnail' if thumbnail else 'file'} URL", NOT_READY)
    if as_json:
        _emit({"id": asset.id, "status": asset.status, "fileUrl": asset.file_url,
               "thumbnailUrl": asset.thumbnail_url})
    else:
        print(link)


def import_(
    source: Annotated[str, typer.Argument(metavar="URL", help="An https:// URL to fetch")],
    name: Annotated[str | None, typer.Option(help="Name (default: the URL's file name)")] = None,
    type_: Annotated[TypeName | None, typer.Option(
        "--type", case_sensitive=False,
        help="AUDIO, IMAGE or VIDEO (default: guessed from the URL)")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until READY or FAILED")] = False,
    timeout: Timeout = 600, url: Url = DEFAULT_URL, api_key: ApiKey = None,
    as_json: AsJson = False,
) -> None:
    """Have the server fetch a file from a URL into the library."""
    path = PurePosixPath(unquote(urlsplit(source).path))
    chosen = type_.value if type_ else _guess_type(path.name)
    if chosen is None:
        _fail("cannot tell the type from the URL: pass --type AUDIO, IMAGE or VIDEO", BAD_ARGS)
    with _client(url, api_key) as client:
        asset = client.import_url(source, name or path.name or source, chosen)
        asset, problem = _await(client, [asset], timeout)[0] if wait else (asset, None)
    if as_json:
        _emit(dict(asset.raw))
    else:
        note = f"  ({problem})" if problem else ""
        print(f"{asset.id}  {asset.status:<10}  {asset.type:<5}  {asset.name or ''}{note}")
    if problem:
        _exit(NOT_READY)


def _guess_type(filename: str) -> str | None:
    mime = mimetypes.guess_type(filename)[0] or ""
    kind = mime.split("/")[0].upper()
    return kind if kind in TypeName.__members__ else None


def _await(client: Client, assets: Sequence[Asset], timeout: float
           ) -> list[tuple[Asset, str | None]]:
    """Wait for each asset until one deadline; each comes back with a problem, or None."""
    deadline = time.monotonic() + timeout
    results: list[tuple[Asset, str | None]] = []
    with _err().status("waiting for processing…"):
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


@dataclass
class _Row:
    path: Path
    asset: Asset | None = None
    problem: str | None = None
    not_sent: bool = False


def _collect(paths: Sequence[Path]) -> list[Path]:
    """Files as given; folders give their media files, hidden files and folders skipped."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(f for f in path.rglob("*") if f.is_file()
                            and f.suffix.lower() in MEDIA_SUFFIXES
                            and not any(p.startswith(".") for p in f.relative_to(path).parts))
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(), TimeRemainingColumn(), console=console,
                    disable=not console.is_terminal)


def upload(
    paths: Annotated[list[Path], typer.Argument(
        exists=True, readable=True, show_default=False, metavar="PATH",
        help="Files, and folders whose media files to upload (hidden ones skipped)")],
    name: Annotated[str | None, typer.Option(help="Name, for a single file (default: the file "
                                                  "name)")] = None,
    type_: Annotated[TypeName | None, typer.Option(
        "--type", case_sensitive=False,
        help="AUDIO, IMAGE or VIDEO (default: detected from the content)")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until each is READY or FAILED")
                    ] = False,
    timeout: Timeout = 600, url: Url = DEFAULT_URL, api_key: ApiKey = None,
    as_json: AsJson = False,
) -> None:
    """Upload files with a progress bar each, then print a summary."""
    files = _collect(paths)
    if not files:
        _fail(f"no media files in {', '.join(map(str, paths))}", BAD_ARGS)
    if name and len(files) > 1:
        _fail("--name is for a single file", BAD_ARGS)
    rows = [_Row(f) for f in files]
    with _client(url, api_key) as client:
        with _progress(_err()) as progress:
            _send_all(client, rows, name, type_.value if type_ else None, progress)
        sent = [r for r in rows if r.asset is not None]
        if wait and sent:
            for row, (asset, problem) in zip(
                    sent, _await(client, [r.asset for r in sent if r.asset], timeout),
                    strict=True):
                row.asset, row.problem = asset, problem
    _summary(rows, as_json)
    if any(r.not_sent for r in rows):
        _exit(API_ERROR)
    if any(r.problem for r in rows):
        _exit(NOT_READY)


def _send_all(client: Client, rows: Sequence[_Row], name: str | None, type_: str | None,
              progress: Progress) -> None:
    sizes = [r.path.stat().st_size for r in rows]
    overall = progress.add_task(f"[bold]{len(rows)} files", total=sum(sizes),
                                visible=len(rows) > 1)
    tasks = [progress.add_task(escape(r.path.name), total=size, start=False)
             for r, size in zip(rows, sizes, strict=True)]
    done = 0
    for row, task, size in zip(rows, tasks, sizes, strict=True):
        progress.start_task(task)
        try:
            row.asset = client.upload(row.path, name=name, type=type_,
                                      progress=_reporter(progress, task, overall, done))
        except (AuthenticationError, APIConnectionError):
            raise  # nothing else will get through either
        except MediashelfAPIError as exc:
            row.problem, row.not_sent = exc.message, True
        except OSError as exc:
            row.problem, row.not_sent = f"cannot read: {exc.strerror or exc}", True
        done += size
        progress.update(task, completed=size)
        progress.update(overall, completed=done)


def _reporter(progress: Progress, task: Any, overall: Any, before: int
              ) -> Callable[[int, int | None], None]:
    def report(sent: int, total: int | None) -> None:
        progress.update(task, completed=sent)
        progress.update(overall, completed=before + sent)
    return report


def _summary(rows: Sequence[_Row], as_json: bool) -> None:
    if as_json:
        _emit([{"file": str(r.path), "asset": dict(r.asset.raw) if r.asset else None,
                "error": r.problem} for r in rows])
        return
    table = Table(Column("file", no_wrap=True), Column("id", no_wrap=True), "type", "status",
                  Column("size", no_wrap=True), Column("note", overflow="fold"), box=None)
    for r in rows:
        a = r.asset
        status = _status(a) if a else "[red]NOT SENT[/]"
        table.add_row(escape(str(r.path)), a.id if a else "", a.type if a else "", status,
                      _size(a.size_bytes if a and a.size_bytes else r.path.stat().st_size),
                      escape(r.problem or ""))
    _out().print(table)
    sent = sum(1 for r in rows if r.asset)
    bad = sum(1 for r in rows if r.problem)
    _err().print(f"{sent} of {len(rows)} uploaded" + (f", {bad} with problems" if bad else ""))


def register(app: typer.Typer) -> None:
    """Add the commands to the `mediashelf` command."""
    for name, command in (("ls", ls), ("upload", upload), ("import", import_), ("get", get),
                          ("rm", rm), ("open", open_)):
        app.command(name, epilog=EXIT_CODES)(command)
