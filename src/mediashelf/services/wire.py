"""An asset's wire form (the seed's camelCase fields plus ours), built once per reply."""

from __future__ import annotations

import functools
import time
from typing import Any

import orjson

from mediashelf.db.sql import AssetRow
from mediashelf.domain import Asset as AssetRecord
from mediashelf.domain import RowForm
from mediashelf.services.assets import Links

_TWO = [f"{i:02d}" for i in range(60)]  # a listing formats two times a row: table lookups
_THREE = [f"{i:03d}" for i in range(1000)]  # cost less than format specifications
_Fragment = orjson.Fragment


@functools.lru_cache(maxsize=4096)
def _day(days: int) -> str:
    t = time.gmtime(days * 86400)
    return f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T"


def iso(ms: int) -> str:
    """UTC to the millisecond, e.g. 2025-01-31T12:00:00.250Z; the date is kept per day."""
    days, rest = divmod(ms, 86_400_000)
    s, milli = divmod(rest, 1000)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return f"{_day(days)}{_TWO[h]}:{_TWO[m]}:{_TWO[s]}.{_THREE[milli]}Z"


def to_wire(asset: AssetRecord, links: Links) -> dict[str, Any]:
    created = iso(asset.created_ms)
    return {
        "id": str(asset.id),
        "name": asset.name,
        "type": asset.type.value,
        "status": asset.status.value,
        "fileUrl": links.file_url,
        "thumbnailUrl": links.thumbnail_url,
        "createdAt": created,
        "updatedAt": created if asset.updated_ms == asset.created_ms else iso(asset.updated_ms),
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
        "tags": asset.tags,
    }


def row_to_wire(row: AssetRow, form: RowForm, links: Links) -> dict[str, Any]:
    """to_wire() of the asset the stored row holds, read from the row as it is: its JSON
    columns go out as stored, and no Asset is made (a cold page lists up to 100 rows)."""
    # one unpacking rather than a named field's lookup per column: a cold page writes 100 rows
    (id_, tenant_id, name, type_, status, created_ms, updated_ms, mime_type, size_bytes, sha256,
     width, height, duration_ms, has_audio, failure_reason, blurhash, _source_url,
     _original_name, _file_key, _thumb_key, _thumb_mime, _deleted_ms, extra, _declared_type,
     tags) = row
    created = iso(created_ms)
    return {
        "id": form.id_text(id_),
        "name": name,
        "type": type_,
        "status": status,
        "fileUrl": links.file_url,
        "thumbnailUrl": links.thumbnail_url,
        "createdAt": created,
        "updatedAt": created if updated_ms == created_ms else iso(updated_ms),
        "mimeType": mime_type,
        "sizeBytes": size_bytes,
        "sha256": sha256,
        "width": width,
        "height": height,
        "durationMs": duration_ms,
        "hasAudio": None if has_audio is None else bool(has_audio),
        "failureReason": failure_reason,
        "blurhash": blurhash,
        "isSystem": tenant_id == form.system_owner,
        # our own JSON as written (orjson or the database's jsonb text): inserted, not parsed
        "metadata": _Fragment(extra) if extra and extra != "{}" else {},
        "tags": _Fragment(tags) if tags != "[]" else [],
    }


def to_trash_wire(asset: AssetRecord, purge_after_ms: int) -> dict[str, Any]:
    """A deleted asset as the trash lists it: no links (they stopped working), when it was
    deleted and when its bytes will be purged."""
    body = to_wire(asset, Links(None, None))
    deleted = asset.deleted_ms or asset.updated_ms
    body["deletedAt"] = iso(deleted)
    body["purgeAt"] = iso(deleted + purge_after_ms)
    return body

