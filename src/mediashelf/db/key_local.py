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

from mediashelf.db.keys import DB_GONE
from mediashelf.db.sql import KeyRow, named, sqlite
from mediashelf.domain import ApiKey
from mediashelf.errors import Unavailable

log = logging.getLogger("mediashelf.db")


class LocalKeyReader:
    """One read-only connection per thread that asks (in a server, the event loop's)."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    async def lookup(self, key_hash: str) -> ApiKey | None:
        """The live key with that hash (versions included), or None; read on the loop itself,
        since one B-tree read costs less than a trip through the thread pool."""
        try:
            statement = sqlite.live_keys([key_hash])
            cursor = self._conn().execute(*statement)
            rows = named(cursor, statement[0], cursor.fetchall(), KeyRow)
        except sqlite3.Error as exc:
            log.warning("keys.lookup_failed", extra={"error": type(exc).__name__})
            raise Unavailable(DB_GONE) from None
        return sqlite.key(rows[0]) if rows else None

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

    async def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()
        self._local = threading.local()
