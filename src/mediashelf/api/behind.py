"""Write-behind for a streamed request body: the next bytes arrive while the last are written.

A tus PATCH used to stop reading its body while each piece was written (and hashed) on a worker
thread; with one write in flight the socket keeps being read meanwhile, so receiving, writing and
the disk's flushing overlap. Writes still happen one at a time, in order.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable


class WriteBehind:
    """At most one `write(data)` on a worker thread while the caller goes on receiving."""

    def __init__(self, write: Callable[[bytes], None]) -> None:
        self._write = write
        self._pending: asyncio.Future[None] | None = None

    async def put(self, data: bytes) -> None:
        """Wait for the write before (raising its error, if any), then start this one."""
        await self.wait()
        run = functools.partial(contextvars.copy_context().run, self._write, data)
        self._pending = asyncio.get_running_loop().run_in_executor(None, run)

    async def wait(self) -> None:
        """Until the write in flight is done; its error, if it failed. A cancelled caller
        leaves it in flight (a thread cannot be stopped), for the next wait to see it end."""
        pending = self._pending
        if pending is None:
            return
        try:
            await asyncio.shield(pending)
        finally:
            if pending.done():
                self._pending = None
