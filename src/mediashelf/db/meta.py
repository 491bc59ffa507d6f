"""MetaRepository: small facts about the library itself (the built-in music version)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mediashelf.db.schema import meta


class MetaRepository:
    def get(self, conn: Connection, key: str) -> str | None:
        return conn.execute(sa.select(meta.c.value).where(meta.c.key == key)).scalar()

    def set(self, conn: Connection, key: str, value: str) -> None:
        if conn.execute(meta.update().where(meta.c.key == key).values(value=value)).rowcount == 0:
            conn.execute(meta.insert().values(key=key, value=value))
