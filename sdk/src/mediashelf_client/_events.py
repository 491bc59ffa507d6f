"""GET /v1/events for the SDK, without I/O: the stream's request, a Server-Sent Events line
parser (the WHATWG algorithm, a few lines: the SDK keeps to httpx alone), and what an event
means to `wait_until_ready`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mediashelf_client._errors import NotFoundError, ProcessingFailedError
from mediashelf_client._models import Asset

PATH = "/v1/events"
RESYNC = "resync"
FINAL = ("asset.ready", "asset.failed", "asset.deleted", "asset.purged")


@dataclass(frozen=True)
class Event:
    """One event of the stream: `type` (asset.created … asset.purged, or resync), its `id` to
    resume after, when it happened, and the asset as it then stood (None for resync)."""

    id: int | None
    type: str
    timestamp: str | None
    asset: Asset | None
    data: Mapping[str, Any] = field(repr=False)  # the JSON body ({} if it is none)
    text: str = field(default="", repr=False)  # the body as sent

    @classmethod
    def parse(cls, event_id: str, kind: str, text: str) -> Event:
        try:
            body: Any = json.loads(text)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {}
        wire = body.get("data")
        timestamp = body.get("timestamp")
        return cls(int(event_id) if event_id.isascii() and event_id.isdigit() else None,
                   kind or "message", timestamp if isinstance(timestamp, str) else None,
                   Asset.from_wire(wire) if isinstance(wire, dict) else None, body, text)


def request_headers(last_id: int | None) -> dict[str, str]:
    headers = {"accept": "text/event-stream", "cache-control": "no-store"}
    if last_id is not None:
        headers["last-event-id"] = str(last_id)
    return headers


def request_params(types: Sequence[str] | None) -> dict[str, str]:
    return {"types": ",".join(types)} if types else {}


class Parser:
    """Feed it the stream's lines; it answers an Event at each blank line that ends one."""

    def __init__(self) -> None:
        self._data: list[str] = []
        self._kind = ""
        self._id = ""

    def feed(self, line: str) -> Event | None:
        if not line:
            if not self._data:
                self._kind = ""
                return None
            event = Event.parse(self._id, self._kind, "\n".join(self._data))
            self._data, self._kind = [], ""
            return event
        if line.startswith(":"):
            return None  # a comment: the server's heartbeat
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._kind = value
        elif name == "id" and "\0" not in value:
            self._id = value  # kept across events, as EventSource keeps lastEventId
        return None


def outcome(asset_id: str, event: Event) -> Asset | None:
    """What an event says about the asset awaited: READY answers it, FAILED raises
    ProcessingFailedError, deleted or purged NotFoundError; anything else None."""
    if event.asset is None or event.asset.id != asset_id:
        return None
    if event.type == "asset.ready":
        return event.asset
    if event.type == "asset.failed":
        raise ProcessingFailedError(event.asset)
    if event.type in ("asset.deleted", "asset.purged"):
        raise NotFoundError("asset not found: it was deleted", 404)
    return None
