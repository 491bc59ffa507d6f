"""Renaming, tagging, bulk actions and the trash: a tenant organizing its own library.

System assets are read-only for tenants: changing one is a Forbidden saying so. Each asset of a
bulk action is changed in its own transaction and answers its own result, so one refusal
does not undo the others.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mediashelf.db.assets import AssetRepository
from mediashelf.db.database import Database
from mediashelf.domain import SYSTEM_TENANT_ID, Asset, now_ms
from mediashelf.errors import BadRequest, Forbidden, MediashelfError, NotFound
from mediashelf.services.assets import AssetService
from mediashelf.words import TAGS_MAX

log = logging.getLogger("mediashelf.assets")

READ_ONLY = "system assets are read-only: tenants cannot change them"


@dataclass(slots=True)
class Outcome:
    """One id's result in a bulk action: the asset when it worked, else the error."""

    id: str
    asset: Asset | None = None
    error: MediashelfError | None = None


@dataclass(slots=True)
class TrashPage:
    total: int
    items: list[Asset]
    purge_after_ms: int  # an item is purged this long after its deletion


class EditService:
    def __init__(self, db: Database, repo: AssetRepository, assets: AssetService,
                 purge_after_s: float) -> None:
        self._db, self._repo, self._assets = db, repo, assets
        self._grace_ms = int(purge_after_s * 1000)

    def update(self, tenant_id: uuid.UUID, asset_id: uuid.UUID, name: str | None = None,
               tags: Sequence[str] | None = None, add: Iterable[str] = (),
               remove: Iterable[str] = ()) -> Asset:
        """Rename and (re)tag one of the tenant's live assets: `tags` replaces the set, `add`
        and `remove` change it. Names and tags come checked (mediashelf.names, .words)."""
        with self._db.write() as conn:
            asset = self._repo.get_visible(conn, asset_id, (tenant_id, SYSTEM_TENANT_ID))
            if asset is None:
                raise NotFound("asset not found")
            if asset.is_system:
                raise Forbidden(READ_ONLY)
            chosen = set(asset.tags if tags is None else tags)
            chosen = (chosen | set(add)) - set(remove)
            if len(chosen) > TAGS_MAX:
                raise BadRequest(f"an asset carries at most {TAGS_MAX} tags")
            asset.tags = sorted(chosen)
            if name is not None:
                asset.name = name
            asset.updated_ms = now_ms()
            self._repo.relabel(conn, asset, asset.updated_ms)
        log.info("asset.updated", extra={"asset_id": str(asset_id),
                                         "tenant_id": str(tenant_id)})
        return asset

    def batch_delete(self, tenant_id: uuid.UUID, ids: Sequence[str]) -> list[Outcome]:
        """Delete each asset on its own; one result per distinct id, in the order given."""
        out = []
        for raw in dict.fromkeys(ids):
            try:
                out.append(Outcome(raw, self._assets.delete(tenant_id, _id(raw))))
            except (NotFound, Forbidden) as exc:
                out.append(Outcome(raw, error=exc))
        return out

    def batch_update(self, tenant_id: uuid.UUID, ids: Sequence[str], add: Sequence[str],
                     remove: Sequence[str]) -> list[Outcome]:
        """Add and remove tags on each asset on its own; one result per distinct id."""
        out = []
        for raw in dict.fromkeys(ids):
            try:
                out.append(Outcome(raw, self.update(tenant_id, _id(raw), add=add,
                                                    remove=remove)))
            except (NotFound, Forbidden, BadRequest) as exc:
                out.append(Outcome(raw, error=exc))
        return out

    def trash(self, tenant_id: uuid.UUID, page: int, page_size: int) -> TrashPage:
        """The tenant's deleted assets still within the grace period, newest deletion first."""
        since = now_ms() - self._grace_ms
        total, items = self._db.reading(lambda conn: self._repo.trash(
            conn, tenant_id, since, page_size, (page - 1) * page_size))
        return TrashPage(total, items, self._grace_ms)

    def restore(self, tenant_id: uuid.UUID, asset_id: uuid.UUID) -> Asset:
        """Bring back one of the tenant's deleted assets within the grace period."""
        with self._db.read() as conn:
            asset = self._repo.get(conn, asset_id)
        if asset is not None and asset.is_system:
            raise Forbidden(READ_ONLY)
        if asset is None or asset.tenant_id != tenant_id:
            raise NotFound("asset not found")
        if asset.deleted_ms is None:
            raise NotFound("the asset is not in the trash")
        if asset.deleted_ms < now_ms() - self._grace_ms:
            raise NotFound("the asset's grace period is over: it is being purged")
        return self._assets.restore(asset_id)


def _id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound("asset not found") from None
