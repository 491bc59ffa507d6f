"""AssetRepository: assets and their counts, one by one (the listing is db/listing.py)."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, RowMapping

from mediashelf.db.database import before_commit, transaction_kept
from mediashelf.db.listing import Step
from mediashelf.db.schema import (
    BUCKET_SHIFTS,
    asset_buckets,
    asset_counts,
    asset_tags,
    assets,
    type_versions,
)
from mediashelf.db.sql import AssetRow, dialect
from mediashelf.domain import Asset, AssetStatus, AssetType, RowForm
from mediashelf.words import name_key, search_text

_FIELDS = [f.name for f in dataclasses.fields(Asset)]
_KEPT = ["search_text", "name_key"]  # columns kept from an asset's name and tags
assert [c.name for c in assets.columns] == _FIELDS + _KEPT, "an Asset is a row's fields"
_ASSET = [assets.c[f] for f in _FIELDS]


# Built once: GET /v1/assets/{id} runs it on every call.
_GET_VISIBLE = sa.select(*_ASSET).where(
    assets.c.id == sa.bindparam("id"),
    assets.c.tenant_id.in_(sa.bindparam("owners", expanding=True)),
    assets.c.deleted_ms.is_(None))


def _to_asset(row: RowMapping) -> Asset:
    data: dict[str, Any] = dict(row)
    data["type"] = AssetType(data["type"])
    data["status"] = AssetStatus(data["status"])
    data["extra"] = data["extra"] or {}
    data["tags"] = orjson.loads(data["tags"])
    return Asset(**data)


def _row(asset: Asset) -> dict[str, Any]:
    row = {f: getattr(asset, f) for f in _FIELDS}
    row.update(_labels(asset.name, asset.tags))
    return row


def _labels(name: str | None, tags: list[str]) -> dict[str, Any]:
    """The columns that follow from an asset's name and tags."""
    return {"tags": orjson.dumps(tags).decode(), "search_text": search_text(name, tags),
            "name_key": name_key(name)}


def _tag_rows(asset: Asset) -> list[dict[str, Any]]:
    return [{"tag": t, "tenant_id": asset.tenant_id, "asset_id": asset.id} for t in asset.tags]


def visible_read(name: str, asset_id: uuid.UUID,
                 owners: Sequence[uuid.UUID]) -> tuple[Step, RowForm]:
    """get_visible() as one driver statement on dialect `name` (rows as AssetRow: none, or the
    asset's stored row), and how its rows spell ids; for a caller with its own connection
    (db/async_reads.py)."""
    sql = dialect(name)
    return ((sql.visible(sql.bind_id(asset_id), [sql.bind_id(o) for o in owners]), AssetRow),
            sql.row_form())


