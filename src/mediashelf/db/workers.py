"""WorkerRepository: the heartbeats of running workers (one row each, busy or idle)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mediashelf.db.schema import workers


class WorkerRepository:
    def beat(self, conn: Connection, name: str, now: int, concurrency: int) -> None:
        """Say this worker is alive; only the worker itself writes its row, so no race."""
        res = conn.execute(workers.update().where(workers.c.name == name).values(beat_ms=now))
        if res.rowcount == 0:
            conn.execute(workers.insert().values(name=name, started_ms=now, beat_ms=now,
                                                 concurrency=concurrency))

    def forget(self, conn: Connection, name: str) -> None:
        """A clean stop: this worker is gone."""
        conn.execute(workers.delete().where(workers.c.name == name))

    def forget_older(self, conn: Connection, before: int) -> int:
        """Drop the rows of workers that died without a clean stop long ago."""
        return conn.execute(workers.delete().where(workers.c.beat_ms < before)).rowcount

    def live(self, conn: Connection, since: int) -> int:
        """How many workers have beaten since then."""
        return int(conn.execute(sa.select(sa.func.count()).select_from(workers)
                                .where(workers.c.beat_ms >= since)).scalar_one())
