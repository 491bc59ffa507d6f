"""The mediashelf command: serve, worker, keys, system import, assets restore, migrate."""

from __future__ import annotations

import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click import exceptions as click_exc  # Typer ships its own Click

from mediashelf.cli_human import register as register_human_commands
from mediashelf.errors import ConfigError, MediashelfError
from mediashelf.settings import Settings, load_settings

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="mediashelf: a self-hosted media asset library for AI video pipelines.")
keys_app = typer.Typer(no_args_is_help=True, help="Create, list and revoke API keys.")
system_app = typer.Typer(no_args_is_help=True, help="The shared system library.")
assets_app = typer.Typer(no_args_is_help=True, help="Administer assets.")
app.add_typer(keys_app, name="keys")
app.add_typer(system_app, name="system")
app.add_typer(assets_app, name="assets")
library_app = typer.Typer(no_args_is_help=True,
                          help="Move a whole library between backends (export, import).")
app.add_typer(library_app, name="library")
register_human_commands(app)  # ls, upload, import, get, rm, open: the SDK from a terminal


class Failure(Exception):
    """A one-line error for the user, and a non-zero exit."""


def _settings(quiet: bool = True, **flags: Any) -> Settings:
    """Settings from the environment; one-shot commands log only warnings, to keep output clean."""
    from mediashelf import logs

    settings = load_settings(**flags)
    logs.setup("WARNING" if quiet else settings.log_level)
    return settings


def _prepare(settings: Settings, *, with_worker: bool, seed: bool) -> Any:
    """Open everything, bring the schema up to date, and make sure the system library exists."""
    from mediashelf.app import build_services
    from mediashelf.db import migrate
    from mediashelf.services.system_library import SystemLibrary

    services = build_services(settings, with_worker=with_worker)
    try:
        migrate.upgrade(services.db)
        library = SystemLibrary(services.db, services.assets)
        library.ensure_tenant()
        if seed and settings.seed_music:
            # Rendering the music takes a while the first time: do not hold up the start.
            threading.Thread(target=_seed_music, args=(library,), daemon=True).start()
    except BaseException:
        services.close()
        raise
    return services


def _seed_music(library: Any) -> None:
    import logging

    try:
        library.seed_music()
    except Exception:
        logging.getLogger("mediashelf.system").exception("music.seed_failed")


@contextmanager
def _admin() -> Iterator[Any]:
    """Services for a one-shot admin command (no worker), closed when it is done."""
    services = _prepare(_settings(), with_worker=False, seed=False)
    try:
        yield services
    finally:
        services.close()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on [MEDIASHELF_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [MEDIASHELF_PORT]")] = None,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="Run the API alone")] = False,
    workers: Annotated[int | None, typer.Option(
        help="API processes [MEDIASHELF_WEB_CONCURRENCY]; the embedded worker stays one")] = None,
) -> None:
    """Run the API, the web page and (unless --no-worker) an embedded worker."""
    import os

    import uvicorn

    from mediashelf.api.protocol import JsonErrorsProtocol
    from mediashelf.app import create_app

    settings = _settings(quiet=False, host=host, port=port, web_concurrency=workers)
    services = _prepare(settings, with_worker=not no_worker, seed=True)
    print(f"mediashelf {'API' if no_worker else 'API + worker'} on {settings.base_url}  "
          f"(data in {settings.data_dir})", flush=True)
    print(f"  web page: {settings.base_url}/   API docs: {settings.base_url}/docs", flush=True)
    print("  get an API key: mediashelf keys create --tenant NAME", flush=True)
    # uvicorn re-raises the stop signal once it has shut down gracefully; a quiet handler
    # turns that into a normal exit (status 0) instead of death by signal.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    # Our protocol refuses malformed and over-limit requests in JSON (api/protocol.py); with
    # no WebSocket protocol, an Upgrade request is answered as plain HTTP, by the app.
    options: dict[str, Any] = {"host": settings.host, "port": settings.port, "log_config": None,
                               "access_log": False, "timeout_graceful_shutdown": 30,
                               "server_header": False, "http": JsonErrorsProtocol, "ws": "none"}
    if settings.web_concurrency == 1:
        uvicorn.run(create_app(settings, run_worker=not no_worker, services=services), **options)
        return
    # Several API processes, each on its own listening socket (serving.py; each builds its app
    # from the environment); this process supervises them and runs the one embedded worker.
    from mediashelf.serving import serve_processes

    os.environ.update(MEDIASHELF_HOST=settings.host, MEDIASHELF_PORT=str(settings.port),
                      MEDIASHELF_DATA_DIR=str(settings.data_dir),
                      MEDIASHELF_DATABASE_URL=settings.database_url,
                      MEDIASHELF_STORAGE_URL=settings.storage_url)
    if services.worker is not None:
        services.worker.start()
    try:
        serve_processes(settings.web_concurrency, options)
    finally:
        services.close()


