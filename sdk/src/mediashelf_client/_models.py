"""The SDK's typed records: Asset (the seed's seven fields plus ours) and AssetPage."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

AssetType = Literal["AUDIO", "IMAGE", "VIDEO"]
AssetStatus = Literal["PROCESSING", "READY", "FAILED"]


def _opt_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class Asset:
    """One asset; fields after `created_at` are our extras, None when a server omits them."""

    id: str
    name: str | None
    type: str
    status: str
    file_url: str | None
    thumbnail_url: str | None
    created_at: dt.datetime | None
    updated_at: dt.datetime | None = None
    mime_type: str | None = None
    size_bytes: int | None = None
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None
    has_audio: bool | None = None
    failure_reason: str | None = None
    blurhash: str | None = None
    is_system: bool = False
    tags: tuple[str, ...] = ()
    deleted_at: dt.datetime | None = None  # in the trash: when it was deleted ...
    purge_at: dt.datetime | None = None  # ... and when it will be purged
    metadata: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    raw: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False, repr=False)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Asset:
        """Build from the JSON the server sent; unknown fields are kept in `raw` only."""
        metadata = data.get("metadata")
        has_audio = data.get("hasAudio")
        tags = data.get("tags")
        return cls(
            id=str(data["id"]),
            name=_opt_str(data.get("name")),
            type=str(data.get("type", "")),
            status=str(data.get("status", "")),
            file_url=_opt_str(data.get("fileUrl")),
            thumbnail_url=_opt_str(data.get("thumbnailUrl")),
            created_at=_time(data.get("createdAt")),
            updated_at=_time(data.get("updatedAt")),
            mime_type=_opt_str(data.get("mimeType")),
            size_bytes=_opt_int(data.get("sizeBytes")),
            width=_opt_int(data.get("width")),
            height=_opt_int(data.get("height")),
            duration_ms=_opt_int(data.get("durationMs")),
            has_audio=has_audio if isinstance(has_audio, bool) else None,
            failure_reason=_opt_str(data.get("failureReason")),
            blurhash=_opt_str(data.get("blurhash")),
            is_system=data.get("isSystem") is True,
            tags=tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else (),
            deleted_at=_time(data.get("deletedAt")),
            purge_at=_time(data.get("purgeAt")),
            metadata=dict(metadata) if isinstance(metadata, Mapping) else {},
            raw=dict(data),
        )

    @property
    def is_ready(self) -> bool:
        return self.status == "READY"

    @property
    def is_failed(self) -> bool:
        return self.status == "FAILED"

    @property
    def is_processing(self) -> bool:
        return self.status == "PROCESSING"


@dataclass(frozen=True)
class BatchResult:
    """One id's result in a bulk action: `ok`, else the error's `code` and `message`."""

    id: str
    ok: bool
    code: int
    message: str | None = None
    asset: Asset | None = None  # batch_update: the asset as changed

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> BatchResult:
        asset = data.get("asset")
        code = data.get("code")
        return cls(id=str(data.get("id", "")), ok=data.get("ok") is True,
                   code=code if isinstance(code, int) else 0,
                   message=_opt_str(data.get("message")),
                   asset=Asset.from_wire(asset) if isinstance(asset, Mapping)
                   and "id" in asset else None)


@dataclass(frozen=True)
class AssetPage:
    """One page of a listing; totals are None when a server sends no X-Total-* headers."""

    items: tuple[Asset, ...]
    page: int
    page_size: int
    total_count: int | None
    total_pages: int | None

    def __iter__(self) -> Iterator[Asset]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def has_next(self) -> bool:
        """Whether a later page may hold more items."""
        if self.total_pages is not None:
            return self.page < self.total_pages
        return len(self.items) >= self.page_size > 0
