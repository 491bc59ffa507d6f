"""`serve` (the API, the web page, an embedded worker) and `worker` (a worker alone)."""

from __future__ import annotations

import os
import signal
import threading
from typing import Annotated, Any

import typer

from mediashelf.cli.base import prepare, settings_from_env


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on [MEDIASHELF_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [MEDIASHELF_PORT]")] = None,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="Run the API alone")] = False,
    workers: Annotated[int | None, typer.Option(
        help="API processes [MEDIASHELF_WEB_CONCURRENCY]; the embedded worker stays one")] = None,
) -> None:
    """Run the API, the web page and (unless --no-worker) an embedded worker."""
    import uvicorn

    from mediashelf.api.protocol import JsonErrorsProtocol
    from mediashelf.app import create_app

    settings = settings_from_env(quiet=False, host=host, port=port, web_concurrency=workers)
    # Only a process with a worker seeds the music: rendering it needs the decoders, which an
    # API-only process never loads, and its assets wait for a worker anyway.
    services = prepare(settings, with_worker=not no_worker, seed=not no_worker)
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
    # Several API processes, each on its own listening socket (processes.py; each builds its
    # app from the environment); this process supervises them and runs the one embedded worker.
    from mediashelf.cli.processes import serve_processes

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


def worker() -> None:
    """Run a worker alone (for scaled deployments; pair with `serve --no-worker`)."""
    settings = settings_from_env(quiet=False)
    services = prepare(settings, with_worker=True, seed=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    services.worker.start()
    print(f"mediashelf worker {services.worker.name} running", flush=True)
    stop.wait()
    print("stopping: finishing the jobs in hand", flush=True)
    services.close()


def register(app: typer.Typer) -> None:
    """Add `serve` and `worker` to the command."""
    app.command()(serve)
    app.command()(worker)
