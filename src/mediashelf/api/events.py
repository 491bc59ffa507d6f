"""GET /v1/events: the key's tenant's asset events as Server-Sent Events (sse-starlette).

Each event is `id:` (its outbox id), `event:` (its type) and `data:` (the JSON a webhook gets).
A client resumes after a drop with Last-Event-ID (EventSource sends it by itself) or
`?lastEventId=` / `?since=`. An id whose successors were swept (older than the retention
window), or one never handed out, gets a `resync` event first: list the assets again, then
follow on from the resync's id. Heartbeat comments keep proxies from closing a quiet stream.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from fastapi import APIRouter, Request
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams

from mediashelf.api.deps import current_key
from mediashelf.api.openapi import errors
from mediashelf.digits import ascii_int
from mediashelf.domain import EventType
from mediashelf.errors import BadRequest, shown, shown_header
from mediashelf.services.event_stream import EventHub
from mediashelf.services.events import EventService

router = APIRouter(prefix="/v1", tags=["events"])

RESYNC = "resync"
_TYPES = {t.value: t for t in EventType}
_RESUME_PARAMS = ("lastEventId", "since")

_PARAMETERS: list[dict[str, Any]] = [
    {"name": "Last-Event-ID", "in": "header", "required": False,
     "description": "Resume after this event id (browsers' EventSource sends it when it "
                    "reconnects)", "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"}},
    {"name": "lastEventId", "in": "query", "required": False,
     "description": "The same as the Last-Event-ID header, for clients that cannot set it",
     "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"}},
    {"name": "since", "in": "query", "required": False,
     "description": "Another name of lastEventId", "schema": {"type": "string",
                                                             "pattern": "^[0-9]{1,18}$"}},
    {"name": "types", "in": "query", "required": False,
     "description": "Only these event types (repeated or comma-separated); all by default",
     "schema": {"type": "array", "items": {"type": "string", "enum": list(_TYPES)}}},
]
_STREAM_DOC = (
    "One event per change of the tenant's assets: `id:` (a number; resume after it), `event:` "
    "(`asset.created`, `asset.ready`, `asset.failed`, `asset.deleted`, `asset.restored`, "
    "`asset.purged`) and `data:` (JSON `{\"type\", \"timestamp\", \"data\": <the asset as GET "
    "/v1/assets/{id} returns it>}`). Comment lines (`: ping`) are heartbeats. An event "
    "`resync` (data `{\"type\": \"resync\", \"lastEventId\": N, \"message\"}`) says events "
    "after the id you resumed from are gone (older than MEDIASHELF_EVENT_RETENTION) or the id "
    "is unknown: reload the library, then follow on from N.")

_STREAM_EXAMPLE = ('id: 42\nevent: asset.ready\ndata: {"type":"asset.ready","timestamp":'
                   '"2026-01-31T12:00:00.250Z","data":{"id":"…","status":"READY", …}}\n\n'
                   ': ping\n\n')


@router.get(
    "/events", summary="Stream asset events", operation_id="streamEvents",
    description="Server-Sent Events for the key's tenant, live from every API process. "
                "Resume with `Last-Event-ID`. Browsers: read it with fetch() and the "
                "x-api-key header (EventSource cannot send headers).",
    openapi_extra={"parameters": _PARAMETERS},
    response_class=EventSourceResponse,
    responses={200: {"description": _STREAM_DOC,
                     "content": {"text/event-stream": {"schema": {"type": "string"},
                                                       "example": _STREAM_EXAMPLE}}},
               **errors((400, "Invalid Last-Event-ID, lastEventId, since or types"))},
)
async def stream_events(request: Request) -> EventSourceResponse:
    key = await current_key(request)
    resume = _resume_id(request)
    types = _types(request.query_params)
    events: EventService = request.app.state.services.events
    hub: EventHub = request.app.state.event_hub
    tenant = key.tenant_id
    start, resync = await run_in_threadpool(events.position, tenant, resume)
    heartbeat = request.app.state.settings.event_heartbeat
    stream = _stream(hub, tenant, start, types, start if resync else None)
    return EventSourceResponse(stream, ping=heartbeat, ping_message_factory=_ping,
                               send_timeout=30, headers={"Cache-Control": "no-store"})


async def _stream(hub: EventHub, tenant: uuid.UUID, start: int, types: tuple[EventType, ...],
                  resync_at: int | None) -> AsyncIterator[ServerSentEvent]:
    # Subscribed here, not in the route: a generator that never starts leaves nothing behind.
    sub = hub.subscribe(tenant, start, types)
    try:
        if resync_at is not None:
            body = {"type": RESYNC, "lastEventId": resync_at,
                    "message": "events after the id you resumed from are no longer kept: "
                               "reload the library, then follow on from lastEventId"}
            yield ServerSentEvent(data=orjson.dumps(body).decode(), event=RESYNC,
                                  id=str(resync_at))
        while (item := await sub.next()) is not None:
            event, data = item
            yield ServerSentEvent(data=data.decode(), event=event.type.value, id=str(event.id))
    finally:  # the client left, the server stops, or the reader fell too far behind
        hub.unsubscribe(sub)


def _ping() -> ServerSentEvent:
    return ServerSentEvent(comment="ping")


def _resume_id(request: Request) -> int | None:
    """Last-Event-ID, else ?lastEventId= or ?since=; None when none is given."""
    # a header's bytes are read as Latin-1 (shown_header), a parameter's as UTF-8 (shown)
    quote: Callable[[str], str] = shown_header
    raw, name = request.headers.get("last-event-id"), "header 'Last-Event-ID'"
    for param in _RESUME_PARAMS:
        if raw is None or not raw.strip():
            raw, name, quote = request.query_params.get(param), f"parameter '{param}'", shown
    if raw is None or not raw.strip():
        return None
    value = ascii_int(raw.strip())
    if value is None:
        raise BadRequest(f"invalid {name} '{quote(raw)}': expected an event id (a whole "
                         "number)")
    return value


def _types(params: QueryParams) -> tuple[EventType, ...]:
    chosen: list[EventType] = []
    for raw in params.getlist("types"):
        for item in raw.split(","):
            if not item.strip():
                continue
            value = _TYPES.get(item.strip())
            if value is None:
                raise BadRequest(f"invalid value '{shown(item)}' for parameter 'types': "
                                 f"allowed values are {', '.join(_TYPES)}")
            chosen.append(value)
    return tuple(chosen)