@app.command()
def worker() -> None:
    """Run a worker alone (for scaled deployments; pair with `serve --no-worker`)."""
    settings = _settings(quiet=False)
    services = _prepare(settings, with_worker=True, seed=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    services.worker.start()
    print(f"mediashelf worker {services.worker.name} running", flush=True)
    stop.wait()
    print("stopping: finishing the jobs in hand", flush=True)
    services.close()


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from mediashelf.app import build_services
    from mediashelf.db import migrate as migrations

    services = build_services(_settings(), with_worker=False)
    try:
        migrations.upgrade(services.db)
        print(f"database schema at revision {migrations.current(services.db)}")
    finally:
        services.close()


@keys_app.command("create")
def keys_create(tenant: Annotated[str, typer.Option(help="Tenant name (created if new)")]) -> None:
    """Create an API key for a tenant; the key is printed once, as the last line."""
    with _admin() as services:
        plain, key = services.keys.create(tenant)
    print(f"created key {key.prefix}… for tenant '{key.tenant_name}'; it is shown only now:",
          file=sys.stderr)
    print(plain)


@keys_app.command("revoke")
def keys_revoke(key: Annotated[str, typer.Argument(help="The key, or its prefix from `keys list`")]
                ) -> None:
    """Revoke an API key."""
    with _admin() as services:
        revoked = services.keys.revoke(key)
    print(f"revoked key {revoked.prefix}… of tenant '{revoked.tenant_name}'")


@keys_app.command("list")
def keys_list() -> None:
    """List API keys (prefixes only)."""
    from rich.console import Console
    from rich.table import Table

    with _admin() as services:
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
) -> None:
    """Add files to the system library, visible to every tenant, and process them."""
    from mediashelf.api.upload import parse_type
    from mediashelf.domain import AssetStatus
    from mediashelf.services.system_library import SystemLibrary

    declared = parse_type(type_.upper() if type_ else None)
    services = _prepare(_settings(), with_worker=True, seed=False)
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
    with _admin() as services:
        asset = services.assets.restore(parsed)
    print(f"restored {asset.id} ({asset.name})")


@library_app.command("export")
def library_export(folder: Annotated[Path, typer.Argument(help="A new or empty folder")]) -> None:
    """Copy tenants, key hashes, assets and stored files into a folder (stop writers first)."""
    from mediashelf.transfer import export_library

    with _admin() as services:
        done = export_library(services.db, services.storage, folder)
    print(f"exported {done.assets} assets ({done.objects} files, {done.bytes} bytes), "
          f"{done.tenants} tenants and {done.keys} keys to {folder}")


@library_app.command("import")
def library_import(folder: Annotated[Path, typer.Argument(help="A folder from `library export`",
                                                          exists=True, file_okay=False)]
                   ) -> None:
    """Load an export into this library, which must be new (no assets, no keys)."""
    from mediashelf.transfer import import_library

    with _admin() as services:
        done = import_library(services.db, services.storage, folder)
    print(f"imported {done.assets} assets ({done.objects} files, {done.bytes} bytes), "
          f"{done.tenants} tenants and {done.keys} keys from {folder}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: run a command; errors become one line on stderr and a non-zero exit."""
    try:
        code = app(args=argv, standalone_mode=False)  # returns, not raises, a typer.Exit code
        if isinstance(code, int) and code:
            sys.exit(code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(130)
    except click_exc.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except (MediashelfError, Failure) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        print(f"error: {_describe(exc)}", file=sys.stderr)
        sys.exit(1)


def _describe(exc: Exception) -> str:
    from sqlalchemy.exc import OperationalError

    if isinstance(exc, OperationalError):
        return "cannot reach the database (check MEDIASHELF_DATABASE_URL)"
    if isinstance(exc, PermissionError | FileNotFoundError):
        return f"cannot use the data folder: {exc.strerror} ({exc.filename})"
    return f"{type(exc).__name__}: {exc}"
