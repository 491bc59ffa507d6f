"""`serve` (the API, the web page, an embedded worker) and `worker` (a worker alone)."""

from __future__ import annotations

import functools
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from mediashelf.cli.base import Failure, prepare, settings_from_env
from mediashelf.settings import Settings

log = logging.getLogger("mediashelf.serve")


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on [MEDIASHELF_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [MEDIASHELF_PORT]")] = None,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="Run the API alone")] = False,
    workers: Annotated[int | None, typer.Option(
        help="API processes [MEDIASHELF_WEB_CONCURRENCY]; the embedded worker stays one")] = None,
) -> None:
    """Run the API, the web page and (unless --no-worker) an embedded worker."""
    settings = settings_from_env(quiet=False, host=host, port=port, web_concurrency=workers)
    done = share_metrics(settings.web_concurrency)  # before anything imports prometheus_client
    try:
        _serve(settings, no_worker)
    finally:
        done()


def _serve(settings: Settings, no_worker: bool) -> None:
    import uvicorn

    from mediashelf.api.protocol import JsonErrorsProtocol
    from mediashelf.app import create_app

    # Only a process with a worker seeds the music: rendering it needs the decoders, which an
    # API-only process never loads, and its assets wait for a worker anyway.
    services = prepare(settings, with_worker=not no_worker, seed=not no_worker)
    role = "API" if no_worker else "API + worker"
    _say(settings, f"mediashelf {role} on {settings.base_url}  (data in {settings.data_dir})\n"
         f"  web page: {settings.base_url}/   API docs: {settings.base_url}/docs\n"
         "  get an API key: mediashelf keys create --tenant NAME",
         "serve.started", role=role, url=settings.base_url, data_dir=str(settings.data_dir),
         processes=settings.web_concurrency)
    # uvicorn re-raises the stop signal once it has shut down gracefully; a quiet handler
    # turns that into a normal exit (status 0) instead of death by signal.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    # Our protocol refuses malformed and over-limit requests in JSON (api/protocol.py); with
    # no WebSocket protocol, an Upgrade request is answered as plain HTTP, by the app.
    options: dict[str, Any] = {"host": settings.host, "port": settings.port, "log_config": None,
                               "access_log": False, "timeout_graceful_shutdown": 30,
                               "server_header": False, "ws": "none",
                               "http": functools.partial(JsonErrorsProtocol,
                                                         head_timeout=settings.head_timeout,
                                                         body_timeout=settings.body_timeout)}
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
    if services.worker is not None:  # its jobs yield the CPU to the API processes' requests
        services.worker.start(background=not services.db.one_writer)
    try:
        serve_processes(settings.web_concurrency, options)
    finally:
        services.close()


def share_metrics(processes: int) -> Callable[[], None]:
    """Set up prometheus-client's multiprocess mode when several processes serve the API: a
    private directory (removed at exit) unless the operator named one in
    PROMETHEUS_MULTIPROC_DIR, emptied at start either way. Returns what to do at exit."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if processes == 1 and not given:
        return _nothing
    if "prometheus_client" in sys.modules:  # it picked its kind of values at import: too late
        raise RuntimeError("prometheus_client was imported before PROMETHEUS_MULTIPROC_DIR")
    if given:
        folder = Path(given)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for stale in folder.glob("*.db"):  # the last run's values would be added to ours
                stale.unlink()
        except OSError as exc:
            raise Failure(f"PROMETHEUS_MULTIPROC_DIR: cannot use {given}: {exc.strerror}") \
                from None
        return _nothing
    made = tempfile.mkdtemp(prefix="mediashelf-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = made  # the API processes inherit it
    return lambda: shutil.rmtree(made, ignore_errors=True)


def worker(
    metrics_port: Annotated[int | None, typer.Option(
        help="Serve /healthz and /metrics on this port [MEDIASHELF_WORKER_METRICS_PORT]")] = None,
) -> None:
    """Run a worker alone (for scaled deployments; pair with `serve --no-worker`)."""
    settings = settings_from_env(quiet=False, worker_metrics_port=metrics_port)
    # A worker alone keeps its metrics in this process (its port serves them): a folder shared
    # with a `serve` would be emptied under it when that `serve` starts.
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    # Bound first, so that a taken port is a one-line error before anything starts.
    sock = None if settings.worker_metrics_port is None else _listen(settings)
    close_port: Callable[[], None] = _nothing
    services = None
    try:
        services = prepare(settings, with_worker=True, seed=True)
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        # its jobs yield the CPU to requests of API processes on the same machine
        services.worker.start(background=not services.db.one_writer)
        if sock is not None:
            close_port = _serve_port(settings, services, sock)
        _say(settings, f"mediashelf worker {services.worker.name} running", "worker.running",
             worker=services.worker.name)
        stop.wait()
        _say(settings, "stopping: finishing the jobs in hand", "worker.stopping",
             worker=services.worker.name)
    finally:
        close_port()
        if sock is not None:
            sock.close()
        if services is not None:
            services.close()


def _listen(settings: Settings) -> socket.socket:
    host, port = settings.host, settings.worker_metrics_port or 0
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise Failure(f"MEDIASHELF_WORKER_METRICS_PORT: cannot listen on {host}:{port}: "
                      f"{exc.strerror}") from None
    return sock


def _serve_port(settings: Settings, services: Any, sock: socket.socket) -> Callable[[], None]:
    """This worker's /healthz and /metrics on its own port, in a thread; returns the stop."""
    import uvicorn

    from mediashelf.api.worker_app import create_worker_app

    app = create_worker_app(services.worker, services.health, settings.worker_stale_after)
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, ws="none",
                                           lifespan="off", server_header=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name="worker-metrics", daemon=True)
    thread.start()
    host, bound = settings.host, sock.getsockname()[1]
    _say(settings, f"  health and metrics on http://{host}:{bound}/healthz and /metrics",
         "worker.port", host=host, port=bound)

    def close() -> None:
        server.should_exit = True
        thread.join(10)

    return close


def _nothing() -> None:
    pass


def _say(settings: Settings, text: str, event: str, **fields: Any) -> None:
    """What a command tells its operator: printed, or with JSON logs one event among the rest."""
    if settings.log_format == "json":
        log.info(event, extra=fields)
    else:
        print(text, flush=True)


def register(app: typer.Typer) -> None:
    """Add `serve` and `worker` to the command."""
    app.command()(serve)
    app.command()(worker)
