"""JobRepository: the work queue in the database (enqueue, claim with a lease, finish, retry)."""

from __future__ import annotations

import uuid
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mediashelf.db.schema import assets, jobs
from mediashelf.domain import AssetStatus, Job, JobKind, JobState


def _due(now: int) -> sa.ColumnElement[bool]:
    """Queued and due, or running on a lease that ran out (its worker is gone)."""
    return sa.or_(
        sa.and_(jobs.c.state == JobState.QUEUED.value, jobs.c.run_after_ms <= now),
        sa.and_(jobs.c.state == JobState.RUNNING.value, jobs.c.lease_expires_ms < now),
    )


class QueueGroup(NamedTuple):
    """The jobs of one kind in one state: how many, and when the oldest was first queued."""

    kind: str
    state: str
    n: int
    oldest_ms: int


class JobRepository:
    def enqueue(self, conn: Connection, asset_id: uuid.UUID, kind: JobKind, now: int,
                traceparent: str | None = None) -> None:
        conn.execute(jobs.insert().values(asset_id=asset_id, kind=kind.value,
                                          state=JobState.QUEUED.value, attempts=0,
                                          run_after_ms=now, created_ms=now,
                                          traceparent=traceparent))

    def any_due(self, conn: Connection, now: int) -> bool:
        """A cheap read before claiming, so idle workers do not take the write lock."""
        return conn.execute(sa.select(jobs.c.id).where(_due(now)).limit(1)).first() is not None

    def claim(self, conn: Connection, owner: str, now: int, lease_ms: int) -> Job | None:
        """Take the next due job, or one whose worker's lease ran out.

        PostgreSQL: FOR UPDATE SKIP LOCKED lets many workers claim at once without waiting.
        SQLite: the caller's BEGIN IMMEDIATE already serialises claims.
        """
        pick = (sa.select(jobs.c.id).where(_due(now)).order_by(jobs.c.run_after_ms, jobs.c.id)
                .limit(1).with_for_update(skip_locked=True).scalar_subquery())
        row = conn.execute(
            jobs.update().where(jobs.c.id == pick).values(
                state=JobState.RUNNING.value, lease_owner=owner,
                lease_expires_ms=now + lease_ms, attempts=jobs.c.attempts + 1)
            .returning(jobs.c.id, jobs.c.asset_id, jobs.c.kind, jobs.c.attempts,
                       jobs.c.traceparent)
        ).first()
        if row is None:
            return None
        return Job(row.id, row.asset_id, JobKind(row.kind), row.attempts, owner, row.traceparent)

    def heartbeat(self, conn: Connection, owner: str, now: int, lease_ms: int) -> int:
        """Extend the leases of every job this worker holds."""
        res = conn.execute(jobs.update().where(
            jobs.c.lease_owner == owner, jobs.c.state == JobState.RUNNING.value
        ).values(lease_expires_ms=now + lease_ms))
        return res.rowcount

    def finish(self, conn: Connection, job: Job) -> bool:
        """Remove a done job; False if another worker took it over meanwhile."""
        res = conn.execute(jobs.delete().where(jobs.c.id == job.id,
                                               jobs.c.lease_owner == job.lease_owner))
        return res.rowcount == 1

    def still_wanted(self, conn: Connection, job: Job) -> bool:
        """Whether the job's asset is live and PROCESSING, read under a lock on its row: a job
        that skipped a deleted asset must not end while a restore (which locks that row, then
        queues a job only if the asset has none) puts it back."""
        row = conn.execute(sa.select(assets.c.status, assets.c.deleted_ms)
                           .where(assets.c.id == job.asset_id).with_for_update()).first()
        return row is not None and row.deleted_ms is None and \
            row.status == AssetStatus.PROCESSING.value

    def retry(self, conn: Connection, job: Job, run_after_ms: int, error: str) -> None:
        conn.execute(jobs.update().where(jobs.c.id == job.id, jobs.c.lease_owner == job.lease_owner)
                     .values(state=JobState.QUEUED.value, run_after_ms=run_after_ms,
                             lease_owner=None, lease_expires_ms=None, last_error=error[:2000]))

    def postpone(self, conn: Connection, job: Job, run_after_ms: int, error: str) -> None:
        """Queue a job again later without counting its attempt (it waited for room; it did
        not fail)."""
        conn.execute(jobs.update().where(jobs.c.id == job.id, jobs.c.lease_owner == job.lease_owner)
                     .values(state=JobState.QUEUED.value, run_after_ms=run_after_ms,
                             lease_owner=None, lease_expires_ms=None, last_error=error[:2000],
                             attempts=sa.case((jobs.c.attempts > 0, jobs.c.attempts - 1),
                                              else_=0)))

    def release(self, conn: Connection, owner: str, now: int) -> int:
        """Give back this worker's running jobs at a clean stop, without counting the attempt."""
        res = conn.execute(jobs.update().where(
            jobs.c.lease_owner == owner, jobs.c.state == JobState.RUNNING.value
        ).values(state=JobState.QUEUED.value, lease_owner=None, lease_expires_ms=None,
                 run_after_ms=now,
                 attempts=sa.case((jobs.c.attempts > 0, jobs.c.attempts - 1), else_=0)))
        return res.rowcount

    def pending(self, conn: Connection) -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(jobs)).scalar_one())

    def groups(self, conn: Connection) -> list[QueueGroup]:
        """The queue by kind and state: one small aggregate over the (short) jobs table."""
        rows = conn.execute(sa.select(jobs.c.kind, jobs.c.state, sa.func.count().label("n"),
                                      sa.func.min(jobs.c.created_ms).label("oldest_ms"))
                            .group_by(jobs.c.kind, jobs.c.state))
        return [QueueGroup(r.kind, r.state, int(r.n), int(r.oldest_ms)) for r in rows]

    def for_asset(self, conn: Connection, asset_id: uuid.UUID) -> Job | None:
        row = conn.execute(sa.select(jobs).where(jobs.c.asset_id == asset_id)).first()
        return Job(row.id, row.asset_id, JobKind(row.kind), row.attempts, row.lease_owner) \
            if row else None
