"""The library from a terminal, over the SDK: ls, upload, import, get, rm, open.

Tables and progress for people, `--json` for scripts (JSON only on stdout), colour only on a
terminal, and exit statuses a script can branch on (see EXIT_CODES). Upload is in upload.py,
what the commands share in common.py.
"""

from __future__ import annotations

import enum
import json
import mimetypes
import sys
from pathlib import PurePosixPath
from typing import Annotated
from urllib.parse import unquote, urlsplit

import typer
from rich.markup import escape
from rich.table import Table

from mediashelf_client import Asset, NotFoundError, PermissionDeniedError
from mediashelf_client.cli.common import (
    BAD_ARGS,
    DEFAULT_URL,
    EXIT_CODES,
    NOT_FOUND,
    NOT_READY,
    READ_ONLY,
    ApiKey,
    AsJson,
    StatusName,
    Timeout,
    TypeName,
    Url,
    asset_table,
    choices,
    connect,
    count_text,
    emit_json,
    err,
    exit_with,
    fail,
    name_text,
    out,
    shape_text,
    size_text,
    status_text,
    tags_text,
    wait_all,
    when_text,
)
from mediashelf_client.cli.organize import rename, restore, tag, trash
from mediashelf_client.cli.upload import upload


class SortName(enum.StrEnum):
    NEWEST = "-createdAt"
    OLDEST = "createdAt"
    NAME = "name"
    NAME_DESC = "-name"
    LARGEST = "-sizeBytes"
    LONGEST = "-durationMs"


class ScopeName(enum.StrEnum):
    MINE = "mine"
    SYSTEM = "system"


def ls(
    type_: Annotated[list[str] | None, typer.Option(
        "--type", "-t", help="AUDIO, IMAGE or VIDEO; repeat or separate with commas")] = None,
    status: Annotated[list[str] | None, typer.Option(
        "--status", "-s",
        help="PROCESSING, READY or FAILED; repeat or separate with commas (default: READY)")
    ] = None,
    q: Annotated[str | None, typer.Option(
        "--query", "-q", help="Words of names and tags, each matched as a word prefix")] = None,
    tag: Annotated[list[str] | None, typer.Option(
        "--tag", help="Only assets with this tag; repeat for several (all must match)")] = None,
    sort: Annotated[SortName, typer.Option(
        help="Order: -createdAt, createdAt, name, -name, -sizeBytes or -durationMs")
    ] = SortName.NEWEST,
    scope: Annotated[ScopeName | None, typer.Option(
        help="mine (your own assets) or system (the shared library); default both")] = None,
    all_: Annotated[bool, typer.Option("--all", "-a", help="Every page, not just one")] = False,
    page: Annotated[int, typer.Option(min=1, help="Page to show")] = 1,
    page_size: Annotated[int, typer.Option(min=1, max=100, help="Assets per page")] = 20,
    url: Url = DEFAULT_URL, api_key: ApiKey = None, as_json: AsJson = False,
) -> None:
    """List assets, newest first: id, name, type, status, size, dimensions/duration, age."""
    types = choices(type_, TypeName, "--type")
    statuses = choices(status, StatusName, "--status")
    where = scope.value if scope else None
    with connect(url, api_key) as client:
        if all_:
            assets = list(client.iter_assets(type=types, status=statuses, q=q, tags=tag,
                                             sort=sort.value, scope=where))
            footer = count_text(len(assets))
        else:
            result = client.list(type=types, status=statuses, page=page, page_size=page_size,
                                 q=q, tags=tag, sort=sort.value, scope=where)
            assets = list(result.items)
            footer = (f"page {result.page} of {result.total_pages} · "
                      f"{count_text(result.total_count)}")
            if result.has_next:
                footer += f" (next: --page {result.page + 1}, or --all)"
    if as_json:
        emit_json([dict(a.raw) for a in assets])
        return
    if assets:
        out().print(asset_table(assets))
    err().print(f"[dim]{footer}[/]" if assets or all_ else f"[dim]no assets · {footer}[/]")


def _fetch(url: str, api_key: str | None, asset_id: str) -> Asset:
    with connect(url, api_key) as client:
        try:
            return client.get(asset_id)
        except NotFoundError:
            fail(f"no asset {asset_id}", NOT_FOUND)


def get(asset_id: Annotated[str, typer.Argument(help="The asset's id")],
        url: Url = DEFAULT_URL, api_key: ApiKey = None, as_json: AsJson = False) -> None:
    """Show one asset: every field, its URLs and its technical metadata."""
    asset = _fetch(url, api_key, asset_id)
    if as_json:
        emit_json(dict(asset.raw))
        return
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold", no_wrap=True, min_width=_KEY_WIDTH)
    table.add_column(overflow="fold")
    rows = [("id", asset.id), ("name", name_text(asset)), ("type", asset.type),
            ("status", status_text(asset)), ("failure", escape(asset.failure_reason or "")),
            ("mime type", asset.mime_type or ""), ("size", size_text(asset.size_bytes)),
            ("shape", shape_text(asset)), ("created", when_text(asset.created_at)),
            ("tags", tags_text(asset))]
    rows += [(k, escape(json.dumps(v) if not isinstance(v, str) else v))
             for k, v in sorted(asset.metadata.items())]
    for key, value in rows:
        if value:
            table.add_row(key, value)
    out().print(table)
    # URLs last and outside rich, which would wrap them at the terminal's width: one line
    # each, whole, so that a double-click selects all of it.
    for key, link in (("file URL", asset.file_url), ("thumbnail", asset.thumbnail_url)):
        if link:
            print(f"{key:<{_KEY_WIDTH}} {link}", flush=True)