class AssetRepository:
    def insert(self, conn: Connection, asset: Asset) -> None:
        conn.execute(assets.insert().values(_row(asset)))
        if asset.tags:
            conn.execute(asset_tags.insert(), _tag_rows(asset))
        self._bump(conn, [(asset.id, asset.tenant_id, asset.type.value, asset.status.value, 1)])

    def get(self, conn: Connection, asset_id: uuid.UUID) -> Asset | None:
        row = conn.execute(sa.select(*_ASSET).where(assets.c.id == asset_id)).mappings().first()
        return _to_asset(row) if row else None

    def get_visible(self, conn: Connection, asset_id: uuid.UUID,
                    owners: Sequence[uuid.UUID]) -> Asset | None:
        """A live asset owned by one of owners, or None."""
        row = conn.execute(_GET_VISIBLE, {"id": asset_id, "owners": list(owners)}
                           ).mappings().first()
        return _to_asset(row) if row else None

    def live_copy(self, conn: Connection, tenant_id: uuid.UUID, asset_type: AssetType, *,
                  sha256: str | None = None, source_url: str | None = None) -> Asset | None:
        """The owner's oldest live, not FAILED, asset of that type with these bytes (or,
        without a digest, imported from that URL), or None."""
        if sha256:
            match = sa.and_(assets.c.tenant_id == tenant_id, assets.c.sha256 == sha256,
                            assets.c.sha256.is_not(None))
        elif source_url:
            match = sa.and_(assets.c.source_url == source_url,
                            assets.c.source_url.is_not(None), assets.c.tenant_id == tenant_id)
        else:
            return None
        row = conn.execute(sa.select(*_ASSET).where(
            match, assets.c.type == asset_type.value, assets.c.deleted_ms.is_(None),
            assets.c.status != AssetStatus.FAILED.value).order_by(assets.c.id).limit(1)
        ).mappings().first()
        return _to_asset(row) if row else None

    def lock_content(self, conn: Connection, tenant_id: uuid.UUID, asset_type: AssetType,
                     *parts: str) -> None:
        """Serialise, until the transaction ends, the writers of one tenant's copies of the
        same content. PostgreSQL: a transaction advisory lock; SQLite's write transactions
        already run one at a time (BEGIN IMMEDIATE)."""
        if conn.dialect.name != "postgresql":
            return
        text = "\0".join((str(tenant_id), asset_type.value, *parts)).encode()
        number = int.from_bytes(hashlib.sha256(text).digest()[:8], "big", signed=True)
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": number})

    def count(self, conn: Connection, owners: Sequence[uuid.UUID], types: Sequence[AssetType],
              statuses: Sequence[AssetStatus]) -> int:
        total = conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(asset_counts.c.n), 0)).where(
                asset_counts.c.tenant_id.in_(owners), asset_counts.c.type.in_(types),
                asset_counts.c.status.in_(statuses))
        ).scalar_one()
        return int(total)

    def update_fields(self, conn: Connection, asset_id: uuid.UUID, **fields: Any) -> None:
        changed = conn.execute(assets.update().where(assets.c.id == asset_id).values(**fields)
                               .returning(assets.c.tenant_id, assets.c.type)).first()
        if changed is not None:
            self._raise_versions(conn, [(changed.tenant_id, str(changed.type))])

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
            self._bump(conn, [
                (asset.id, asset.tenant_id, asset.type.value, AssetStatus.PROCESSING.value, -1),
                (asset.id, asset.tenant_id, AssetType(new_type).value, status.value, 1)])
        return True

    def relabel(self, conn: Connection, asset: Asset, now: int) -> None:
        """Store a live asset's new name and tags (its search words and tag rows with them)."""
        conn.execute(assets.update().where(assets.c.id == asset.id)
                     .values(name=asset.name, updated_ms=now,
                             **_labels(asset.name, asset.tags)))
        conn.execute(asset_tags.delete().where(asset_tags.c.asset_id == asset.id))
        if asset.tags:
            conn.execute(asset_tags.insert(), _tag_rows(asset))
        self._raise_versions(conn, [(asset.tenant_id, asset.type.value)])

    def trash(self, conn: Connection, tenant_id: uuid.UUID, since_ms: int, limit: int,
              offset: int) -> tuple[int, list[Asset]]:
        """The tenant's assets deleted since since_ms, newest deletion first, and their count."""
        within = (assets.c.tenant_id == tenant_id, assets.c.deleted_ms.is_not(None),
                  assets.c.deleted_ms >= since_ms)
        total = int(conn.execute(sa.select(sa.func.count()).select_from(assets)
                                 .where(*within)).scalar_one())
        if offset >= total:  # past the end: no rows to read (and an offset past 2**63 - 1
            return total, []  # would not fit the database's integer)
        rows = conn.execute(
            sa.select(*_ASSET).where(*within)
            .order_by(assets.c.deleted_ms.desc(), assets.c.id.desc())
            .limit(limit).offset(offset)).mappings()
        return total, [_to_asset(r) for r in rows]

    def mark_deleted(self, conn: Connection, asset: Asset, now: int) -> bool:
        res = conn.execute(
            assets.update().where(assets.c.id == asset.id, assets.c.deleted_ms.is_(None))
            .values(deleted_ms=now, updated_ms=now).returning(assets.c.type, assets.c.status)
        ).first()
        if res is None:
            return False
        self._bump(conn, [(asset.id, asset.tenant_id, res.type, res.status, -1)])
        return True

    def restore(self, conn: Connection, asset: Asset, now: int) -> bool:
        res = conn.execute(
            assets.update().where(assets.c.id == asset.id, assets.c.deleted_ms.is_not(None))
            .values(deleted_ms=None, updated_ms=now).returning(assets.c.type, assets.c.status)
        ).first()
        if res is None:
            return False
        self._bump(conn, [(asset.id, asset.tenant_id, res.type, res.status, 1)])
        return True

    def deleted_before(self, conn: Connection, before_ms: int, limit: int) -> list[Asset]:
        rows = conn.execute(
            sa.select(*_ASSET).where(assets.c.deleted_ms.is_not(None),
                                    assets.c.deleted_ms < before_ms).limit(limit)
        ).mappings()
        return [_to_asset(r) for r in rows]

    def remove(self, conn: Connection, asset_id: uuid.UUID) -> bool:
        """Drop a purged asset's row (its counts were taken off when it was deleted)."""
        gone = conn.execute(assets.delete().where(assets.c.id == asset_id,
                                                  assets.c.deleted_ms.is_not(None)))
        if gone.rowcount:
            conn.execute(asset_tags.delete().where(asset_tags.c.asset_id == asset_id))
        return bool(gone.rowcount)

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

    def kept_buckets(self, conn: Connection) -> dict[tuple[uuid.UUID, str, str, int, int], int]:
        rows = conn.execute(sa.select(asset_buckets).where(asset_buckets.c.n != 0))
        return {(r.tenant_id, r.type, r.status, r.level, r.bucket): int(r.n) for r in rows}

    def rebucket(self, conn: Connection) -> dict[tuple[uuid.UUID, str, str, int, int], int]:
        """The bucket counts recomputed from the rows, to check the kept ones against."""
        out: dict[tuple[uuid.UUID, str, str, int, int], int] = {}
        rows = conn.execute(sa.select(assets.c.id, assets.c.tenant_id, assets.c.type,
                                      assets.c.status).where(assets.c.deleted_ms.is_(None)))
        for asset_id, tenant, t, s in rows:
            ms = asset_id.int >> 80
            for level, shift in enumerate(BUCKET_SHIFTS):
                key = (tenant, t, s, level, ms >> shift)
                out[key] = out.get(key, 0) + 1
        return out

    def bulk_insert(self, conn: Connection, batch: Iterable[Asset]) -> None:
        """Insert many assets and their counts at once (used by the benchmark's fill)."""
        rows = [_row(a) for a in batch]
        if not rows:
            return
        conn.execute(assets.insert(), rows)
        tagged = [{"tag": t, "tenant_id": r["tenant_id"], "asset_id": r["id"]}
                  for r in rows for t in orjson.loads(r["tags"])]
        if tagged:
            conn.execute(asset_tags.insert(), tagged)
        self._bump(conn, [(r["id"], r["tenant_id"], str(r["type"]), str(r["status"]), 1)
                          for r in rows if r["deleted_ms"] is None])

    def _bump(self, conn: Connection,
              changes: Sequence[tuple[uuid.UUID, uuid.UUID, str, str, int]]) -> None:
        """Add (asset id, owner, type, status, delta) changes to the kept counts and buckets,
        at the end of the transaction (see _Pending)."""
        def add(pending: _Pending) -> None:
            for asset_id, tenant, t, s, delta in changes:
                pending.counts[(tenant, t, s)] = pending.counts.get((tenant, t, s), 0) + delta
                ms = asset_id.int >> 80
                for level, shift in enumerate(BUCKET_SHIFTS):
                    key = (tenant, t, s, level, ms >> shift)
                    pending.buckets[key] = pending.buckets.get(key, 0) + delta
                pending.versions.add((tenant, t))
        _later(conn, add)

    def _raise_versions(self, conn: Connection,
                        changed: Iterable[tuple[uuid.UUID, str]]) -> None:
        """Raise the versions of the (owner, type) pairs a write changed, at the end of the
        transaction: replies of other types and owners stay valid."""
        pairs = list(changed)
        _later(conn, lambda pending: pending.versions.update(pairs))


