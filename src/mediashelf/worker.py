"""The worker: claim → process → finish, with leases, heartbeats, retries and a clean stop."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import Connection

from mediashelf import priority, tracing
from mediashelf.db.database import Database
from mediashelf.db.jobs import JobRepository
from mediashelf.db.workers import WorkerRepository
from mediashelf.domain import Job, JobOutcome, now_ms
from mediashelf.logs import Outage
from mediashelf.metrics import JOB_SECONDS
from mediashelf.services.assets import AssetService
from mediashelf.services.processing import Processor
from mediashelf.storage.base import Storage
from mediashelf.storage.space import is_disk_full

log = logging.getLogger("mediashelf.worker")

_MAX_BACKOFF_S = 300
_ROOM_WAIT_S = 30  # a job that found no room is tried again this much later
_FORGET_AFTER_MS = 86_400_000  # the row of a worker that died without a clean stop goes then


class Companion(Protocol):
    """Work that runs beside the jobs, with the worker (the webhook deliverer)."""

    def start(self) -> None: ...
    def stop(self, timeout: float) -> None: ...


class Worker:
    def __init__(self, db: Database, jobs: JobRepository, processor: Processor,
                 assets: AssetService, storage: Storage, *,
                 chores: dict[str, Callable[[], object]] | None = None, concurrency: int,
                 lease_s: float, poll_s: float, purge_every_s: float = 60.0,
                 sweep_every_s: float = 300.0, workers: WorkerRepository | None = None,
                 beat_every_s: float = 20.0,
                 expire_uploads: Callable[[], int] | None = None,
                 companions: list[Companion] | None = None) -> None:
        self._db, self._jobs, self._processor, self._assets = db, jobs, processor, assets
        self._storage = storage
        self._chores = dict(chores or {})  # more sweeps, run with the storage's
        self._outages: dict[str, Outage] = {}  # by what fails: claim, heartbeat, sweep ...
        self._concurrency = concurrency
        self._lease_ms = int(lease_s * 1000)
        self._poll_s = poll_s
        self._purge_every_s = purge_every_s
        self._sweep_every_s = sweep_every_s
        self._workers = workers or WorkerRepository()
        self._beat_every_s = beat_every_s
        self.last_beat: float | None = None  # time.monotonic() of the last heartbeat written
        self._expire_uploads = expire_uploads  # unfinished tus uploads past their expiry
        self.companions = list(companions or [])  # started and stopped with us (webhooks)
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._stopping = threading.Event()
        # new work queued in this process: each ring wakes one job thread, which claims at
        # once (a thread woken by the poll reads first whether anything is due)
        self._bell = threading.Condition()
        self._rung = 0
        self._threads: list[threading.Thread] = []
        self._background = False

    def start(self, *, background: bool = False) -> None:
        """Start the job threads and the housekeeping; background: they run at a lower CPU
        priority (a process that serves no requests itself, on a database whose writers do
        not take turns on one lock: a thread preempted while holding SQLite's would make
        every upload wait)."""
        self._background = background
        # Seen alive from the first moment (/readyz), not at the housekeeping thread's first turn.
        self._chore("heartbeat", self._heartbeat)
        for i in range(self._concurrency):
            t = threading.Thread(target=self._loop, name=f"worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        for companion in self.companions:
            companion.start()
        t = threading.Thread(target=self._housekeeping, name="worker-heartbeat", daemon=True)
        t.start()
        self._threads.append(t)
        log.info("worker.started", extra={"worker": self.name, "concurrency": self._concurrency})

    def wake(self) -> None:
        """New work was queued in this process: one job thread looks now instead of at the
        next poll (each woke them all, and each read and claimed: most found nothing)."""
        with self._bell:
            self._rung = min(self._rung + 1, self._concurrency)
            self._bell.notify()

    def _sleep(self) -> bool:
        """Until a wake (True) or the poll interval (False)."""
        with self._bell:
            if not self._rung and not self._stopping.is_set():
                self._bell.wait(self._poll_s)
            if self._rung:
                self._rung -= 1
                return True
            return False

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the jobs in hand (up to timeout), then give back any that are left."""
        self._stopping.set()
        with self._bell:
            self._bell.notify_all()
        deadline = time.monotonic() + timeout
        for companion in self.companions:
            companion.stop(max(0.0, min(20.0, deadline - time.monotonic())))
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        try:
            with self._db.write() as conn:
                released = self._jobs.release(conn, self.name, now_ms())
                self._workers.forget(conn, self.name)
            if released:
                log.info("worker.released", extra={"worker": self.name, "jobs": released})
        except Exception:
            log.exception("worker.release_failed", extra={"worker": self.name})
        log.info("worker.stopped", extra={"worker": self.name})

    def _loop(self) -> None:
        if self._background:
            priority.lower(thread=True)
        woken = False
        while not self._stopping.is_set():
            try:
                job = None
                due = woken
                if not due:
                    with self._db.read() as conn:
                        due = self._jobs.any_due(conn, now_ms())
                if due:
                    with self._db.write() as conn:
                        job = self._jobs.claim(conn, self.name, now_ms(), self._lease_ms)
            except Exception:
                self._outage("claim").failed()
                self._stopping.wait(self._poll_s * 4)
                continue
            self._outage("claim").ok()
            if job is None:
                woken = self._sleep()
                continue
            woken = False
            self._run(job)

    def _run(self, job: Job) -> None:
        ctx = {"worker": self.name, "job_id": job.id, "asset_id": str(job.asset_id),
               "kind": job.kind.value, "attempt": job.attempts}
        started = time.monotonic()
        try:
            # The child of the request that queued the job (its traceparent), in any process.
            with tracing.span(f"job.{job.kind.value}", kind="consumer", parent=job.traceparent,
                              attributes={**ctx}):
                outcome = self._processor.run(job)
        except Exception as exc:
            if is_disk_full(exc):
                self._observe(job, "postponed", started)
                self._postpone(job, ctx, exc)
                return
            self._observe(job, "retry", started)
            delay = min(2 ** job.attempts, _MAX_BACKOFF_S)
            log.warning("job.retry", exc_info=True, extra={**ctx, "delay_s": delay})
            self._requeue(self._jobs.retry, job, ctx, delay, exc, "job.retry_failed")
            return
        self._observe(job, outcome.value, started)
        with self._db.write() as conn:
            if outcome is JobOutcome.SKIPPED and self._jobs.still_wanted(conn, job):
                # restored since it was read (deleted): its restore saw this job and queued none
                self._jobs.retry(conn, job, now_ms(), "restored while its job skipped it")
            else:
                self._jobs.finish(conn, job)
        log.info("job.finished", extra={**ctx, "outcome": outcome.value,
                                        "seconds": round(time.monotonic() - started, 3)})

    @staticmethod
    def _observe(job: Job, outcome: str, started: float) -> None:
        JOB_SECONDS.labels(kind=job.kind.value, outcome=outcome).observe(
            time.monotonic() - started)

    def _postpone(self, job: Job, ctx: dict[str, object], exc: Exception) -> None:
        log.warning("job.postponed", extra={**ctx, "reason": "no room", "delay_s": _ROOM_WAIT_S})
        self._requeue(self._jobs.postpone, job, ctx, _ROOM_WAIT_S, exc, "job.postpone_failed")

    def _requeue(self, put_back: Callable[[Connection, Job, int, str], None], job: Job,
                 ctx: dict[str, object], delay_s: float, exc: Exception, failed: str) -> None:
        """Queue the job again in delay_s (a retry, or a wait for room) with the error as why."""
        try:
            with self._db.write() as conn:
                put_back(conn, job, now_ms() + int(delay_s * 1000), f"{type(exc).__name__}: {exc}")
        except Exception:
            log.exception(failed, extra=ctx)

    def _housekeeping(self) -> None:
        """The purge (first: it frees space), heartbeats that keep our leases alive, and the
        sweep of scratch files and uploads nobody owns; each in its own try, so that a full
        disk or a lost database stops none of the others. All run at once on start."""
        next_purge = next_sweep = 0.0
        tick = max(0.2, min(self._lease_ms / 3000, self._purge_every_s, self._sweep_every_s,
                            self._beat_every_s))
        while True:
            now = time.monotonic()
            if now >= next_purge:
                next_purge = now + self._purge_every_s
                self._chore("purge", self._assets.purge_due)
                if self._expire_uploads is not None:
                    self._chore("expire_uploads", self._expire_uploads)
            self._chore("heartbeat", self._heartbeat)
            if now >= next_sweep:
                next_sweep = now + self._sweep_every_s
                self._chore("sweep", self._storage.sweep)
                for name, chore in self._chores.items():
                    self._chore(name, chore)
            if self._stopping.wait(tick):
                return

    def _heartbeat(self) -> None:
        now = now_ms()
        with self._db.write() as conn:
            self._jobs.heartbeat(conn, self.name, now, self._lease_ms)
            self._workers.beat(conn, self.name, now, self._concurrency)
            self._workers.forget_older(conn, now - _FORGET_AFTER_MS)
        self.last_beat = time.monotonic()

    def _outage(self, name: str) -> Outage:
        if name not in self._outages:
            self._outages[name] = Outage(log, f"worker.{name}_failed", worker=self.name)
        return self._outages[name]

    def _chore(self, name: str, run: Callable[[], object]) -> None:
        try:
            run()
        except Exception:
            self._outage(name).failed()
        else:
            self._outage(name).ok()
