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
    tags: list[str] = Field(default_factory=list,
                            description="Trimmed, lower-cased, sorted; [] when none")


class TrashedAsset(Asset):
    """A deleted asset within the grace period (its URLs are null)."""

    deletedAt: dt.datetime
    purgeAt: dt.datetime = Field(description="When its bytes and record will be purged")


class Error(BaseModel):
    code: int = Field(json_schema_extra={"format": "int32"})
    message: str


class ImportRequest(BaseModel):
    """The JSON body of a URL import: exactly these three members, at most 64 KiB."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=256)
    type: AssetTypeName
    url: str
    tags: list[str] = Field(default_factory=list, max_length=32)


class AssetUpdate(BaseModel):
    """PATCH /v1/assets/{id}: either member, or both."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=256)
    tags: list[str] | None = Field(default=None, max_length=32,
                                   description="The new set of tags, each 1-64 characters")


class BatchDelete(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[str] = Field(min_length=1, max_length=100)


class BatchUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[str] = Field(min_length=1, max_length=100)
    addTags: list[str] = Field(default_factory=list)
    removeTags: list[str] = Field(default_factory=list)


class BatchResult(BaseModel):
    id: str
    ok: bool
    code: int = Field(description="200, or the error's status (404 not found, 403 read-only)")
    message: str | None = None
    asset: Asset | None = Field(default=None, description="batch-update: the asset as changed")


class BatchResults(BaseModel):
    results: list[BatchResult]


class Deleted(BaseModel):
    message: str = "Asset deleted"