_PENDING = "mediashelf.asset_counts"  # the transaction's _Pending, in transaction_kept()


@dataclasses.dataclass(slots=True)
class _Pending:
    """A transaction's changes to the shared rows of its tenants (counts, buckets, versions).

    They are written just before the commit (db.database.before_commit), in one fixed order
    (counts, buckets, versions, each sorted), which is also the order their row locks are
    taken in on PostgreSQL: writers cannot deadlock one another, and a tenant's other writers
    wait on those rows for three statements and the commit, not for the whole transaction.
    """

    counts: dict[tuple[uuid.UUID, str, str], int] = dataclasses.field(default_factory=dict)
    buckets: dict[tuple[uuid.UUID, str, str, int, int], int] = dataclasses.field(
        default_factory=dict)
    versions: set[tuple[uuid.UUID, str]] = dataclasses.field(default_factory=set)

    def write(self, conn: Connection) -> None:
        upserts = _upserts(conn.dialect.name)
        for stmt, deltas, names in ((upserts[0], self.counts, _COUNT_KEY),
                                    (upserts[1], self.buckets, _BUCKET_KEY)):
            params = [{**dict(zip(names, k, strict=True)), "n": n}
                      for k, n in sorted(deltas.items(), key=lambda kv: _order(kv[0])) if n]
            if params:
                conn.execute(stmt, params)
        if self.versions:
            conn.execute(upserts[2], [{"tenant_id": o, "type": t, "version": 1}
                                      for o, t in sorted(self.versions, key=_order)])


