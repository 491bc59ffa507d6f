"""EventRepository: the outbox of asset events (append, read after an id, sweep).

Ids are in commit order per tenant. A plain sequence is not: on PostgreSQL a transaction can
take id 7, another id 8 and commit first, and a reader that saw 8 and then asks for `id > 8`
would never see 7. So `append` first locks the tenant's row (FOR NO KEY UPDATE, which leaves
the key-share locks of inserts referring to the tenant free) until commit, and only then takes
the id: two transactions of one tenant take their ids one after the other and commit in that
order. SQLite runs one write transaction at a time, which gives the same order.

Across tenants ids may still commit out of order, so there is no global cursor: readers keep
one per tenant (`after`, or `after_many` for several tenants in one statement).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mediashelf.db.meta import MetaRepository
from mediashelf.db.schema import events, tenants
from mediashelf.domain import Asset, AssetStatus, AssetType, EventType

_SWEPT = "events.swept:"  # meta key + tenant id: the highest id of its the sweep removed
_OR_BATCH = 64  # tenants per statement in after_many


@dataclass(frozen=True, slots=True)
class Event:
    """One stored event: what happened to which asset, and the asset's stored fields then."""

    id: int
    tenant_id: uuid.UUID
    asset_id: uuid.UUID
    type: EventType
    created_ms: int
    asset: Asset


def _encode(asset: Asset) -> str:
    return orjson.dumps(asset).decode()  # a dataclass: its fields, UUIDs and enums as strings


def _decode(text: str) -> Asset:
    data: dict[str, Any] = orjson.loads(text)
    data["id"], data["tenant_id"] = uuid.UUID(data["id"]), uuid.UUID(data["tenant_id"])
    data["type"], data["status"] = AssetType(data["type"]), AssetStatus(data["status"])
    return Asset(**data)


def to_event(row: Mapping[Any, Any]) -> Event:
    return Event(int(row["id"]), row["tenant_id"], row["asset_id"], EventType(row["type"]),
                 int(row["created_ms"]), _decode(row["asset"]))


# Built once: every event runs it, inside its transaction. One statement, whose row comes from
# the tenant's locked row: the lock is taken before the id (see the module's docstring).
_LOCKED = (sa.select(tenants.c.id).where(tenants.c.id == sa.bindparam("tenant_id"))
           .with_for_update(key_share=True).cte("locked"))
_APPEND = events.insert().from_select(
    ["tenant_id", "asset_id", "type", "created_ms", "asset"],
    sa.select(_LOCKED.c.id, sa.bindparam("asset_id", type_=sa.Uuid),
              sa.bindparam("type", type_=sa.String),
              sa.bindparam("created_ms", type_=sa.BigInteger),
              sa.bindparam("asset", type_=sa.Text))).returning(events.c.id)


class EventRepository:
    def append(self, conn: Connection, kind: EventType, asset: Asset, now_ms: int) -> int:
        """Write one event in the caller's transaction; its id (see the module's docstring)."""
        return int(conn.execute(_APPEND, {
            "tenant_id": asset.tenant_id, "asset_id": asset.id, "type": kind.value,
            "created_ms": now_ms, "asset": _encode(asset)}).scalar_one())

    def many(self, conn: Connection, ids: Collection[int]) -> dict[int, Event]:
        """These events by id, those not swept yet (a webhook delivery renders them when sent)."""
        if not ids:
            return {}
        rows = conn.execute(sa.select(events).where(events.c.id.in_(ids))).mappings()
        return {int(r["id"]): to_event(r) for r in rows}

    def after(self, conn: Connection, tenant_id: uuid.UUID, after_id: int, limit: int,
              types: Sequence[EventType] = ()) -> list[Event]:
        """The tenant's events with an id above after_id, oldest first (of `types`, if any)."""
        where = [events.c.tenant_id == tenant_id, events.c.id > after_id]
        if types:
            where.append(events.c.type.in_([t.value for t in types]))
        rows = conn.execute(sa.select(events).where(*where).order_by(events.c.id).limit(limit))
        return [to_event(r) for r in rows.mappings()]

    def after_many(self, conn: Connection, cursors: Mapping[uuid.UUID, int],
                   limit: int) -> list[Event]:
        """Events of several tenants, each above its own cursor, oldest first (one statement
        per 64 tenants, each arm an index range)."""
        out: list[Event] = []
        items = sorted(cursors.items(), key=lambda kv: str(kv[0]))
        for start in range(0, len(items), _OR_BATCH):
            arms = [sa.and_(events.c.tenant_id == t, events.c.id > after)
                    for t, after in items[start:start + _OR_BATCH]]
            rows = conn.execute(sa.select(events).where(sa.or_(*arms))
                                .order_by(events.c.id).limit(limit))
            out.extend(to_event(r) for r in rows.mappings())
        out.sort(key=lambda e: e.id)
        return out[:limit]

    def newest_id(self, conn: Connection, tenant_id: uuid.UUID | None = None) -> int:
        """The highest id visible now, of one tenant or of all (0 when none)."""
        query = sa.select(sa.func.max(events.c.id))
        if tenant_id is not None:
            query = query.where(events.c.tenant_id == tenant_id)
        return int(conn.execute(query).scalar() or 0)

    def swept_to(self, conn: Connection, tenant_id: uuid.UUID) -> int:
        """The highest id of the tenant's that the sweep removed: a cursor below it missed some."""
        return int(MetaRepository().get(conn, _SWEPT + str(tenant_id)) or 0)

    def sweep(self, conn: Connection, before_ms: int, limit: int) -> int:
        """Remove up to `limit` events older than before_ms, noting per tenant the highest id
        removed; how many went."""
        rows = conn.execute(sa.select(events.c.id, events.c.tenant_id)
                            .where(events.c.created_ms < before_ms)
                            .order_by(events.c.id).limit(limit)).all()
        if not rows:
            return 0
        conn.execute(events.delete().where(events.c.id.in_([r.id for r in rows])))
        highest: dict[uuid.UUID, int] = {}
        for r in rows:
            highest[r.tenant_id] = max(highest.get(r.tenant_id, 0), int(r.id))
        meta = MetaRepository()
        for tenant, top in sorted(highest.items(), key=lambda kv: str(kv[0])):
            if top > self.swept_to(conn, tenant):
                meta.set(conn, _SWEPT + str(tenant), str(top))
        return len(rows)
