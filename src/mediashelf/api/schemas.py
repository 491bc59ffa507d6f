"""Wire shapes (the seed's camelCase fields plus ours) and to_wire(asset, links)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, Literal

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

