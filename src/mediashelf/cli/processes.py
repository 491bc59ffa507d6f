"""Several API processes on one port, each on a listening socket of its own.

uvicorn's --workers shares one listening socket between its processes: whichever process wakes
first accepts a whole burst of new connections, so a client's pool of keep-alive connections
often lands on one process while the others idle (measured here: one of two processes served
every connection in about a third of 4-second load runs, at half the throughput). With
SO_REUSEPORT every process listens on a socket of its own and Linux spreads new connections
across them by address hash. Elsewhere (macOS hands all of them to one socket) uvicorn's own
supervisor is used.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import sys
import threading
from multiprocessing.process import BaseProcess
from typing import Any

from uvicorn.config import STARTUP_FAILURE  # the exit code of an app or socket that cannot start

from mediashelf.metrics import process_gone

log = logging.getLogger("mediashelf.serve")

APP = "mediashelf.app:create_app_from_env"


def balanced() -> bool:
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def serve_processes(processes: int, options: dict[str, Any]) -> None:
    """Run `processes` API processes until SIGTERM or SIGINT; one that dies is replaced."""
    import uvicorn

    if not balanced() or not options.get("port"):  # port 0: each process would get its own
        uvicorn.run(APP, factory=True, workers=processes, **options)
        return
    # Bound but never listening: holds the port (a taken port fails here, at once) and
    # receives no connections itself.
    holder = _socket(options["host"], options["port"])
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    spawn = multiprocessing.get_context("spawn")

    def start() -> BaseProcess:
        proc = spawn.Process(target=_child, args=(options,), name="mediashelf-api")
        proc.start()
        return proc

    children = [start() for _ in range(processes)]
    try:
        while not stop.wait(0.5):
            for i, proc in enumerate(children):
                if proc.is_alive():
                    continue
                if proc.exitcode == STARTUP_FAILURE:
                    log.error("serve.start_failed", extra={"pid": proc.pid})
                    stop.set()
                    break
                log.warning("serve.process_died", extra={"pid": proc.pid,
                                                         "exitcode": proc.exitcode})
                if proc.pid is not None:  # its requests in flight are not ours any more
                    process_gone(proc.pid)
                children[i] = start()
    finally:
        for proc in children:
            if proc.is_alive():
                proc.terminate()  # SIGTERM: uvicorn finishes the requests in hand
        for proc in children:
            proc.join(float(options.get("timeout_graceful_shutdown") or 30) + 10)
            if proc.is_alive():
                proc.kill()
                proc.join()
            if proc.pid is not None:
                process_gone(proc.pid)
        holder.close()
    if any(proc.exitcode == STARTUP_FAILURE for proc in children):
        sys.exit(STARTUP_FAILURE)


def _socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        log.error("serve.bind_failed", extra={"error": str(exc)})
        sys.exit(STARTUP_FAILURE)
    return sock


def _child(options: dict[str, Any]) -> None:
    import uvicorn

    sock = _socket(options["host"], options["port"])
    server = uvicorn.Server(uvicorn.Config(APP, factory=True, **options))
    try:
        server.run(sockets=[sock])
    except SystemExit:  # the app could not be loaded (uvicorn has logged why)
        if server.started:
            raise
    if not server.started:  # so that the parent stops instead of restarting it for ever
        sys.exit(STARTUP_FAILURE)
