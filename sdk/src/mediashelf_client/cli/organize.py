"""Organizing from a terminal: rename, tag, trash and restore."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Column, Table

from mediashelf_client.cli.common import (
    BAD_ARGS,
    DEFAULT_URL,
    ApiKey,
    AsJson,
    Url,
    age_text,
    connect,
    count_text,
    emit_json,
    err,
    fail,
    out,
    tags_text,
    when_text,
)

AssetId = Annotated[str, typer.Argument(help="The asset's id")]


def rename(asset_id: AssetId,
           name: Annotated[str, typer.Argument(help="The new name (1-256 characters)")],
           url: Url = DEFAULT_URL, api_key: ApiKey = None, as_json: AsJson = False) -> None:
    """Rename an asset (system assets are read-only)."""
    with connect(url, api_key) as client:
        asset = client.update(asset_id, name=name)
    if as_json:
        emit_json(dict(asset.raw))
    else:
        print(f"{asset.id}  {asset.name or ''}")


def tag(asset_id: AssetId,
        changes: Annotated[list[str], typer.Argument(
            metavar="[+TAG|-TAG]...",
            help="+tag (or a bare tag) to add, -tag to remove; quote tags with spaces")],
        url: Url = DEFAULT_URL, api_key: ApiKey = None, as_json: AsJson = False) -> None:
    """Add and remove an asset's tags: `mediashelf tag ID +beach +drone -draft`."""
    add = [c[1:] if c.startswith("+") else c for c in changes if not c.startswith("-")]
    remove = [c[1:] for c in changes if c.startswith("-")]
    if not any(t.strip() for t in add + remove):
        fail("name tags to add (+tag) or remove (-tag)", BAD_ARGS)
    with connect(url, api_key) as client:
        asset = client.tag(asset_id, add=add, remove=remove)
    if as_json:
        emit_json(dict(asset.raw))
    else:
        print(f"{asset.id}  {', '.join(asset.tags) or '(no tags)'}")


def trash(page: Annotated[int, typer.Option(min=1, help="Page to show")] = 1,
          page_size: Annotated[int, typer.Option(min=1, max=100, help="Assets per page")] = 20,
          url: Url = DEFAULT_URL, api_key: ApiKey = None, as_json: AsJson = False) -> None:
    """Deleted assets still within the grace period, newest deletion first."""
    with connect(url, api_key) as client:
        result = client.trash(page=page, page_size=page_size)
    if as_json:
        emit_json([dict(a.raw) for a in result.items])
        return
    if result.items:
        table = Table(Column("id", no_wrap=True), Column("name", overflow="fold"), "type",
                      Column("deleted", no_wrap=True), Column("purged", no_wrap=True),
                      Column("tags", overflow="fold"), box=None)
        for a in result.items:
            table.add_row(a.id, escape(a.name or ""), a.type, age_text(a.deleted_at),
                          when_text(a.purge_at), tags_text(a))
        out().print(table)
    footer = f"page {result.page} of {result.total_pages} · {count_text(result.total_count)}"
    err().print(f"[dim]{footer} · mediashelf restore ID brings one back[/]" if result.items
                else f"[dim]the trash is empty · {footer}[/]")


def restore(asset_ids: Annotated[list[str], typer.Argument(help="One or more asset ids")],
            url: Url = DEFAULT_URL, api_key: ApiKey = None, as_json: AsJson = False) -> None:
    """Bring back deleted assets within the grace period."""
    with connect(url, api_key) as client:
        back = [client.restore(asset_id) for asset_id in asset_ids]
    if as_json:
        emit_json([dict(a.raw) for a in back])
    else:
        for asset in back:
            print(f"restored {asset.id}  {asset.name or ''}")
