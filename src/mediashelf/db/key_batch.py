"""KeyBatcher: on PostgreSQL, the key lookups of concurrent requests share one round trip.

Every request resolves its key, and with it the versions its cached listing depends on. A
lookup that waits for the next batch (never the one already in flight) still reads the database
after the request arrived, so the answer is exactly as fresh as a lookup of its own.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import psycopg

from mediashelf.db.keys import DB_GONE
from mediashelf.db.sql import KeyRow, named, postgresql
from mediashelf.domain import ApiKey
from mediashelf.errors import Unavailable

log = logging.getLogger("mediashelf.db")


class KeyBatcher:
    """Lives on one event loop (an API process's); connects on first use, again after a loss."""

    def __init__(self, conninfo: str, *, timeout: float = 30.0) -> None:
        self._conninfo, self._timeout = conninfo, timeout
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._waiting: dict[str, list[asyncio.Future[ApiKey | None]]] = {}
        self._drainer: asyncio.Task[None] | None = None

    async def lookup(self, key_hash: str) -> ApiKey | None:
        """The live key with that hash (versions included), or None."""
        future: asyncio.Future[ApiKey | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key_hash, []).append(future)
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, {}
            try:
                found = await self._read_retrying(list(batch))
            except (psycopg.Error, OSError, TimeoutError) as exc:
                log.warning("keys.lookup_failed", extra={"error": type(exc).__name__})
                await self._drop()
                for futures in batch.values():
                    _settle(futures, error=Unavailable(DB_GONE))
                continue
            for key_hash, futures in batch.items():
                _settle(futures, found.get(key_hash))

    async def _read_retrying(self, hashes: list[str]) -> dict[str, ApiKey]:
        """One read; a connection that was lost while idle (a server restart, a proxy's idle
        timeout) is replaced once, so the requests waiting do not see the loss."""
        reused = self._conn is not None and not self._conn.closed
        try:
            return await asyncio.wait_for(self._read(hashes), self._timeout)
        except psycopg.OperationalError:
            if not reused:
                raise
            await self._drop()
            return await asyncio.wait_for(self._read(hashes), self._timeout)

    async def _read(self, hashes: list[str]) -> dict[str, ApiKey]:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True, connect_timeout=10,
                application_name="mediashelf")
        # one text for any number of keys, so psycopg prepares it once
        statement = postgresql.live_keys(hashes)
        cur = await self._conn.execute(*statement)
        rows = named(cur, statement[0], await cur.fetchall(), KeyRow)
        return {row.key_hash: postgresql.key(row) for row in rows}

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close()
            except Exception:  # already broken: nothing more to release
                log.debug("keys.close_failed", exc_info=True)

    async def close(self) -> None:
        await self._drop()


def _settle(futures: list[asyncio.Future[ApiKey | None]], key: ApiKey | None = None,
            error: Exception | None = None) -> None:
    for future in futures:
        if future.done():  # its request was cancelled (the client went away)
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(key)
