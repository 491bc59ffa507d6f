"""AssetRepository: every SQL statement about assets and their counts."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, RowMapping

from mediashelf.db.schema import asset_counts, assets
from mediashelf.domain import Asset, AssetStatus, AssetType

_FIELDS = [c.name for c in assets.columns]


def _to_asset(row: RowMapping) -> Asset:
    data: dict[str, Any] = dict(row)
    data["type"] = AssetType(data["type"])
    data["status"] = AssetStatus(data["status"])
    data["extra"] = data["extra"] or {}
    return Asset(**data)


def _row(asset: Asset) -> dict[str, Any]:
    return {f: getattr(asset, f) for f in _FIELDS}


class AssetRepository:
    def insert(self, conn: Connection, asset: Asset) -> None:
        conn.execute(assets.insert().values(_row(asset)))
        self._bump(conn, asset.tenant_id, asset.type, asset.status, 1)

    def get(self, conn: Connection, asset_id: uuid.UUID) -> Asset | None:
        row = conn.execute(sa.select(assets).where(assets.c.id == asset_id)).mappings().first()
        return _to_asset(row) if row else None

    def get_visible(self, conn: Connection, asset_id: uuid.UUID,
                    owners: Sequence[uuid.UUID]) -> Asset | None:
        """A live asset owned by one of owners, or None."""
        row = conn.execute(
            sa.select(assets).where(assets.c.id == asset_id, assets.c.tenant_id.in_(owners),
                                    assets.c.deleted_ms.is_(None))
        ).mappings().first()
        return _to_asset(row) if row else None

    def count(self, conn: Connection, owners: Sequence[uuid.UUID], types: Sequence[AssetType],
              statuses: Sequence[AssetStatus]) -> int:
        total = conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(asset_counts.c.n), 0)).where(
                asset_counts.c.tenant_id.in_(owners), asset_counts.c.type.in_(types),
                asset_counts.c.status.in_(statuses))
        ).scalar_one()
        return int(total)

    def page(self, conn: Connection, owners: Sequence[uuid.UUID], types: Sequence[AssetType],
             statuses: Sequence[AssetStatus], offset: int, limit: int, total: int) -> list[Asset]:
        """Rows offset..offset+limit of the live assets matching, newest first.

        Each (owner, type, status) group is one range of ix_assets_list; we take the first
        offset+limit of each and merge them, reading from whichever end of the order is nearer.
        """
        if offset >= total or limit <= 0:
            return []
        from_end = offset + limit > total - offset
        if from_end:
            take = min(limit, total - offset)
            skip = total - offset - take
        else:
            take, skip = limit, offset
        order = assets.c.id.asc() if from_end else assets.c.id.desc()
        parts = []
        for owner in owners:
            for t in types:
                for s in statuses:
                    inner = (sa.select(assets).where(
                        assets.c.tenant_id == owner, assets.c.type == t.value,
                        assets.c.status == s.value, assets.c.deleted_ms.is_(None))
                        .order_by(order).limit(skip + take).subquery())
                    parts.append(sa.select(inner))
        union = sa.union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
        outer_order = union.c.id.asc() if from_end else union.c.id.desc()
        rows = conn.execute(sa.select(union).order_by(outer_order).limit(take).offset(skip))
        items = [_to_asset(r) for r in rows.mappings()]
        if from_end:
            items.reverse()
        return items

    def update_fields(self, conn: Connection, asset_id: uuid.UUID, **fields: Any) -> None:
        conn.execute(assets.update().where(assets.c.id == asset_id).values(**fields))

    def finish(self, conn: Connection, asset: Asset, status: AssetStatus, **fields: Any) -> bool:
        """Move a PROCESSING asset to its final status (and maybe its detected type) once."""
        new_type = fields.get("type", asset.type)
        res = conn.execute(
            assets.update().where(assets.c.id == asset.id,
                                  assets.c.status == AssetStatus.PROCESSING.value)
            .values(status=status.value, **fields).returning(assets.c.deleted_ms)
        ).first()
        if res is None:
            return False
        if res.deleted_ms is None:
            self._bump(conn, asset.tenant_id, asset.type, AssetStatus.PROCESSING, -1)
            self._bump(conn, asset.tenant_id, AssetType(new_type), status, 1)
        return True

    def mark_deleted(self, conn: Connection, asset: Asset, now: int) -> bool:
        res = conn.execute(
            assets.update().where(assets.c.id == asset.id, assets.c.deleted_ms.is_(None))
            .values(deleted_ms=now, updated_ms=now).returning(assets.c.type, assets.c.status)
        ).first()
        if res is None:
            return False
        self._bump(conn, asset.tenant_id, AssetType(res.type), AssetStatus(res.status), -1)
        return True

    def restore(self, conn: Connection, asset: Asset, now: int) -> bool:
        res = conn.execute(
            assets.update().where(assets.c.id == asset.id, assets.c.deleted_ms.is_not(None))
            .values(deleted_ms=None, updated_ms=now).returning(assets.c.type, assets.c.status)
        ).first()
        if res is None:
            return False
        self._bump(conn, asset.tenant_id, AssetType(res.type), AssetStatus(res.status), 1)
        return True

    def deleted_before(self, conn: Connection, before_ms: int, limit: int) -> list[Asset]:
        rows = conn.execute(
            sa.select(assets).where(assets.c.deleted_ms.is_not(None),
                                    assets.c.deleted_ms < before_ms).limit(limit)
        ).mappings()
        return [_to_asset(r) for r in rows]

    def remove(self, conn: Connection, asset_id: uuid.UUID) -> None:
        """Drop a purged asset's row (its counts were taken off when it was deleted)."""
        conn.execute(assets.delete().where(assets.c.id == asset_id,
                                           assets.c.deleted_ms.is_not(None)))

    def recount(self, conn: Connection) -> dict[tuple[uuid.UUID, str, str], int]:
        """The counts recomputed from the rows, to check the kept ones against."""
        rows = conn.execute(
            sa.select(assets.c.tenant_id, assets.c.type, assets.c.status, sa.func.count())
            .where(assets.c.deleted_ms.is_(None))
            .group_by(assets.c.tenant_id, assets.c.type, assets.c.status))
        return {(r[0], r[1], r[2]): int(r[3]) for r in rows}

    def kept_counts(self, conn: Connection) -> dict[tuple[uuid.UUID, str, str], int]:
        rows = conn.execute(sa.select(asset_counts).where(asset_counts.c.n != 0))
        return {(r.tenant_id, r.type, r.status): int(r.n) for r in rows}

    def bulk_insert(self, conn: Connection, batch: Iterable[Asset]) -> None:
        """Insert many assets and their counts at once (used by the benchmark's fill)."""
        rows = [_row(a) for a in batch]
        if not rows:
            return
        conn.execute(assets.insert(), rows)
        groups: dict[tuple[uuid.UUID, str, str], int] = {}
        for r in rows:
            if r["deleted_ms"] is None:
                key = (r["tenant_id"], str(r["type"]), str(r["status"]))
                groups[key] = groups.get(key, 0) + 1
        for (tenant, t, s), n in groups.items():
            self._bump(conn, tenant, AssetType(t), AssetStatus(s), n)

    def _bump(self, conn: Connection, tenant_id: uuid.UUID, type_: AssetType,
              status: AssetStatus, delta: int) -> None:
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(asset_counts).values(tenant_id=tenant_id, type=type_.value,
                                           status=status.value, n=delta)
        conn.execute(stmt.on_conflict_do_update(
            index_elements=["tenant_id", "type", "status"],
            set_={"n": asset_counts.c.n + stmt.excluded.n}))
