"""Asset events: recorded in the transaction of the change they report (the outbox), rendered
once for the SSE stream and the webhooks, and swept after the retention window."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence

import orjson
from sqlalchemy.engine import Connection

from mediashelf.db.database import Database, before_commit
from mediashelf.db.events import Event, EventRepository
from mediashelf.domain import Asset, EventType, now_ms
from mediashelf.services.assets import Links
from mediashelf.services.wire import iso, to_wire

log = logging.getLogger("mediashelf.events")

# Events whose asset has no working links any more.
_UNLINKED = frozenset({EventType.DELETED, EventType.PURGED})


class EventService:
    """record() inside a write transaction; render() for any sender; reads by tenant cursor."""

    def __init__(self, db: Database, repo: EventRepository, retention_s: float,
                 links: Callable[[Asset], Links] | None = None) -> None:
        self._db, self._repo = db, repo
        self._retention_ms = int(retention_s * 1000)
        self.links = links  # AssetService.links, set once both exist
        # More writes in the same transaction as each recorded event (the webhooks' fan-out).
        self.on_record: list[Callable[[Connection, Event], None]] = []

    def record(self, conn: Connection, kind: EventType, asset: Asset) -> None:
        """Write the event of a change in the change's own transaction (conn); none for system
        assets. `asset` is as stored after the change. Written at the end of the transaction,
        after its counts: the tenant's event order is a lock held until the commit."""
        if asset.is_system:
            return
        now = now_ms()

        def append() -> None:
            event_id = self._repo.append(conn, kind, asset, now)
            event = Event(event_id, asset.tenant_id, asset.id, kind, now, asset)
            for hook in self.on_record:
                hook(conn, event)
        before_commit(conn, 1, append)

    def payload(self, event: Event) -> dict[str, object]:
        """{"type", "timestamp", "data": the asset as GET /v1/assets/{id} answers it}, links
        signed now (none once the asset is deleted)."""
        links = Links(None, None)
        if event.type not in _UNLINKED and self.links is not None:
            links = self.links(event.asset)
        return {"type": event.type.value, "timestamp": iso(event.created_ms),
                "data": to_wire(event.asset, links)}

    def render(self, event: Event) -> bytes:
        """The event's JSON body, as the stream's `data:` and a webhook's request body."""
        return orjson.dumps(self.payload(event))

    def read(self, tenant_id: uuid.UUID, after_id: int, limit: int = 100,
             types: Sequence[EventType] = ()) -> list[Event]:
        """The tenant's events after after_id, oldest first."""
        return self._db.reading(lambda conn: self._repo.after(conn, tenant_id, after_id, limit,
                                                               types))

    def read_many(self, cursors: Mapping[uuid.UUID, int], limit: int = 500) -> list[Event]:
        """Events of several tenants, each after its own cursor, oldest first."""
        if not cursors:
            return []
        return self._db.reading(lambda conn: self._repo.after_many(conn, cursors, limit))

    def position(self, tenant_id: uuid.UUID, resume: int | None = None) -> tuple[int, bool]:
        """Where a stream of the tenant starts, and whether the client must resync: after
        `resume` when every event since is still kept; else after the tenant's newest event
        (kept or swept), with True when `resume` was given (its successors were swept, or
        the id was never handed out: a reset database, another server)."""
        def read(conn: Connection) -> tuple[int, bool]:
            swept = self._repo.swept_to(conn, tenant_id)
            if resume is not None and swept <= resume <= max(swept, self._repo.newest_id(conn)):
                return resume, False
            return max(self._repo.newest_id(conn, tenant_id), swept), resume is not None
        return self._db.reading(read)

    def sweep(self, batch: int = 1000) -> int:
        """Remove the events older than the retention window; how many went."""
        before = now_ms() - self._retention_ms
        total = 0
        while True:
            with self._db.write() as conn:
                gone = self._repo.sweep(conn, before, batch)
            total += gone
            if gone < batch:
                break
        if total:
            log.info("events.swept", extra={"events": total})
        return total