_KEY_WIDTH = 10


def rm(asset_ids: Annotated[list[str], typer.Argument(help="One or more asset ids")],
       url: Url = DEFAULT_URL, api_key: ApiKey = None, as_json: AsJson = False) -> None:
    """Delete assets (an admin can bring one back within the grace period)."""
    deleted, missing, refused = [], [], []
    with connect(url, api_key) as client:
        for asset_id in asset_ids:
            try:
                client.delete(asset_id)
                deleted.append(asset_id)
            except NotFoundError as exc:
                missing.append(asset_id)
                why = exc.message.partition(": ")[2]  # a system asset's 404 says why
                print(f"error: no asset {asset_id}" + (f" ({why})" if why else ""),
                      file=sys.stderr)
            except PermissionDeniedError as exc:
                refused.append(asset_id)
                print(f"error: {asset_id}: {exc.message}", file=sys.stderr)
    if as_json:
        emit_json({"deleted": deleted, "notFound": missing, "readOnly": refused})
    else:
        for asset_id in deleted:
            print(f"deleted {asset_id}")
    if missing:
        exit_with(NOT_FOUND)
    if refused:
        exit_with(READ_ONLY)


def open_(asset_id: Annotated[str, typer.Argument(help="The asset's id")],
          thumbnail: Annotated[bool, typer.Option("--thumbnail", help="The thumbnail's URL instead")
                              ] = False,
          url: Url = DEFAULT_URL, api_key: ApiKey = None, as_json: AsJson = False) -> None:
    """Print the asset's file URL (signed: it works without the key, until it expires)."""
    asset = _fetch(url, api_key, asset_id)
    link = asset.thumbnail_url if thumbnail else asset.file_url
    if not link:
        fail(f"asset {asset.id} is {asset.status}: it has no "
             f"{'thumbnail' if thumbnail else 'file'} URL", NOT_READY)
    if as_json:
        emit_json({"id": asset.id, "status": asset.status, "fileUrl": asset.file_url,
                    "thumbnailUrl": asset.thumbnail_url})
    else:
        print(link)


def import_(
    source: Annotated[str, typer.Argument(metavar="URL", help="An https:// URL to fetch")],
    name: Annotated[str | None, typer.Option(help="Name (default: the URL's file name)")] = None,
    type_: Annotated[TypeName | None, typer.Option(
        "--type", case_sensitive=False,
        help="AUDIO, IMAGE or VIDEO (default: guessed from the URL)")] = None,
    tag: Annotated[list[str] | None, typer.Option(
        "--tag", help="A tag for the new asset; repeat for several")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until READY or FAILED")] = False,
    dedupe: Annotated[bool, typer.Option(
        "--dedupe/--no-dedupe", help="A URL the library already imported (and still holds) "
                                     "answers that asset; --no-dedupe imports it again")] = True,
    timeout: Timeout = 600, url: Url = DEFAULT_URL, api_key: ApiKey = None,
    as_json: AsJson = False,
) -> None:
    """Have the server fetch a file from a URL into the library."""
    path = PurePosixPath(unquote(urlsplit(source).path))
    chosen = type_.value if type_ else _guess_type(path.name)
    if chosen is None:
        fail("cannot tell the type from the URL: pass --type AUDIO, IMAGE or VIDEO", BAD_ARGS)
    with connect(url, api_key) as client:
        asset = client.import_url(source, name or path.name or source, chosen, tags=tag or (),
                                  dedupe=dedupe)
        asset, problem = wait_all(client, [asset], timeout)[0] if wait else (asset, None)
    if as_json:
        emit_json(dict(asset.raw))
    else:
        note = f"  ({problem})" if problem else ""
        print(f"{asset.id}  {asset.status:<10}  {asset.type:<5}  {asset.name or ''}{note}")
    if problem:
        exit_with(NOT_READY)


def _guess_type(filename: str) -> str | None:
    mime = mimetypes.guess_type(filename)[0] or ""
    kind = mime.split("/")[0].upper()
    return kind if kind in TypeName.__members__ else None


def add_commands(app: typer.Typer) -> None:
    """Add ls, upload, import, get, rm, open, rename, tag, trash and restore to a `mediashelf`
    command."""
    for name, command in (("ls", ls), ("upload", upload), ("import", import_), ("get", get),
                          ("rm", rm), ("open", open_), ("rename", rename), ("trash", trash),
                          ("restore", restore)):
        app.command(name, epilog=EXIT_CODES)(command)
    # `tag ID +a -b`: "-b" is a tag to remove, not an option
    app.command("tag", epilog=EXIT_CODES,
                context_settings={"ignore_unknown_options": True})(tag)
    from mediashelf_client.cli.webhooks import app as webhooks

    app.add_typer(webhooks, name="webhooks", epilog=EXIT_CODES)
