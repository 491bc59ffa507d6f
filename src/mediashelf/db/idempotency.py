"""IdempotencyRepository: the answers kept per (tenant, Idempotency-Key)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from mediashelf.db.schema import idempotency_keys as keys

RUNNING, DONE = "running", "done"


@dataclass(slots=True)
class KeptAnswer:
    """A key's row: still running (until its lease ends), or done with the answer to replay."""

    state: str
    fingerprint: str | None
    status: int | None
    body: str | None
    headers: dict[str, str]
    expires_ms: int


def _match(tenant_id: uuid.UUID, key: str) -> sa.ColumnElement[bool]:
    return sa.and_(keys.c.tenant_id == tenant_id, keys.c.key == key)


class IdempotencyRepository:
    def claim(self, conn: Connection, tenant_id: uuid.UUID, key: str, now: int,
              lease_ms: int) -> KeptAnswer | None:
        """Take the key for a new request (None), unless a live row holds it: that row.

        One statement for both databases: the insert, or the take-over of an expired row,
        happens only where nobody holds the key, so two processes cannot both win it.
        """
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(keys).values(tenant_id=tenant_id, key=key, state=RUNNING,
                                   fingerprint=None, status=None, body=None, headers=None,
                                   created_ms=now, expires_ms=now + lease_ms)
        stmt = stmt.on_conflict_do_update(
            index_elements=["tenant_id", "key"],
            set_={"state": RUNNING, "fingerprint": None, "status": None, "body": None,
                  "headers": None, "created_ms": now, "expires_ms": now + lease_ms},
            where=keys.c.expires_ms < now)
        won = conn.execute(stmt.returning(keys.c.key)).first()
        if won is not None:
            return None
        row = conn.execute(sa.select(keys).where(_match(tenant_id, key))).mappings().first()
        if row is None:  # removed between the two statements: a rare race, call it running
            return KeptAnswer(RUNNING, None, None, None, {}, now + lease_ms)
        return KeptAnswer(row["state"], row["fingerprint"], row["status"], row["body"],
                          dict(row["headers"] or {}), row["expires_ms"])

    def renew(self, conn: Connection, tenant_id: uuid.UUID, key: str, expires_ms: int) -> None:
        conn.execute(keys.update().where(_match(tenant_id, key), keys.c.state == RUNNING)
                     .values(expires_ms=expires_ms))

    def complete(self, conn: Connection, tenant_id: uuid.UUID, key: str, fingerprint: str,
                 status: int, body: str, headers: dict[str, Any], expires_ms: int) -> None:
        conn.execute(keys.update().where(_match(tenant_id, key), keys.c.state == RUNNING)
                     .values(state=DONE, fingerprint=fingerprint, status=status, body=body,
                             headers=headers, expires_ms=expires_ms))

    def release(self, conn: Connection, tenant_id: uuid.UUID, key: str) -> None:
        """Give the key back (the request failed in a way worth trying again)."""
        conn.execute(keys.delete().where(_match(tenant_id, key), keys.c.state == RUNNING))

    def purge(self, conn: Connection, now: int) -> int:
        """Remove the expired rows (done ones past their time, running ones whose lease ran out)."""
        return conn.execute(keys.delete().where(keys.c.expires_ms < now)).rowcount
