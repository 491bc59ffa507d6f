"""QuotaRepository: the shared counters behind request budgets (services/limits.py)."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from mediashelf.db.schema import rate_limits
from mediashelf.db.sql import QuotaRow, dialect, fetch


class QuotaRepository:
    def reserve(self, conn: Connection, bucket: str, want: int, limit: int, now_ms: int,
                window_ms: int) -> QuotaRow:
        """Up to `want` units of the bucket's current window, never past `limit` in all."""
        sql = dialect(conn.dialect.name)
        return fetch(conn, sql.reserve_quota(bucket, want, limit, now_ms, window_ms),
                     QuotaRow)[0]

    def purge(self, conn: Connection, before_ms: int) -> int:
        """Forget windows that ended before then."""
        return conn.execute(rate_limits.delete().where(
            rate_limits.c.expires_ms < before_ms)).rowcount
