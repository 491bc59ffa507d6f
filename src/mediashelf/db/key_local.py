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

from mediashelf.db.keys import DB_GONE, key_from_row, live_key_sql
from mediashelf.domain import SYSTEM_TENANT_ID, ApiKey
from mediashelf.errors import Unavailable

log = logging.getLogger("mediashelf.db")

_BY_HASH = live_key_sql("?", "k.key_hash = ?")


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
            raise Unavailable(DB_GONE) from None
        # sa.Uuid keeps ids on SQLite as 32 hex digits
        return None if row is None else key_from_row(row, lambda v: uuid.UUID(hex=v))

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
