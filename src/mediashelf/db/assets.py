"""AssetRepository: every SQL statement about assets and their counts."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, overload

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, RowMapping

from mediashelf.db.schema import (
    BUCKET_SHIFTS,
    asset_buckets,
    asset_counts,
    assets,
    library_versions,
)
from mediashelf.domain import Asset, AssetStatus, AssetType

_FIELDS = [c.name for c in assets.columns]
assert [f.name for f in dataclasses.fields(Asset)] == _FIELDS, "rows are read positionally"


# Built once: GET /v1/assets/{id} runs it on every call.
_GET_VISIBLE = sa.select(assets).where(
    assets.c.id == sa.bindparam("id"),
    assets.c.tenant_id.in_(sa.bindparam("owners", expanding=True)),
    assets.c.deleted_ms.is_(None))


def _to_asset(row: RowMapping) -> Asset:
    data: dict[str, Any] = dict(row)
    data["type"] = AssetType(data["type"])
    data["status"] = AssetStatus(data["status"])
    data["extra"] = data["extra"] or {}
    return Asset(**data)


def _row(asset: Asset) -> dict[str, Any]:
    return {f: getattr(asset, f) for f in _FIELDS}


class _Memo:
    """A small thread-safe LRU map."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            if len(self._items) > self._size:
                self._items.popitem(last=False)


