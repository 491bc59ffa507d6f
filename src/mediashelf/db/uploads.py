"""UploadRepository: every statement about resumable uploads (the same SQL on both databases).

A PATCH takes the upload's lock with one conditional UPDATE (at the offset it was sent for, when
no live lock is held), so two requests never write one upload at once, in one process or many.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mediashelf.db.schema import uploads
from mediashelf.domain import AssetType, Upload


def _upload(row: Any) -> Upload:
    return Upload(id=row.id, tenant_id=row.tenant_id, length=row.length, received=row.received,
                  created_ms=row.created_ms, expires_ms=row.expires_ms, metadata=row.metadata,
                  name=row.name, filename=row.filename,
                  declared_type=AssetType(row.declared_type) if row.declared_type else None,
                  content_type=row.content_type, dedupe=bool(row.dedupe),
                  state=dict(row.state or {}),
                  asset_id=row.asset_id)


class UploadRepository:
    def insert(self, conn: Connection, up: Upload) -> None:
        conn.execute(uploads.insert().values(
            id=up.id, tenant_id=up.tenant_id, length=up.length, received=up.received,
            created_ms=up.created_ms, updated_ms=up.created_ms, expires_ms=up.expires_ms,
            metadata=up.metadata, name=up.name, filename=up.filename,
            declared_type=up.declared_type.value if up.declared_type else None,
            content_type=up.content_type, dedupe=up.dedupe, state=up.state))

    def get(self, conn: Connection, upload_id: uuid.UUID, tenant_id: uuid.UUID) -> Upload | None:
        """The tenant's upload; another tenant's is None, as if it did not exist."""
        row = conn.execute(sa.select(uploads).where(uploads.c.id == upload_id,
                                                    uploads.c.tenant_id == tenant_id)).first()
        return _upload(row) if row else None

    def lock(self, conn: Connection, upload_id: uuid.UUID, tenant_id: uuid.UUID, offset: int,
             token: str, now: int, until: int) -> Upload | None:
        """Take the lock of an unfinished, unexpired upload at `offset` and read it in the same
        statement (a PATCH's first round trip); None if it cannot be taken."""
        row = conn.execute(uploads.update().where(
            uploads.c.id == upload_id, uploads.c.tenant_id == tenant_id,
            uploads.c.received == offset, uploads.c.asset_id.is_(None),
            uploads.c.expires_ms > now,
            sa.or_(uploads.c.lock_token.is_(None), uploads.c.lock_expires_ms < now),
        ).values(lock_token=token, lock_expires_ms=until).returning(*uploads.c)).first()
        return _upload(row) if row else None

    def locked(self, conn: Connection, upload_id: uuid.UUID, now: int) -> bool:
        row = conn.execute(sa.select(uploads.c.lock_expires_ms).where(
            uploads.c.id == upload_id, uploads.c.lock_token.is_not(None))).first()
        return row is not None and row.lock_expires_ms >= now

    def extend(self, conn: Connection, upload_id: uuid.UUID, token: str, until: int) -> bool:
        res = conn.execute(uploads.update().where(
            uploads.c.id == upload_id, uploads.c.lock_token == token,
        ).values(lock_expires_ms=until))
        return res.rowcount == 1

    def save(self, conn: Connection, upload_id: uuid.UUID, token: str, received: int,
             state: dict[str, Any], now: int, expires_ms: int) -> bool:
        """Record the bytes a PATCH wrote and release its lock; False if the lock was lost."""
        res = conn.execute(uploads.update().where(
            uploads.c.id == upload_id, uploads.c.lock_token == token,
        ).values(received=received, state=state, updated_ms=now, expires_ms=expires_ms,
                 lock_token=None, lock_expires_ms=None))
        return res.rowcount == 1

    def unlock(self, conn: Connection, upload_id: uuid.UUID, token: str) -> None:
        conn.execute(uploads.update().where(uploads.c.id == upload_id,
                                            uploads.c.lock_token == token)
                     .values(lock_token=None, lock_expires_ms=None))

    def finish(self, conn: Connection, upload_id: uuid.UUID, token: str, asset_id: uuid.UUID,
               now: int, expires_ms: int) -> bool:
        """The final PATCH made the asset: the upload now only answers HEAD until it expires."""
        res = conn.execute(uploads.update().where(
            uploads.c.id == upload_id, uploads.c.lock_token == token,
        ).values(received=uploads.c.length, asset_id=asset_id, state={}, updated_ms=now,
                 expires_ms=expires_ms, lock_token=None, lock_expires_ms=None))
        return res.rowcount == 1

    def claim_removal(self, conn: Connection, upload_id: uuid.UUID, tenant_id: uuid.UUID | None,
                      token: str, now: int, until: int) -> Upload | None:
        """Lock an upload for removal (termination, expiry) unless a live request writes it."""
        where = [uploads.c.id == upload_id,
                 sa.or_(uploads.c.lock_token.is_(None), uploads.c.lock_expires_ms < now)]
        if tenant_id is not None:
            where.append(uploads.c.tenant_id == tenant_id)
        res = conn.execute(uploads.update().where(*where)
                           .values(lock_token=token, lock_expires_ms=until))
        if res.rowcount != 1:
            return None
        row = conn.execute(sa.select(uploads).where(uploads.c.id == upload_id)).first()
        return _upload(row) if row else None

    def expired(self, conn: Connection, now: int, limit: int) -> list[uuid.UUID]:
        rows = conn.execute(sa.select(uploads.c.id).where(uploads.c.expires_ms <= now)
                            .order_by(uploads.c.expires_ms).limit(limit))
        return [row.id for row in rows]

    def delete(self, conn: Connection, upload_id: uuid.UUID, token: str) -> None:
        conn.execute(uploads.delete().where(uploads.c.id == upload_id,
                                            uploads.c.lock_token == token))
