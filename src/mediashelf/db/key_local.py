"""LocalKeyReader: on SQLite, a request's key lookup on a connection of its own thread's.

Every request resolves its key on the event loop. Through the pool and SQLAlchemy's statement
and result machinery, that read cost more than the rest of a cached listing; on the driver's
own connection it is one B-tree lookup. Each statement runs in its own read transaction
(autocommit), so it sees every write committed before it began, as a pooled read would.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import uuid

from mediashelf.domain import SYSTEM_TENANT_ID, ApiKey
from mediashelf.errors import Unavailable

log = logging.getLogger("mediashelf.db")

_BY_HASH = (
    "SELECT k.id, k.tenant_id, t.name, k.prefix, k.created_ms, k.revoked_ms, k.last_used_ms, "
    "(SELECT v.version FROM library_versions v WHERE v.tenant_id = k.tenant_id), "
    "(SELECT v.version FROM library_versions v WHERE v.tenant_id = ?) "
    "FROM api_keys k JOIN tenants t ON t.id = k.tenant_id "
    "WHERE k.key_hash = ? AND k.revoked_ms IS NULL")


class LocalKeyReader:
    """One read-only connection per thread that asks (in a server, the event loop's)."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def lookup(self, key_hash: str) -> ApiKey | None:
        """The live key with that hash (versions included), or None."""
        try:
            row = self._conn().execute(_BY_HASH, (SYSTEM_TENANT_ID.hex, key_hash)).fetchone()
        except sqlite3.Error as exc:
            log.warning("keys.lookup_failed", extra={"error": type(exc).__name__})
            raise Unavailable("the database is unavailable; try again shortly") from None
        if row is None:
            return None
        # sa.Uuid keeps ids on SQLite as 32 hex digits
        key = ApiKey(id=uuid.UUID(hex=row[0]), tenant_id=uuid.UUID(hex=row[1]),
                     tenant_name=row[2], prefix=row[3], created_ms=row[4], revoked_ms=row[5],
                     last_used_ms=row[6])
        key.versions = (int(row[7] or 0), int(row[8] or 0))
        return key

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # timeout: as the pool's connections, wait out a writer's checkpoint or recovery
            conn = sqlite3.connect(self._path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
            with self._lock:
                self._opened.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()
        self._local = threading.local()
