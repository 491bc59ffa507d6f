"""SingleFlight: identical computations in flight on one event loop run once, and every caller
waits for that one.

The computation runs as a task of its own, so a caller that goes away (a client that hangs up)
cancels only its own wait: the others still get the answer. An error reaches every caller that
waited for it and is not kept: the next caller after it starts afresh.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    def __init__(self) -> None:
        self._running: dict[Hashable, asyncio.Task[T]] = {}
        self.started = 0  # computations begun (seen by tests and the benchmark) ...
        self.joined = 0  # ... and callers that waited for one already in flight

    async def run(self, key: Hashable, compute: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """compute()'s result, or that of the identical computation already in flight."""
        task = self._running.get(key)
        if task is None:
            task = asyncio.ensure_future(compute())
            self.started += 1
            self._running[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        else:
            self.joined += 1
        return await asyncio.shield(task)

    def _finished(self, key: Hashable, task: asyncio.Task[T]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
        if not task.cancelled():
            task.exception()  # retrieved: no "never retrieved" warning when nobody waited

    def __len__(self) -> int:
        return len(self._running)
