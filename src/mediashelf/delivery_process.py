"""A worker's webhook deliverer in a process of its own.

In the worker's process, the deliverer's Python (claims, rendering, signing, storing outcomes)
took the GIL from the API's requests and the jobs beside it, and on PostgreSQL an upload holds
its tenant's shared rows while it waits for the GIL between statements: with one endpoint
subscribed, uploads were answered 10-30 % slower. Here it runs apart:
- the worker's process wakes it over a pipe after each commit that queued deliveries, one byte
  that never blocks (a full pipe already holds a wake);
- it sends its counts back over another pipe, and they are counted in the worker's /metrics;
- it stops when the wake pipe closes: at stop(), or when the worker's process dies without one
  (SIGKILL), so it never outlives the worker; its leases are the worker's (same owner);
- one that dies is started again, a second later (up to a minute if it keeps dying young);
- on PostgreSQL it runs at a lower CPU priority (nice +10): on a busy machine requests come
  first (not on SQLite, where it would be preempted holding the one write lock).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import select
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from mediashelf.services.delivery import Counted
from mediashelf.settings import Settings

log = logging.getLogger("mediashelf.delivery")

_SPAWN = multiprocessing.get_context("spawn")  # a fresh interpreter: no locks or threads copied
_FLUSH_S = 0.2  # how often the child sends its counts
_RESTART_S = (1.0, 60.0)  # the wait before starting another: doubled while each dies young
_YOUNG_S = 30.0
_READY_S = 60.0
_NICE = 10  # how much lower the child's CPU priority is than its worker's


class DelivererProcess:
    """The Companion a worker starts and stops: the deliverer, in a child process."""

    def __init__(self, settings: Settings, owner: str) -> None:
        self._settings, self._owner = settings, owner
        self._lock = threading.Lock()  # the wake pipe: not written while it is replaced
        self._wakes: Connection | None = None
        self._proc: BaseProcess | None = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self._restart_s = _RESTART_S[0]

    def start(self) -> None:
        self._launch()

    def wake(self) -> None:
        with self._lock:
            if self._wakes is None:
                return
            # full: a wake is waiting already; broken: the child is gone, and comes back
            with contextlib.suppress(BlockingIOError, BrokenPipeError):
                os.write(self._wakes.fileno(), b"w")

    def stop(self, timeout: float = 20.0) -> None:
        """Close the wake pipe: the child finishes its POSTs in flight (up to timeout), stores
        their outcomes, gives back the rest and exits."""
        self._stopping.set()
        self._drop_wakes()
        proc = self._proc
        if proc is not None:
            proc.join(timeout + 5)
            if proc.is_alive():
                log.warning("webhook.process_killed", extra={"pid": proc.pid})
                proc.kill()
                proc.join(5)
        if self._watcher is not None:
            self._watcher.join(5)

    def _launch(self) -> None:
        started = time.monotonic()
        wake_in, wake_out = _SPAWN.Pipe(duplex=False)
        counts_in, counts_out = _SPAWN.Pipe(duplex=False)
        os.set_blocking(wake_out.fileno(), False)
        proc = _SPAWN.Process(target=_child, args=(self._settings, self._owner, wake_in,
                                                    counts_out),
                              name="mediashelf-webhooks", daemon=True)
        proc.start()
        wake_in.close()  # the child's ends: it holds its own copies
        counts_out.close()
        _await_ready(proc, counts_in)
        with self._lock:
            self._wakes, self._proc = wake_out, proc
        if self._stopping.is_set():  # stop() came while this one started: it stops too
            self._drop_wakes()
        self._watcher = threading.Thread(target=self._watch, args=(proc, counts_in, started),
                                         name="webhook-process", daemon=True)
        self._watcher.start()

    def _watch(self, proc: BaseProcess, counts: Connection, started: float) -> None:
        """Count what the child reports until it exits; start another if it was not asked to."""
        tally = Counted()
        while True:
            try:
                batch = counts.recv()
            except (EOFError, OSError):
                break
            for kind, outcome, seconds in batch:
                if kind == "attempt":
                    tally.attempt(outcome, seconds)
                else:
                    tally.finished(outcome)
        counts.close()
        proc.join()
        if self._stopping.is_set():
            return
        log.warning("webhook.process_died", extra={"pid": proc.pid, "exitcode": proc.exitcode})
        if time.monotonic() - started >= _YOUNG_S:
            self._restart_s = _RESTART_S[0]
        wait, self._restart_s = self._restart_s, min(_RESTART_S[1], self._restart_s * 2)
        if self._stopping.wait(wait):
            return
        self._drop_wakes()
        self._launch()

    def _drop_wakes(self) -> None:
        """Close the wake pipe: its child, if alive, stops."""
        with self._lock:
            wakes, self._wakes = self._wakes, None
        if wakes is not None:
            wakes.close()


def _await_ready(proc: BaseProcess, counts: Connection) -> None:
    """Wait until the child delivers (a second or so): a server that says it is up sends its
    webhooks from then on. A child that fails to start is reported, then started again."""
    deadline = time.monotonic() + _READY_S
    while time.monotonic() < deadline and proc.is_alive():
        if counts.poll(0.1):
            with contextlib.suppress(EOFError, OSError):
                counts.recv()  # the first message says it is ready
            return
    log.warning("webhook.process_not_ready", extra={"pid": proc.pid})


class _Relay:
    """The child's Tally: counts kept here, sent to the worker's process every _FLUSH_S."""

    def __init__(self, out: Connection) -> None:
        self._out = out
        self._lock = threading.Lock()
        self._sending = threading.Lock()  # one message at a time on the pipe
        self._kept: list[tuple[str, str, float]] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhook-counts", daemon=True)
        self._thread.start()

    def attempt(self, outcome: str, seconds: float) -> None:
        with self._lock:
            self._kept.append(("attempt", outcome, seconds))

    def finished(self, outcome: str) -> None:
        with self._lock:
            self._kept.append(("finished", outcome, 0.0))

    def close(self) -> None:
        self._done.set()
        self._thread.join(5)
        self._flush()
        self._out.close()

    def _run(self) -> None:
        while not self._done.wait(_FLUSH_S):
            self._flush()

    def _flush(self) -> None:
        with self._lock:
            batch, self._kept = self._kept, []
        if batch:
            self.send(batch)

    def send(self, batch: list[tuple[str, str, float]]) -> None:
        with self._sending, contextlib.suppress(OSError):  # OSError: nobody left to count them
            self._out.send(batch)


def _child(settings: Settings, owner: str, wakes: Connection, counts: Connection) -> None:
    # Ctrl-C reaches the whole process group: the worker's process stops this one in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from mediashelf import logs
    from mediashelf.app import build_services, make_deliverer
    from mediashelf.db.deliveries import DeliveryRepository

    logs.setup(settings.log_level, settings.log_format)
    parent = os.getppid()
    relay = _Relay(counts)
    services = build_services(settings, with_worker=False)
    try:
        # Background work: when the machine's cores are all busy, the API's requests and the
        # jobs go first, and deliveries catch up (each turn then carries more of them, for
        # fewer statements). Uploads with an endpoint kept 0.91-1.04 of their rate without one
        # where they had kept 0.79-0.88 (bench.webhooks' rounds on PostgreSQL, 2 cores). Not
        # with one write lock (SQLite): preempted while holding it, the deliverer made every
        # upload wait, and held it about 1.3 times as long in all.
        if not services.db.one_writer:
            with contextlib.suppress(OSError):
                os.nice(_NICE)
        with services.db.write() as conn:  # a child before this one died with leases
            DeliveryRepository().release(conn, owner)
        deliverer = make_deliverer(services, owner, tally=relay)
        deliverer.start()
        relay.send([])  # the first message: ready
        try:
            _wait_for_wakes(wakes, deliverer.wake, parent)
        finally:
            deliverer.stop(max(1.0, min(20.0, settings.webhook_timeout + 1)))
    finally:
        relay.close()
        services.close()


def _wait_for_wakes(wakes: Connection, wake: Callable[[], None], parent: int) -> None:
    """Pass every wake on until the pipe closes or the worker's process is gone."""
    fd = wakes.fileno()
    while True:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if ready:
            if not os.read(fd, 4096):
                return  # closed: stop() or the worker's process died
            wake()
        elif os.getppid() != parent:
            return