class AssetRepository:
    def __init__(self) -> None:
        self._sums = _Memo(4096)  # bucket sums by filter, parent bucket and library versions

    def insert(self, conn: Connection, asset: Asset) -> None:
        conn.execute(assets.insert().values(_row(asset)))
        self._bump(conn, [(asset.id, asset.tenant_id, asset.type.value, asset.status.value, 1)])

    def get(self, conn: Connection, asset_id: uuid.UUID) -> Asset | None:
        row = conn.execute(sa.select(assets).where(assets.c.id == asset_id)).mappings().first()
        return _to_asset(row) if row else None

    def get_visible(self, conn: Connection, asset_id: uuid.UUID,
                    owners: Sequence[uuid.UUID]) -> Asset | None:
        """A live asset owned by one of owners, or None."""
        row = conn.execute(_GET_VISIBLE, {"id": asset_id, "owners": list(owners)}
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

    def listing(self, conn: Connection, owners: Sequence[uuid.UUID], types: Sequence[AssetType],
                statuses: Sequence[AssetStatus], offset: int, limit: int
                ) -> tuple[int, Sequence[Asset], tuple[int, ...], list[tuple[Any, ...]]]:
        """The exact total, rows offset..offset+limit of the live matches (newest first), the
        owners' library versions, all read in one snapshot, and each asset's row as read
        (hashable: equal rows, equal assets).

        Totals come from the kept counts. A page near either end is read straight from the
        groups' index ranges, merged; a page deeper than _DIRECT rows from both ends is found by
        descending the bucket counts to the ~17-minute bucket where it starts, then seeking
        there by id, so its cost does not grow with the page number. The statements are driver
        SQL built once per shape: building SQLAlchemy expressions cost more than running them.
        """
        sql = _Sql.of(conn)
        keys = ([sql.uuid(o) for o in owners], [t.value for t in types],
                [s.value for s in statuses])
        heads = _fetch(conn, sql.heads(len(owners), len(types), len(statuses)),
                       (*keys[0], *keys[1], *keys[2], *keys[0]))
        groups = [g for g in heads if g[1] is not None]
        kept = {g[0]: int(g[3]) for g in heads if g[1] is None}
        versions = tuple(kept.get(o, 0) for o in keys[0])
        total = sum(int(g[3]) for g in groups)
        if offset >= total or limit <= 0:
            return total, [], versions, []
        take = min(limit, total - offset)
        newest_first = offset <= total - offset - take
        skip = offset if newest_first else total - offset - take
        bound: uuid.UUID | None = None
        if skip > _DIRECT:
            found = self._locate(conn, sql, keys, skip, newest_first, versions)
            if found is not None:
                bound, skip = found
        params: list[Any] = []
        for owner, t, s, n in groups:
            params += [owner, t, s]
            if bound is not None:
                params.append(sql.uuid(bound))
            params.append(min(int(n), skip + take))
        params += [take, skip]
        rows = _fetch(conn, sql.page(len(groups), bound is not None, newest_first), params)
        return total, _Decoded(rows, sql.asset), versions, rows

    def _locate(self, conn: Connection, sql: _Sql, keys: tuple[list[Any], list[str], list[str]],
                skip: int, newest_first: bool, versions: tuple[int, ...]
                ) -> tuple[uuid.UUID, int] | None:
        """The id bound of the finest bucket holding row `skip` (from the chosen end), and how
        many rows of the way remain to skip past that bound; None if the counts run out.

        Bucket sums are kept per (filter, parent bucket, library versions): a walk through the
        pages reads the same coarse sums again and again, and equal versions mean equal sums.
        """
        before, chosen = 0, -1
        shape = (len(keys[0]), len(keys[1]), len(keys[2]))
        for level in reversed(range(len(BUCKET_SHIFTS))):
            params: list[Any] = [*keys[0], *keys[1], *keys[2], level]
            if chosen >= 0:
                span = BUCKET_SHIFTS[level + 1] - BUCKET_SHIFTS[level]
                params += [chosen << span, (chosen + 1) << span]
            memo = (sql.pg, versions, newest_first, *params)
            sums = self._sums.get(memo)
            if sums is None:
                sums = [(int(b), int(n)) for b, n in _fetch(
                    conn, sql.buckets(*shape, chosen >= 0, newest_first), params)]
                self._sums.put(memo, sums)
            for bucket, n in sums:
                if before + n > skip:
                    chosen = bucket
                    break
                before += n
            else:
                return None
        ms = (chosen + 1 if newest_first else chosen) << BUCKET_SHIFTS[0]
        return uuid.UUID(int=ms << 80), skip - before

    def page(self, conn: Connection, owners: Sequence[uuid.UUID], types: Sequence[AssetType],
             statuses: Sequence[AssetStatus], offset: int, limit: int, total: int) -> list[Asset]:
        """Rows offset..offset+limit of the live assets matching, newest first."""
        return list(self.listing(conn, owners, types, statuses, offset, limit)[1])

    def update_fields(self, conn: Connection, asset_id: uuid.UUID, **fields: Any) -> None:
        owner = conn.execute(assets.update().where(assets.c.id == asset_id).values(**fields)
                             .returning(assets.c.tenant_id)).scalar()
        if owner is not None:
            self._raise_versions(conn, [owner])

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
        self._bump(conn, [(r["id"], r["tenant_id"], str(r["type"]), str(r["status"]), 1)
                          for r in rows if r["deleted_ms"] is None])

    def _bump(self, conn: Connection,
              changes: Sequence[tuple[uuid.UUID, uuid.UUID, str, str, int]]) -> None:
        """Add (asset id, owner, type, status, delta) changes to the kept counts and buckets.

        Rows are upserted in one fixed order, so that concurrent writers on PostgreSQL take
        their row locks in the same order and cannot deadlock one another.
        """
        groups: dict[tuple[uuid.UUID, str, str], int] = {}
        buckets: dict[tuple[uuid.UUID, str, str, int, int], int] = {}
        for asset_id, tenant, t, s, delta in changes:
            groups[(tenant, t, s)] = groups.get((tenant, t, s), 0) + delta
            ms = asset_id.int >> 80
            for level, shift in enumerate(BUCKET_SHIFTS):
                key = (tenant, t, s, level, ms >> shift)
                buckets[key] = buckets.get(key, 0) + delta
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        for table, deltas, names in ((asset_counts, groups, _COUNT_KEY),
                                     (asset_buckets, buckets, _BUCKET_KEY)):
            params = [{**dict(zip(names, k, strict=True)), "n": n}
                      for k, n in sorted(deltas.items(), key=lambda kv: _order(kv[0])) if n]
            if not params:
                continue
            stmt = insert(table)
            conn.execute(stmt.on_conflict_do_update(
                index_elements=list(names), set_={"n": table.c.n + stmt.excluded.n}), params)
        self._raise_versions(conn, [tenant for tenant, _, _ in groups])

    def _raise_versions(self, conn: Connection, owners: Iterable[uuid.UUID]) -> None:
        """Raise the owners' library versions (last of a write's upserts, in a fixed order)."""
        params = [{"tenant_id": o, "version": 1} for o in sorted(set(owners), key=str)]
        if not params:
            return
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(library_versions)
        conn.execute(stmt.on_conflict_do_update(
            index_elements=["tenant_id"], set_={"version": library_versions.c.version + 1}),
            params)


_COUNT_KEY = ("tenant_id", "type", "status")
_BUCKET_KEY = ("tenant_id", "type", "status", "level", "bucket")
_DIRECT = 1000  # pages within this many rows of either end are read without the buckets
_COLUMNS = ", ".join(f"a.{f}" for f in _FIELDS)


class _Sql:
    """The listing's statements as driver SQL for one dialect, built once per shape."""

    _made: dict[str, _Sql] = {}

    def __init__(self, pg: bool) -> None:
        self.pg = pg
        self._cache: dict[tuple[Any, ...], str] = {}

    @classmethod
    def of(cls, conn: Connection) -> _Sql:
        name = conn.dialect.name
        made = cls._made.get(name)
        if made is None:
            made = cls._made[name] = cls(name == "postgresql")
        return made

    def uuid(self, value: uuid.UUID) -> Any:
        return value if self.pg else value.hex  # SQLite keeps UUIDs as 32 hex digits

    def _text(self, key: tuple[Any, ...], build: Callable[[], str]) -> str:
        text = self._cache.get(key)
        if text is None:
            text = build()
            if self.pg:
                text = text.replace("?", "%s")
            self._cache[key] = text
        return text

    @staticmethod
    def _filters(owners: int, types: int, statuses: int) -> str:
        return (f"tenant_id IN ({', '.join('?' * owners)}) AND type IN ({', '.join('?' * types)})"
                f" AND status IN ({', '.join('?' * statuses)})")

    def heads(self, owners: int, types: int, statuses: int) -> str:
        """The non-empty groups' counts, then (type NULL) the owners' versions: one statement,
        one snapshot, one round trip."""
        return self._text(("h", owners, types, statuses), lambda: (
            "SELECT tenant_id, type, status, n FROM asset_counts WHERE "
            f"{self._filters(owners, types, statuses)} AND n > 0 UNION ALL "
            "SELECT tenant_id, NULL, NULL, version FROM library_versions WHERE tenant_id IN "
            f"({', '.join('?' * owners)})"))

    def buckets(self, owners: int, types: int, statuses: int, within: bool, desc: bool) -> str:
        return self._text(("b", owners, types, statuses, within, desc), lambda: (
            f"SELECT bucket, SUM(n) FROM asset_buckets WHERE "
            f"{self._filters(owners, types, statuses)} AND level = ?"
            f"{' AND bucket >= ? AND bucket < ?' if within else ''} GROUP BY bucket "
            f"ORDER BY bucket {'DESC' if desc else 'ASC'}"))

    def page(self, groups: int, bounded: bool, desc: bool) -> str:
        def build() -> str:
            way = "DESC" if desc else "ASC"
            seek = (" AND id < ?" if desc else " AND id >= ?") if bounded else ""
            parts = [f"SELECT id FROM (SELECT id FROM assets WHERE tenant_id = ? AND type = ? "
                     f"AND status = ? AND deleted_ms IS NULL{seek} ORDER BY id {way} LIMIT ?) "
                     f"AS g{i}" for i in range(groups)]
            # the JSON column as text on PostgreSQL too, so that a row is hashable
            columns = _COLUMNS.replace("a.extra", "a.extra::text") if self.pg else _COLUMNS
            return (f"SELECT {columns} FROM assets a JOIN (SELECT id FROM "
                    f"({' UNION ALL '.join(parts)}) AS m ORDER BY id {way} LIMIT ? OFFSET ?) "
                    f"AS p ON a.id = p.id ORDER BY a.id DESC")
        return self._text(("p", groups, bounded, desc), build)

    def asset(self, row: Sequence[Any]) -> Asset:
        """A driver row (columns in _FIELDS order, which is Asset's) as an Asset."""
        values: list[Any]
        if self.pg:
            values = [row[0], row[1], row[2], AssetType(row[3]), AssetStatus(row[4]),
                      *row[5:22], orjson.loads(row[22]) if row[22] else {}, row[23]]
        else:
            has_audio = None if row[13] is None else bool(row[13])
            values = [uuid.UUID(int=int(row[0], 16)), uuid.UUID(int=int(row[1], 16)), row[2],
                      AssetType(row[3]), AssetStatus(row[4]), *row[5:13], has_audio,
                      *row[14:22], orjson.loads(row[22]) if row[22] else {}, bool(row[23])]
        return Asset(*values)


class _Decoded(Sequence[Asset]):
    """A page's rows, each made an Asset when first read: a listing whose rows' wire bytes
    are remembered (api.schemas.WireMemo) never needs most of them."""

    def __init__(self, rows: list[tuple[Any, ...]], decode: Callable[[Sequence[Any]], Asset]
                 ) -> None:
        self._rows, self._decode = rows, decode
        self._made: dict[int, Asset] = {}

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> Asset: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Asset]: ...

    def __getitem__(self, index: int | slice) -> Asset | Sequence[Asset]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self._rows))[index]]
        i = range(len(self._rows))[index]
        made = self._made.get(i)
        if made is None:
            made = self._made[i] = self._decode(self._rows[i])
        return made


def _fetch(conn: Connection, statement: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows of a listing statement, through the driver's own cursor: SQLAlchemy's result
    machinery costs more than these small reads do (the transaction is still SQLAlchemy's)."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(statement, tuple(params))
        return [tuple(r) for r in cursor.fetchall()]
    finally:
        cursor.close()


def _order(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return (str(key[0]), *key[1:])
