"""One poller per API process that feeds every open event stream of the process.

Streams work with any number of API processes because each one reads the events table, never
an in-memory bus: every `poll_s` the hub asks for the events after each subscribed tenant's
cursor (one statement for all of them), renders each event once and hands it to the streams
of that tenant. It runs only while some stream is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Collection

import anyio

from mediashelf.db.events import Event
from mediashelf.domain import EventType
from mediashelf.logs import Outage
from mediashelf.metrics import EVENT_STREAMS
from mediashelf.services.events import EventService

log = logging.getLogger("mediashelf.events")

_BATCH = 500  # events read per poll (the rest at the next one)
Item = tuple[Event, bytes]


class Subscription:
    """One open stream: its tenant, where it stands, the types it wants, and its inbox."""

    def __init__(self, tenant_id: uuid.UUID, after_id: int, types: Collection[EventType],
                 backlog: int) -> None:
        self.tenant_id, self.cursor, self.types = tenant_id, after_id, frozenset(types)
        self.inbox: asyncio.Queue[Item | None] = asyncio.Queue()
        self._backlog = backlog
        self.closed = False

    def offer(self, event: Event, body: bytes) -> None:
        self.cursor = event.id
        if self.types and event.type not in self.types:
            return
        if self.inbox.qsize() >= self._backlog:  # a reader that stopped reading: let it go,
            self.close()  # it resumes from the table with its Last-Event-ID
            return
        self.inbox.put_nowait((event, body))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.inbox.put_nowait(None)

    async def next(self) -> Item | None:
        """The next event, or None when the stream must end."""
        return await self.inbox.get()


class EventHub:
    def __init__(self, events: EventService, poll_s: float, backlog: int = 1000) -> None:
        self._events = events
        self._poll_s = poll_s
        self._backlog = backlog
        self._subs: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._outage = Outage(log, "events.poll_failed")

    @property
    def open_streams(self) -> int:
        return len(self._subs)

    def subscribe(self, tenant_id: uuid.UUID, after_id: int,
                  types: Collection[EventType] = ()) -> Subscription:
        sub = Subscription(tenant_id, after_id, types, self._backlog)
        self._subs.add(sub)
        EVENT_STREAMS.inc()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="event-hub")
        self._wake.set()  # a new stream gets its backlog now, not at the next tick
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.discard(sub)
            EVENT_STREAMS.dec()
        sub.close()

    async def close(self) -> None:
        """End every stream and the poller (the app's shutdown)."""
        for sub in list(self._subs):
            self.unsubscribe(sub)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while self._subs:
            self._wake.clear()
            try:
                await self.poll()
                self._outage.ok()
            except Exception:  # the database may be back at the next tick
                self._outage.failed()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_s)

    async def poll(self) -> None:
        """Read what is new for every subscribed tenant and hand it out."""
        cursors: dict[uuid.UUID, int] = {}
        for sub in self._subs:
            cursors[sub.tenant_id] = min(cursors.get(sub.tenant_id, sub.cursor), sub.cursor)
        if not cursors:
            return
        items = await anyio.to_thread.run_sync(self._read, cursors)
        for event, body in items:
            for sub in list(self._subs):
                if sub.tenant_id == event.tenant_id and event.id > sub.cursor:
                    sub.offer(event, body)
                    if sub.closed:
                        self.unsubscribe(sub)

    def _read(self, cursors: dict[uuid.UUID, int]) -> list[Item]:
        return [(e, self._events.render(e)) for e in self._events.read_many(cursors, _BATCH)]
