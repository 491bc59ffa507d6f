"""AsyncReads: on PostgreSQL, the statements of a listing or an asset run on the event loop.

A listing waits on the network for most of its time and computes little. On a read thread each
statement cost a GIL hand-off each way and a thread switch, which, with many requests in flight,
cost the API process more CPU than the listing's own work. Here each statement is awaited on
psycopg's asynchronous connection, one snapshot per listing as on the thread (REPEATABLE READ,
read only), with the generic plans of the thread's pool (see open_database). A listing whose
counts are known at the request key's versions runs without a transaction: its page in one
statement, after the bucket sums a deep page needs that are not known yet (Listing.guess).

The connections are kept in a small pool of our own rather than psycopg_pool's: that one makes
a request wait up to its timeout while it reconnects in the background, and a database that is
down must answer 503 at once, as on every other path.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from psycopg.pq import TransactionStatus

from mediashelf.db.keys import DB_GONE
from mediashelf.db.listing import Guess, Step, Steps
from mediashelf.db.sql import named
from mediashelf.domain import Page
from mediashelf.errors import Unavailable

log = logging.getLogger("mediashelf.db")
Conn = psycopg.AsyncConnection[Any]
T = TypeVar("T")


class AsyncReads:
    """Lives on one event loop (an API process's): at most `size` connections, opened on
    demand and kept while they stay sound."""

    def __init__(self, conninfo: str, *, size: int, options: str,
                 timeout: float = 30.0) -> None:
        self._conninfo, self._options, self._timeout = conninfo, options, timeout
        self._idle: list[Conn] = []
        self.size = max(1, size)
        self._slots = asyncio.Semaphore(self.size)

    async def listing(self, steps: Callable[[], Steps],
                      guess: Callable[[], Guess | None] = lambda: None) -> Page:
        """The page steps() reads, or, when guess() makes them, the page its statements read
        without a transaction (unless the library changed)."""

        async def read(conn: Conn) -> Page:
            made = guess()
            if made is not None:
                page = await _drive(conn, made)
                if page is not None:
                    return page
            return await _run(conn, steps())

        return await self._retrying(read)

    async def rows(self, step: Step) -> list[Any]:
        """One statement's rows (a statement alone is its own snapshot)."""
        return await self._retrying(functools.partial(_fetch, step=step))

    async def _retrying(self, read: Callable[[Conn], Awaitable[T]]) -> T:
        """read(conn), run once more on a fresh connection if the kept one turns out to be
        lost (a server restart): the caller never sees that."""
        for attempt in (1, 2):
            reused = False
            try:
                async with self._connection() as (conn, reused), asyncio.timeout(self._timeout):
                    return await read(conn)
            except (psycopg.OperationalError, OSError, TimeoutError) as exc:
                if attempt == 1 and reused and isinstance(exc, psycopg.OperationalError):
                    await self._drop_idle()  # a restart took the others too
                    continue
                log.warning("reads.failed", extra={"error": type(exc).__name__})
                raise Unavailable(DB_GONE) from None
        raise AssertionError("unreachable")

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[tuple[Conn, bool]]:
        async with self._slots:
            reused = bool(self._idle)
            conn = self._idle.pop() if reused else await self._connect()
            try:
                yield conn, reused
            finally:
                if conn.closed or conn.info.transaction_status != TransactionStatus.IDLE:
                    await _close(conn)  # lost, or left mid-statement by a cancelled request
                else:
                    self._idle.append(conn)

    async def _connect(self) -> Conn:
        # A single statement is its own snapshot, so it runs without a transaction (no BEGIN
        # and COMMIT round trips); every transaction on it is one read-only snapshot.
        conn = await psycopg.AsyncConnection.connect(
            self._conninfo, autocommit=True, connect_timeout=10, application_name="mediashelf",
            options=self._options)
        await conn.set_isolation_level(psycopg.IsolationLevel.REPEATABLE_READ)
        await conn.set_read_only(True)
        return conn

    async def _drop_idle(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            await _close(conn)

    async def close(self) -> None:
        await self._drop_idle()


async def _close(conn: Conn) -> None:
    try:
        await conn.close()
    except Exception:  # already broken: nothing more to release
        log.debug("reads.close_failed", exc_info=True)


async def _fetch(conn: Conn, step: Step) -> list[Any]:
    (statement, shape) = step
    async with psycopg.AsyncRawCursor(conn) as cursor:
        await cursor.execute(_numbered(statement[0]), statement[1])
        return named(cursor, statement[0], await cursor.fetchall(), shape)


@functools.lru_cache(maxsize=4096)
def _numbered(text: str) -> bytes:
    """The statement with PostgreSQL's own placeholders ($1, $2 …) for its %s, run on a raw
    cursor: psycopg then sends it as it is, where it would parse a statement's text for its
    %s at every execution (it keeps only short statements parsed; a deep page's is long)."""
    parts = text.split("%s")
    if any("%" in part for part in parts):  # %% or another psycopg placeholder: none here
        raise ValueError("a statement for the loop's reads holds only %s placeholders")
    return "".join(f"{part}${i}" for i, part in enumerate(parts[:-1], 1)).encode() \
        + parts[-1].encode()


async def _run(conn: Conn, steps: Steps) -> Page:
    async with conn.transaction():
        page = await _drive(conn, steps)
    assert page is not None
    return page


async def _drive(conn: Conn, steps: Steps | Guess) -> Page | None:
    """Run the statements steps yields, sending each its rows, and return what it returns."""
    try:
        step = next(steps)
        while True:
            step = steps.send(await _fetch(conn, step))
    except StopIteration as done:
        page: Page | None = done.value
        return page
