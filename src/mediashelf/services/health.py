"""Readiness and metrics: the database, storage and free space, the queue and its workers.

The queue's depth and the live workers are read from the database when asked, so every API
process (and a worker's own metrics port) reports the same numbers, whichever one answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prometheus_client.metrics_core import Metric

from mediashelf import metrics
from mediashelf.db.database import Database
from mediashelf.db.jobs import JobRepository, QueueGroup
from mediashelf.db.workers import WorkerRepository
from mediashelf.domain import JobKind, JobState, now_ms
from mediashelf.storage.base import Storage
from mediashelf.storage.space import SpaceGuard

log = logging.getLogger("mediashelf.health")


@dataclass(frozen=True)
class QueueState:
    """The queue by kind and state, and how many workers have beaten lately, at one moment."""

    groups: list[QueueGroup]
    live_workers: int
    at_ms: int

    def count(self, state: JobState, kind: JobKind | None = None) -> int:
        return sum(g.n for g in self.groups
                   if g.state == state.value and (kind is None or g.kind == kind.value))

    def oldest_queued_s(self, kind: JobKind | None = None) -> float:
        """How long the oldest queued job has been in the queue (0 with none)."""
        first = [g.oldest_ms for g in self.groups
                 if g.state == JobState.QUEUED.value and (kind is None or g.kind == kind.value)]
        return max(0.0, (self.at_ms - min(first)) / 1000) if first else 0.0


class Health:
    def __init__(self, db: Database, storage: Storage, space: SpaceGuard, jobs: JobRepository,
                 workers: WorkerRepository, *, stale_after_s: float) -> None:
        self._db, self._storage, self._space = db, storage, space
        self._jobs, self._workers = jobs, workers
        self._stale_ms = int(stale_after_s * 1000)
        self.more_metrics: list[Callable[[], list[Metric]]] = []  # gauges others read (webhooks)

    def queue(self) -> QueueState:
        now = now_ms()
        with self._db.read() as conn:
            return QueueState(self._jobs.groups(conn),
                              self._workers.live(conn, now - self._stale_ms), now)

    def ready(self, need_workers: bool = True) -> tuple[int, dict[str, Any]]:
        """The status and body of /readyz: 503 when a part is unreachable, or (if workers are
        needed) when jobs wait and no worker is alive to take them."""
        try:
            queue = self.queue()
        except Exception:
            log.warning("readyz.failed", exc_info=True, extra={"part": "database"})
            return 503, {"code": 503, "message": "database unreachable"}
        try:
            self._storage.ping()
        except Exception:
            log.warning("readyz.failed", exc_info=True, extra={"part": "storage"})
            return 503, {"code": 503, "message": "storage unreachable"}
        # Low space is reported, not failed: reads and deletes (which free space) still work.
        space = self._space.measure()
        queued, running = queue.count(JobState.QUEUED), queue.count(JobState.RUNNING)
        body: dict[str, Any] = {
            "status": "ready", "database": "ok", "storage": "ok",
            "space": "low" if space.low else "ok", "freeBytes": space.free,
            "reserveBytes": space.reserve,
            "workers": {"live": queue.live_workers, "staleAfterSeconds": self._stale_ms / 1000},
            "queue": {"queued": queued, "running": running,
                      "oldestQueuedSeconds": round(queue.oldest_queued_s(), 3)}}
        if need_workers and queued + running and not queue.live_workers:
            jobs = "1 job waits" if queued + running == 1 else f"{queued + running} jobs wait"
            message = (f"{jobs} and no worker is alive (none has sent a heartbeat in the last "
                       f"{self._stale_ms / 1000:g} s)")
            return 503, {"code": 503, "message": message, **body, "status": "not ready"}
        return 200, body

    def metrics(self) -> bytes:
        """The Prometheus text: every process's counters, and the queue as it is now."""
        try:
            queue: QueueState | None = self.queue()
        except Exception:
            log.warning("metrics.queue_unreadable", exc_info=True)
            queue = None
        families: list[Metric] = [metrics.gauge("mediashelf_database_up",
                                  "Whether the queue could be read from the database", [],
                                  [([], 0.0 if queue is None else 1.0)])]
        if queue is not None:
            families += [
                metrics.gauge("mediashelf_queue_jobs", "Jobs in the queue, by kind and state",
                              ["kind", "state"],
                              [([k.value, s.value], queue.count(s, k))
                               for k in JobKind for s in JobState]),
                metrics.gauge("mediashelf_queue_oldest_age_seconds",
                              "Age of the oldest queued job, by kind (0 with none)", ["kind"],
                              [([k.value], queue.oldest_queued_s(k)) for k in JobKind]),
                metrics.gauge("mediashelf_workers_live",
                              "Workers whose last heartbeat is within the staleness window", [],
                              [([], queue.live_workers)])]
            for more in self.more_metrics:
                try:
                    families += more()
                except Exception:
                    log.warning("metrics.unreadable", exc_info=True)
        return metrics.exposition(families)
