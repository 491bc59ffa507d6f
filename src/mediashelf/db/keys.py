"""KeyRepository: tenants and API-key hashes."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mediashelf.db.schema import api_keys, library_versions, tenants
from mediashelf.domain import SYSTEM_TENANT_ID, ApiKey, Tenant


def _key(row: Any) -> ApiKey:
    key = ApiKey(id=row.id, tenant_id=row.tenant_id, tenant_name=row.name, prefix=row.prefix,
                 created_ms=row.created_ms, revoked_ms=row.revoked_ms,
                 last_used_ms=row.last_used_ms)
    if "own_version" in row._fields:
        key.versions = (int(row.own_version or 0), int(row.system_version or 0))
    return key


_KEY_COLS = [api_keys.c.id, api_keys.c.tenant_id, tenants.c.name, api_keys.c.prefix,
             api_keys.c.created_ms, api_keys.c.revoked_ms, api_keys.c.last_used_ms]


def _version_of(tenant: Any) -> Any:
    return (sa.select(library_versions.c.version)
            .where(library_versions.c.tenant_id == tenant).scalar_subquery())


# Built once: every request resolves its key, and building the statement cost more than running
# it. The libraries' versions come along (two primary-key reads), so that the listing can tell
# whether its cached reply still holds without another round trip to the database.
_BY_HASH = (sa.select(*_KEY_COLS, _version_of(api_keys.c.tenant_id).label("own_version"),
                      _version_of(sa.literal(SYSTEM_TENANT_ID, sa.Uuid)).label("system_version"))
            .join(tenants, tenants.c.id == api_keys.c.tenant_id)
            .where(api_keys.c.key_hash == sa.bindparam("key_hash"),
                   api_keys.c.revoked_ms.is_(None)))


DB_GONE = "the database is unavailable; try again shortly"


# The event loop's key lookups (db/key_batch.py on PostgreSQL, db/key_local.py on SQLite) run
# this on the driver itself; their placeholders differ, the statement does not.
def live_key_sql(system: str, match: str) -> str:
    """Live keys matching `match`, with their tenant's and the system library's versions, in
    the columns key_from_row() reads and the key hash last; `system` binds SYSTEM_TENANT_ID."""
    return ("SELECT k.id, k.tenant_id, t.name, k.prefix, k.created_ms, k.revoked_ms, "
            "k.last_used_ms, "
            "(SELECT v.version FROM library_versions v WHERE v.tenant_id = k.tenant_id), "
            f"(SELECT v.version FROM library_versions v WHERE v.tenant_id = {system}), "
            "k.key_hash FROM api_keys k JOIN tenants t ON t.id = k.tenant_id "
            f"WHERE {match} AND k.revoked_ms IS NULL")


def key_from_row(row: Sequence[Any], as_uuid: Callable[[Any], uuid.UUID]) -> ApiKey:
    """A row of live_key_sql(); as_uuid turns the driver's id values into UUIDs."""
    key = ApiKey(id=as_uuid(row[0]), tenant_id=as_uuid(row[1]), tenant_name=row[2],
                 prefix=row[3], created_ms=row[4], revoked_ms=row[5], last_used_ms=row[6])
    key.versions = (int(row[7] or 0), int(row[8] or 0))
    return key


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

    def by_hash(self, conn: Connection, key_hash: str) -> ApiKey | None:
        row = conn.execute(_BY_HASH, {"key_hash": key_hash}).first()
        return _key(row) if row else None

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
