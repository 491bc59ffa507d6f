"""LocalKeyReader: on SQLite, a request's key lookup on a connection of its own thread's.

Every request resolves its key on the event loop. Through the pool and SQLAlchemy's statement
and result machinery, that read cost more than the rest of a cached listing; on the driver's
own connection (LocalReads) it is one B-tree lookup. Each statement runs in its own read
transaction (autocommit), so it sees every write committed before it began, as a pooled read
would.
"""

from __future__ import annotations

from mediashelf.db.local_reads import LocalReads
from mediashelf.db.sql import KeyRow, sqlite
from mediashelf.domain import ApiKey


class LocalKeyReader:
    """One read-only connection per thread that asks (in a server, the event loop's)."""

    def __init__(self, path: str) -> None:
        self._reads = LocalReads(path, failed="keys.lookup_failed")

    async def lookup(self, key_hash: str) -> ApiKey | None:
        """The live key with that hash (versions included), or None; read on the loop itself,
        since one B-tree read costs less than a trip through the thread pool. Unavailable
        (503) if the database cannot be read."""
        rows = self._reads.rows((sqlite.live_keys([key_hash]), KeyRow))
        return sqlite.key(rows[0]) if rows else None

    async def close(self) -> None:
        self._reads.close()
