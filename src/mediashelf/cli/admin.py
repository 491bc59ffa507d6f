"""Administration: keys, system import, assets restore, migrate, library export and import."""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path
from typing import Annotated

import typer

from mediashelf.cli.base import (
    Failure,
    admin_services,
    ensure_library,
    library_line,
    prepare,
    settings_from_env,
)

Init = Annotated[bool, typer.Option(
    "--init", help="Create a new library if there is none (by default: refuse)")]

keys_app = typer.Typer(no_args_is_help=True, help="Create, list and revoke API keys.")
system_app = typer.Typer(no_args_is_help=True, help="The shared system library.")
assets_app = typer.Typer(no_args_is_help=True, help="Administer assets.")
library_app = typer.Typer(no_args_is_help=True,
                          help="Move a whole library between backends (export, import).")


def register(app: typer.Typer) -> None:
    """Add `migrate` and the keys, system, assets and library groups to the command."""
    app.add_typer(keys_app, name="keys")
    app.add_typer(system_app, name="system")
    app.add_typer(assets_app, name="assets")
    app.add_typer(library_app, name="library")
    app.command()(migrate)


def migrate() -> None:
    """Bring the database schema up to date."""
    from mediashelf.app import build_services
    from mediashelf.db import migrate as migrations

    settings = settings_from_env()
    print(library_line(settings), file=sys.stderr, flush=True)
    services = build_services(settings, with_worker=False)
    try:
        migrations.upgrade(services.db)
        print(f"database schema at revision {migrations.current(services.db)}")
    finally:
        services.close()


@keys_app.command("create")
def keys_create(tenant: Annotated[str, typer.Option(help="Tenant name (created if new)")],
                init: Init = False) -> None:
    """Create an API key for a tenant; the key is printed once, as the last line."""
    with admin_services(init=init) as services:
        plain, key = services.keys.create(tenant)
    print(f"created key {key.prefix}… for tenant '{key.tenant_name}'; it is shown only now:",
          file=sys.stderr)
    print(plain)


@keys_app.command("revoke")
def keys_revoke(key: Annotated[str, typer.Argument(help="The key, or its prefix from `keys list`")]
                ) -> None:
    """Revoke an API key."""
    with admin_services() as services:
        revoked = services.keys.revoke(key)
    print(f"revoked key {revoked.prefix}… of tenant '{revoked.tenant_name}'")


@keys_app.command("list")
def keys_list() -> None:
    """List API keys (prefixes only)."""
    from rich.console import Console
    from rich.table import Table

    with admin_services() as services:
        keys = services.keys.list()
    table = Table("prefix", "tenant", "created", "last used", "status", box=None)
    for k in keys:
        table.add_row(k.prefix + "…", k.tenant_name, _when(k.created_ms),
                      _when(k.last_used_ms) if k.last_used_ms else "never",
                      "revoked" if k.revoked_ms else "active")
    Console().print(table)


def _when(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ms / 1000))


@system_app.command("import")
def system_import(
    paths: Annotated[list[Path], typer.Argument(help="Files to add", exists=True,
                                                dir_okay=False, readable=True)],
    type_: Annotated[str | None, typer.Option("--type", help="AUDIO, IMAGE or VIDEO")] = None,
    name: Annotated[str | None, typer.Option(help="Name (default: the file name)")] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for processing")] = 600,
    init: Init = False,
) -> None:
    """Add files to the system library, visible to every tenant, and process them."""
    from mediashelf.api.upload import parse_type
    from mediashelf.domain import AssetStatus
    from mediashelf.services.system_library import SystemLibrary

    declared = parse_type(type_.upper() if type_ else None)
    settings = settings_from_env()
    ensure_library(settings, init=init)
    # system assets raise no tenant events: a worker to process them, no webhook process
    services = prepare(settings, with_worker=True, seed=False, deliver=False)
    try:
        library = SystemLibrary(services.db, services.assets)
        added = [library.import_file(p, declared, name) for p in paths]
        services.worker.start()
        deadline = time.monotonic() + wait
        pending = {a.id for a in added}
        while pending and time.monotonic() < deadline:
            time.sleep(0.2)
            for asset_id in list(pending):
                if services.assets.peek(asset_id).status is not AssetStatus.PROCESSING:
                    pending.discard(asset_id)
        failed = 0
        for a in added:
            now = services.assets.peek(a.id)
            reason = f"  ({now.failure_reason})" if now.failure_reason else ""
            failed += now.status is AssetStatus.FAILED
            print(f"{now.id}  {now.status.value:<10}  {now.type.value:<5}  {now.name}{reason}")
    finally:
        services.close()
    if failed:
        raise Failure(f"{failed} of {len(added)} files failed")


@assets_app.command("restore")
def assets_restore(asset_id: Annotated[str, typer.Argument(help="The deleted asset's id")]
                   ) -> None:
    """Bring back a deleted asset within its grace period."""
    try:
        parsed = uuid.UUID(asset_id)
    except ValueError:
        raise Failure(f"'{asset_id}' is not an asset id") from None
    with admin_services() as services:
        asset = services.assets.restore(parsed)
    print(f"restored {asset.id} ({asset.name})")


@library_app.command("export")
def library_export(folder: Annotated[Path, typer.Argument(help="A new or empty folder")]) -> None:
    """Copy tenants, key hashes, assets and stored files into a folder (stop writers first)."""
    from mediashelf.services.transfer import export_library

    with admin_services() as services:
        done = export_library(services.db, services.storage, folder)
    print(f"exported {done.assets} assets ({done.objects} files, {done.bytes} bytes), "
          f"{done.tenants} tenants and {done.keys} keys, {done.webhooks} webhook endpoints "
          f"to {folder}")


@library_app.command("import")
def library_import(folder: Annotated[Path, typer.Argument(help="A folder from `library export`",
                                                          exists=True, file_okay=False)]
                   ) -> None:
    """Load an export into a new library (no assets, no keys), creating it if there is none."""
    from mediashelf.services.transfer import import_library

    with admin_services(init=True) as services:
        done = import_library(services.db, services.storage, folder)
    print(f"imported {done.assets} assets ({done.objects} files, {done.bytes} bytes), "
          f"{done.tenants} tenants and {done.keys} keys, {done.webhooks} webhook endpoints "
          f"from {folder}")
