"""Wire shapes for the OpenAPI document (the seed's camelCase fields plus ours)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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
    """The JSON body of a URL import: these members and no others, at most 64 KiB."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=256)
    type: AssetTypeName
    url: str
    dedupe: bool = Field(default=True, description=(
        "mediashelf extension: false imports the URL again even if this library already "
        "holds a live asset imported from it"))


class Deleted(BaseModel):
    message: str = "Asset deleted"


class ReadyWorkers(BaseModel):
    live: int = Field(description="Workers whose last heartbeat is within the window")
    staleAfterSeconds: float = Field(description="The window (MEDIASHELF_WORKER_STALE_AFTER)")


class ReadyQueue(BaseModel):
    queued: int = Field(description="Jobs waiting for a worker (due now or later)")
    running: int = Field(description="Jobs a worker holds")
    oldestQueuedSeconds: float = Field(description="How long the oldest queued job has waited")


class Readiness(BaseModel):
    """What /readyz checked; a 503 carries `code` and `message` and the same fields."""

    status: Literal["ready", "not ready"]
    database: Literal["ok"]
    storage: Literal["ok"]
    space: Literal["ok", "low"] = Field(description="Free space against the reserve (never "
                                                    "fails readiness: reads still work)")
    freeBytes: int
    reserveBytes: int
    workers: ReadyWorkers
    queue: ReadyQueue
