"""LocalReads: on SQLite, a listing's or an asset's statements on the driver's own connection.

Through the pool, a listing paid SQLAlchemy's checkout, BEGIN, COMMIT and checkin around its two
small statements: about a sixth of a first page's CPU. Here each thread that reads (the event
loop's, a read thread's) keeps one read-only connection of its own, and a listing whose counts
are known at the request key's versions runs without a transaction, its page in one statement
that checks the versions in its own snapshot (Listing.guess, as on PostgreSQL); any other
listing runs in one read transaction (BEGIN … COMMIT), which in WAL mode is one snapshot.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from mediashelf.db.keys import DB_GONE
from mediashelf.db.listing import Guess, Step, Steps, drive
from mediashelf.db.sql import fetch_on
from mediashelf.domain import Page
from mediashelf.errors import Unavailable

log = logging.getLogger("mediashelf.db")


class LocalReads:
    """Reads on one read-only connection per thread that asks, opened on first use."""

    def __init__(self, path: str, *, failed: str = "reads.failed") -> None:
        self._path = path
        self._failed = failed  # the event logged when a read fails
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def listing(self, steps: Callable[[], Steps],
                guess: Callable[[], Guess | None] = lambda: None) -> Page:
        """The page steps() reads, or, when guess() makes them, the page its statements read
        without a transaction (unless the library changed)."""
        try:
            conn = self._conn()
            made = guess()
            if made is not None:
                page = drive(made, lambda step: fetch_on(conn, *step))
                if page is not None:
                    return page
            conn.execute("BEGIN")
            try:
                found = drive(steps(), lambda step: fetch_on(conn, *step))
            finally:
                conn.execute("COMMIT")  # a read: nothing to undo, the snapshot is let go
        except sqlite3.Error as exc:
            raise self._gone(exc) from None
        assert found is not None
        return found

    def rows(self, step: Step) -> list[Any]:
        """One statement's rows (a statement alone is its own snapshot)."""
        try:
            return fetch_on(self._conn(), *step)
        except sqlite3.Error as exc:
            raise self._gone(exc) from None

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # as the pool's connections (db/database.py): wait out a writer's checkpoint or
            # recovery, and the same page cache and memory map
            conn = sqlite3.connect(self._path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            for pragma in ("query_only=ON", "cache_size=-65536", "mmap_size=268435456"):
                conn.execute(f"PRAGMA {pragma}")
            self._local.conn = conn
            with self._lock:
                self._opened.append(conn)
        return conn

    def _gone(self, exc: sqlite3.Error) -> Unavailable:
        """The error to answer; this thread's connection is let go (it may be left inside a
        transaction), and the next read opens another."""
        log.warning(self._failed, extra={"error": type(exc).__name__})
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            with self._lock:
                if conn in self._opened:
                    self._opened.remove(conn)
            conn.close()
        return Unavailable(DB_GONE)

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()
        self._local = threading.local()

