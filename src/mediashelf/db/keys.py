"""KeyRepository: tenants and API-key hashes."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mediashelf.db.schema import api_keys, tenants
from mediashelf.db.sql import KeyRow, dialect, fetch
from mediashelf.domain import ApiKey, Tenant


def _key(row: Any) -> ApiKey:
    return ApiKey(id=row.id, tenant_id=row.tenant_id, tenant_name=row.name, prefix=row.prefix,
                  created_ms=row.created_ms, revoked_ms=row.revoked_ms,
                  last_used_ms=row.last_used_ms)


_KEY_COLS = [api_keys.c.id, api_keys.c.tenant_id, tenants.c.name, api_keys.c.prefix,
             api_keys.c.created_ms, api_keys.c.revoked_ms, api_keys.c.last_used_ms]
DB_GONE = "the database is unavailable; try again shortly"


class KeyReader(Protocol):
    """A request's key lookup on the event loop: Database.key_reader() picks one by dialect."""

    async def lookup(self, key_hash: str) -> ApiKey | None:
        """The live key with that hash (its libraries' versions included), or None."""
        ...

    async def close(self) -> None: ...


class KeyRepository:
    def tenant_by_name(self, conn: Connection, name: str) -> Tenant | None:
        row = conn.execute(sa.select(tenants).where(tenants.c.name == name)).first()
        return Tenant(row.id, row.name, row.created_ms) if row else None

    def insert_tenant(self, conn: Connection, tenant: Tenant) -> None:
        conn.execute(tenants.insert().values(id=tenant.id, name=tenant.name,
                                             created_ms=tenant.created_ms))

    def insert_key(self, conn: Connection, key: ApiKey, key_hash: str) -> None:
        conn.execute(api_keys.insert().values(
            id=key.id, tenant_id=key.tenant_id, key_hash=key_hash, prefix=key.prefix,
            created_ms=key.created_ms))

    def live_key(self, conn: Connection, key_hash: str) -> ApiKey | None:
        """As KeyReader.lookup, on a pooled connection (the same statement)."""
        sql = dialect(conn.dialect.name)
        rows = fetch(conn, sql.live_keys([key_hash]), KeyRow)
        return sql.key(rows[0]) if rows else None

    def find(self, conn: Connection, *, key_hash: str | None = None,
             prefix: str | None = None) -> list[ApiKey]:
        q = sa.select(*_KEY_COLS).join(tenants, tenants.c.id == api_keys.c.tenant_id)
        if key_hash is not None:
            q = q.where(api_keys.c.key_hash == key_hash)
        if prefix is not None:
            q = q.where(api_keys.c.prefix == prefix)
        return [_key(r) for r in conn.execute(q)]

    def list(self, conn: Connection) -> list[ApiKey]:
        q = (sa.select(*_KEY_COLS).join(tenants, tenants.c.id == api_keys.c.tenant_id)
             .order_by(tenants.c.name, api_keys.c.created_ms))
        return [_key(r) for r in conn.execute(q)]

    def revoke(self, conn: Connection, key_id: uuid.UUID, now: int) -> None:
        conn.execute(api_keys.update().where(api_keys.c.id == key_id).values(revoked_ms=now))

    def touch(self, conn: Connection, key_id: uuid.UUID, now: int) -> None:
        conn.execute(api_keys.update().where(api_keys.c.id == key_id).values(last_used_ms=now))
