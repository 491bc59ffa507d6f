"""Wire shapes (the seed's camelCase fields plus ours) and to_wire(asset, links)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from mediashelf.domain import Asset as AssetRecord
from mediashelf.services.assets import Links

AssetTypeName = Literal["AUDIO", "IMAGE", "VIDEO"]
AssetStatusName = Literal["PROCESSING", "READY", "FAILED"]


class Asset(BaseModel):
    """An asset as the Argil v1 Assets API returns it, with mediashelf's extra fields."""

    id: str = Field(json_schema_extra={"format": "uuid"})
    name: str | None
    type: AssetTypeName
    status: AssetStatusName = Field(
        description="Processing status. Poll until READY before using as B-roll.")
    fileUrl: str | None = Field(description="URL to access the asset. Null while processing.")
    thumbnailUrl: str | None = Field(
        description="URL to a thumbnail image. Null while processing.")
    createdAt: dt.datetime
    updatedAt: dt.datetime | None = None
    mimeType: str | None = None
    sizeBytes: int | None = None
    sha256: str | None = None
    width: int | None = Field(default=None, description="Displayed width in pixels")
    height: int | None = Field(default=None, description="Displayed height in pixels")
    durationMs: int | None = None
    hasAudio: bool | None = None
    failureReason: str | None = Field(default=None, description="Why processing failed")
    blurhash: str | None = None
    isSystem: bool = Field(default=False, description="Part of the shared system library")
    metadata: dict[str, Any] = Field(default_factory=dict,
                                     description="Codec, frame rate, bit rate, sample rate …")


class Error(BaseModel):
    code: int = Field(json_schema_extra={"format": "int32"})
    message: str


class ImportRequest(BaseModel):
    """The JSON body of a URL import: exactly these three members, at most 64 KiB."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=256)
    type: AssetTypeName
    url: str


class Deleted(BaseModel):
    message: str = "Asset deleted"


def iso(ms: int) -> str:
    """UTC to the millisecond, e.g. 2025-01-31T12:00:00.250Z (gmtime: cheaper than datetime)."""
    t = time.gmtime(ms // 1000)
    return (f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:"
            f"{t.tm_sec:02d}.{ms % 1000:03d}Z")


def to_wire(asset: AssetRecord, links: Links) -> dict[str, Any]:
    return {
        "id": str(asset.id),
        "name": asset.name,
        "type": asset.type.value,
        "status": asset.status.value,
        "fileUrl": links.file_url,
        "thumbnailUrl": links.thumbnail_url,
        "createdAt": iso(asset.created_ms),
        "updatedAt": iso(asset.updated_ms),
        "mimeType": asset.mime_type,
        "sizeBytes": asset.size_bytes,
        "sha256": asset.sha256,
        "width": asset.width,
        "height": asset.height,
        "durationMs": asset.duration_ms,
        "hasAudio": asset.has_audio,
        "failureReason": asset.failure_reason,
        "blurhash": asset.blurhash,
        "isSystem": asset.is_system,
        "metadata": asset.extra,
    }


class WireMemo:
    """Listed assets' wire bytes, one entry per asset, each with the stored row and links epoch
    it was made from: it serves only an equal row in the same epoch, so it is never stale. A
    listing whose reply cache missed because one asset changed finds the others here."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[Hashable, tuple[Sequence[Hashable], int, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def body(self, items: Sequence[AssetRecord], rows: Sequence[Sequence[Hashable]], epoch: int,
             links: Callable[[AssetRecord], Links]) -> bytes:
        """The JSON array of the items, as orjson.dumps of their to_wire() would write it."""
        if len(rows) != len(items) or not self._size:
            return orjson.dumps([to_wire(a, links(a)) for a in items])
        with self._lock:
            found = [self._items.get(row[0]) for row in rows]  # by id: a row's first column
        parts: list[bytes] = []
        made: list[tuple[Sequence[Hashable], bytes]] = []
        for i, (row, entry) in enumerate(zip(rows, found, strict=True)):
            if entry is not None and entry[1] == epoch and entry[0] == row:
                parts.append(entry[2])
                continue
            asset = items[i]  # made from its row only now (items may decode lazily)
            part = orjson.dumps(to_wire(asset, links(asset)))
            made.append((row, part))
            parts.append(part)
        with self._lock:
            for row in rows:
                if row[0] in self._items:
                    self._items.move_to_end(row[0])
            for row, part in made:
                self._items[row[0]] = (row, epoch, part)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return b"[" + b",".join(parts) + b"]"
