"""`mediashelf upload`: files and folders, a progress bar each, then a summary table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

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

from mediashelf_client import (
    APIConnectionError,
    Asset,
    AuthenticationError,
    Client,
    MediashelfAPIError,
    Resume,
    ResumeStore,
)
from mediashelf_client._files import HashCache, media_files
from mediashelf_client._tus import default_store
from mediashelf_client.cli.common import (
    API_ERROR,
    BAD_ARGS,
    DEFAULT_URL,
    NOT_READY,
    ApiKey,
    AsJson,
    Timeout,
    TypeName,
    Url,
    connect,
    emit_json,
    err,
    exit_with,
    fail,
    out,
    size_text,
    status_text,
    wait_all,
)


@dataclass
class _Row:
    path: Path
    asset: Asset | None = None
    problem: str | None = None
    not_sent: bool = False
    skipped: bool = False  # the library already held its bytes: nothing was sent


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
    tag: Annotated[list[str] | None, typer.Option(
        "--tag", help="A tag for each file; repeat for several")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until each is READY or FAILED")
                    ] = False,
    dedupe: Annotated[bool, typer.Option(
        "--dedupe/--no-dedupe",
        help="Skip files the library already holds (checked by SHA-256 before sending); "
             "--no-dedupe sends and keeps every file")] = True,
    timeout: Timeout = 600, url: Url = DEFAULT_URL, api_key: ApiKey = None,
    as_json: AsJson = False,
) -> None:
    """Upload files with a progress bar each, then print a summary."""
    files = media_files(paths)
    if not files:
        fail(f"no media files in {', '.join(map(str, paths))}", BAD_ARGS)
    if name and len(files) > 1:
        fail("--name is for a single file", BAD_ARGS)
    rows = [_Row(f) for f in files]
    with connect(url, api_key) as client:
        if dedupe:
            _skip_held(client, rows)
        with _progress(err()) as progress:
            _send_all(client, [r for r in rows if not r.skipped], name,
                      type_.value if type_ else None, progress, dedupe, tag or [])
        sent = [r for r in rows if r.asset is not None]
        if wait and sent:
            for row, (asset, problem) in zip(
                    sent, wait_all(client, [r.asset for r in sent if r.asset], timeout),
                    strict=True):
                row.asset, row.problem = asset, problem
    _summary(rows, as_json)
    if any(r.not_sent for r in rows):
        exit_with(API_ERROR)
    if any(r.problem for r in rows):
        exit_with(NOT_READY)


def _skip_held(client: Client, rows: Sequence[_Row]) -> None:
    """Mark the files whose bytes the library already holds: hashed here (or remembered from
    an earlier run), asked in batches. An unreadable file is left for the upload to report."""
    cache = HashCache()
    try:
        digests = cache.digests([r.path for r in rows])
    finally:
        cache.close()
    held = client.find_existing(list(digests.values()))
    for row in rows:
        digest = digests.get(row.path)
        if digest in held:
            row.asset, row.skipped = held[digest], True


def _send_all(client: Client, rows: Sequence[_Row], name: str | None, type_: str | None,
              progress: Progress, dedupe: bool, tags: Sequence[str] = ()) -> None:
    sizes = [r.path.stat().st_size for r in rows]
    overall = progress.add_task(f"[bold]{len(rows)} files", total=sum(sizes),
                                visible=len(rows) > 1)
    tasks = [progress.add_task(escape(r.path.name), total=size, start=False)
             for r, size in zip(rows, sizes, strict=True)]
    done = 0
    store = default_store()  # where a stopped run's large files left off
    for row, task, size in zip(rows, tasks, sizes, strict=True):
        progress.start_task(task)
        try:
            row.asset = client.upload(row.path, name=name, type=type_, dedupe=dedupe,
                                      tags=tags,
                                      progress=_reporter(progress, task, overall, done),
                                      resume=_resume(store, row.path, client.base_url))
        except (AuthenticationError, APIConnectionError):
            raise  # nothing else will get through either
        except MediashelfAPIError as exc:
            row.problem, row.not_sent = exc.message, True
        except OSError as exc:
            row.problem, row.not_sent = f"cannot read: {exc.strerror or exc}", True
        done += size
        progress.update(task, completed=size)
        progress.update(overall, completed=done)


def _resume(store: ResumeStore, path: Path, base_url: str) -> Resume:
    """Resume the file's upload from an earlier run, and remember where this one gets to."""
    key = store.key(path, base_url)
    return Resume(store.get(key), lambda url: store.put(key, url))


def _reporter(progress: Progress, task: Any, overall: Any, before: int
              ) -> Callable[[int, int | None], None]:
    def report(sent: int, total: int | None) -> None:
        progress.update(task, completed=sent)
        progress.update(overall, completed=before + sent)
    return report


def _summary(rows: Sequence[_Row], as_json: bool) -> None:
    if as_json:
        emit_json([{"file": str(r.path), "asset": dict(r.asset.raw) if r.asset else None,
                    "error": r.problem, "skipped": r.skipped} for r in rows])
        return
    table = Table(Column("file", no_wrap=True), Column("id", no_wrap=True), "type", "status",
                  Column("size", no_wrap=True), Column("note", overflow="fold"), box=None)
    for r in rows:
        a = r.asset
        status = status_text(a) if a else "[red]NOT SENT[/]"
        table.add_row(escape(str(r.path)), a.id if a else "", a.type if a else "", status,
                      size_text(a.size_bytes if a and a.size_bytes else r.path.stat().st_size),
                      escape(r.problem or ("already in the library" if r.skipped else "")))
    out().print(table)
    sent = sum(1 for r in rows if r.asset and not r.skipped)
    skipped = sum(1 for r in rows if r.skipped)
    bad = sum(1 for r in rows if r.problem)
    err().print(f"{sent} of {len(rows)} uploaded"
                + (f", skipped {skipped} already in the library" if skipped else "")
                + (f", {bad} with problems" if bad else ""))

