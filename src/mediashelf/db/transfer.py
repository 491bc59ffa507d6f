"""TransferRepository: a whole library's rows, table by table, for `library export` / `import`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mediashelf.db.schema import api_keys, assets, meta, tenants, webhook_endpoints
from mediashelf.domain import Asset, AssetStatus, AssetType

# The library and its subscriptions; not the event outbox nor delivery history (a restored
# library starts them afresh: its streams resync, nothing is delivered twice).
TABLES = {"tenants": tenants, "api_keys": api_keys, "assets": assets,
          "webhook_endpoints": webhook_endpoints, "meta": meta}
_BATCH = 500
_KEPT = ("search_text", "name_key")  # made again from the name and tags on import


class TransferRepository:
    def rows(self, conn: Connection, table: str) -> Iterator[dict[str, Any]]:
        """Every row of one of TABLES, streamed in batches."""
        columns = [c for c in TABLES[table].columns if c.name not in _KEPT]
        result = conn.execution_options(yield_per=_BATCH).execute(sa.select(*columns))
        for row in result.mappings():
            yield dict(row)

    def parse(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        """A row read back from JSON: ids become UUIDs again."""
        for col in TABLES[table].columns:
            if isinstance(col.type, sa.Uuid) and row.get(col.name) is not None:
                row[col.name] = uuid.UUID(row[col.name])
        return row

    def asset(self, row: dict[str, Any]) -> Asset:
        """An asset from its parsed row, from this version's export or an older one."""
        row["type"], row["status"] = AssetType(row["type"]), AssetStatus(row["status"])
        row["extra"] = row["extra"] or {}
        flag = row["extra"].pop("declaredType", None)  # where exports before revision 0003 kept it
        row.setdefault("declared_type", flag is not False)  # as that revision reads it
        tags = row.get("tags") or "[]"  # JSON text; exports before revision 0004 have none
        row["tags"] = json.loads(tags) if isinstance(tags, str) else list(tags)
        for name in _KEPT:
            row.pop(name, None)
        return Asset(**row)

    def is_empty(self, conn: Connection) -> bool:
        """True when the library has no assets and no API keys."""
        return not (conn.execute(sa.select(sa.func.count()).select_from(assets)).scalar_one()
                    or conn.execute(sa.select(sa.func.count()).select_from(api_keys))
                    .scalar_one())

    def tenant_ids(self, conn: Connection) -> set[uuid.UUID]:
        return set(conn.execute(sa.select(tenants.c.id)).scalars())

    def insert(self, conn: Connection, table: str, row: dict[str, Any]) -> None:
        """Add a tenant, key or webhook endpoint row as it was exported."""
        conn.execute(TABLES[table].insert().values(row))

    def put_meta(self, conn: Connection, row: dict[str, Any]) -> None:
        """Set a meta row, replacing the target's own value for that key."""
        conn.execute(meta.delete().where(meta.c.key == row["key"]))
        conn.execute(meta.insert().values(row))