def _later(conn: Connection, add: Callable[[_Pending], None]) -> None:
    """Add to the transaction's _Pending (written at once outside Database.write())."""
    kept = transaction_kept(conn)
    if kept is None:
        alone = _Pending()
        add(alone)
        alone.write(conn)
        return
    pending: _Pending | None = kept.get(_PENDING)
    if pending is None:
        pending = kept[_PENDING] = _Pending()
        before_commit(conn, 0, lambda: _write(conn, kept))
    add(pending)


def _write(conn: Connection, kept: dict[str, Any]) -> None:
    pending: _Pending = kept.pop(_PENDING)  # what comes after this is written after it
    pending.write(conn)


_UPSERTS: dict[str, tuple[Any, Any, Any]] = {}  # by dialect: built once


def _upserts(dialect: str) -> tuple[Any, Any, Any]:
    made = _UPSERTS.get(dialect)
    if made is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        counts, buckets, versions = (insert(t) for t in (asset_counts, asset_buckets,
                                                         type_versions))
        made = _UPSERTS[dialect] = (
            counts.on_conflict_do_update(index_elements=list(_COUNT_KEY),
                                         set_={"n": asset_counts.c.n + counts.excluded.n}),
            buckets.on_conflict_do_update(index_elements=list(_BUCKET_KEY),
                                          set_={"n": asset_buckets.c.n + buckets.excluded.n}),
            versions.on_conflict_do_update(index_elements=["tenant_id", "type"],
                                           set_={"version": type_versions.c.version + 1}))
    return made


_COUNT_KEY = ("tenant_id", "type", "status")
_BUCKET_KEY = ("tenant_id", "type", "status", "level", "bucket")
def _order(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return (str(key[0]), *key[1:])
