"""Fill a library straight through the project's own data layer (for listing tests)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from mediashelf.db.assets import AssetRepository
from mediashelf.domain import Asset, AssetStatus, AssetType, now_ms, uuid7


def make_asset(tenant_id: uuid.UUID, type_: AssetType, status: AssetStatus, created_ms: int,
               name: str | None = None) -> Asset:
    asset_id = uuid7(created_ms)
    ready = status is AssetStatus.READY
    return Asset(
        id=asset_id, tenant_id=tenant_id, name=name or f"{type_.value.lower()}-{created_ms}",
        type=type_, status=status, created_ms=created_ms, updated_ms=created_ms,
        mime_type={"AUDIO": "audio/mpeg", "IMAGE": "image/png", "VIDEO": "video/mp4"}[type_.value]
        if ready else None,
        size_bytes=1000, file_key=f"assets/{asset_id}/original",
        thumb_key=f"assets/{asset_id}/thumb.webp" if ready else None,
        failure_reason="the file is corrupt" if status is AssetStatus.FAILED else None)


def insert(services: Any, assets: Iterable[Asset]) -> None:
    with services.db.write() as conn:
        AssetRepository().bulk_insert(conn, assets)


def tenant_id_of(services: Any, key: str) -> uuid.UUID:
    tenant: uuid.UUID = services.keys.resolve(key).tenant_id
    return tenant


def remove(services: Any, asset_ids: Iterable[str | uuid.UUID]) -> None:
    """Take test assets out of the library for good (system ones would show to every tenant)."""
    repo = AssetRepository()
    with services.db.write() as conn:
        for aid in asset_ids:
            asset = repo.get(conn, uuid.UUID(str(aid)))
            if asset is not None:
                repo.mark_deleted(conn, asset, now_ms())  # takes it off the counts
                repo.remove(conn, asset.id)
