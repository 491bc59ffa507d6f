"""process(job): fetch if imported → probe → metadata → thumbnail → READY, or FAILED + reason.

This is the only code that moves an asset out of PROCESSING.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.engine import Connection

from mediashelf import tracing
from mediashelf.db.assets import AssetRepository
from mediashelf.db.database import Database
from mediashelf.domain import (
    Asset,
    AssetStatus,
    AssetType,
    EventType,
    Job,
    JobKind,
    JobOutcome,
    asset_prefix,
    trash_prefix,
)
from mediashelf.domain import now_ms as _now
from mediashelf.media import kinds
from mediashelf.media.base import MediaError
from mediashelf.metrics import ASSETS_FINISHED
from mediashelf.services.events import EventService
from mediashelf.storage.base import Storage, StorageWriter

log = logging.getLogger("mediashelf.processing")

class AnalyserLike(Protocol):
    def run(self, path: Path, declared: AssetType | None) -> Any: ...


class FetcherLike(Protocol):
    def fetch(self, url: str, sink: StorageWriter, max_bytes: int) -> Any: ...


class Processor:
    def __init__(self, db: Database, repo: AssetRepository, storage: Storage,
                 analyser: AnalyserLike, fetcher: FetcherLike | None, *,
                 max_attempts: int, limits: dict[AssetType, int],
                 events: EventService) -> None:
        self._db, self._repo, self._storage, self._events = db, repo, storage, events
        self._analyser, self._fetcher = analyser, fetcher
        self._max_attempts = max_attempts
        self._limits = limits

    def run(self, job: Job) -> JobOutcome:
        """Bring one asset to READY or FAILED; safe to run twice. Transient errors raise."""
        with self._db.read() as conn:
            asset = self._repo.get(conn, job.asset_id)
        if asset is None or asset.deleted_ms is not None or \
                asset.status is not AssetStatus.PROCESSING:
            return JobOutcome.SKIPPED
        if job.attempts > self._max_attempts:
            tries = "attempt" if self._max_attempts == 1 else "attempts"
            self._fail(asset, f"processing failed after {self._max_attempts} {tries}")
            return JobOutcome.DONE
        if job.kind is JobKind.IMPORT and not asset.file_key:
            with tracing.span("asset.download", attributes=_ids(asset)):
                reason = self._download(asset)
            if reason:
                self._fail(asset, reason)
                return JobOutcome.DONE
        assert asset.file_key is not None
        declared = asset.type if asset.declared_type else None
        try:
            with tracing.span("asset.analyse", attributes=_ids(asset)), \
                    self._storage.local_path(asset.file_key) as path:
                result = self._analyser.run(path, declared)
        except MediaError as exc:
            self._fail(asset, str(exc))
            return JobOutcome.DONE
        except FileNotFoundError:
            if asset.file_key and not self._storage.exists(asset.file_key):
                self._fail(asset, "the uploaded file is missing")
                return JobOutcome.DONE
            raise
        info = result.info
        thumb_key = None
        if result.thumbnail:
            thumb_key = asset_prefix(asset.id) + "thumb" + (
                kinds.extension(result.thumbnail_mime) or ".webp")
            self._storage.put_bytes(thumb_key, result.thumbnail, result.thumbnail_mime)
        extra = dict(asset.extra)
        extra.update(info.extra)
        with self._db.write() as conn:
            done = self._repo.finish(
                conn, asset, AssetStatus.READY, type=info.type.value, mime_type=info.mime_type,
                width=info.width, height=info.height, duration_ms=info.duration_ms,
                has_audio=info.has_audio, blurhash=result.blurhash, thumb_key=thumb_key,
                thumb_mime=result.thumbnail_mime if thumb_key else None, extra=extra,
                failure_reason=None, updated_ms=_now())
            if done:
                self._announce(conn, asset, EventType.READY)
        if done:
            ASSETS_FINISHED.labels(status="READY").inc()
            log.info("asset.ready", extra=_ids(asset))
        self._follow_delete(asset)
        return JobOutcome.DONE

    def _follow_delete(self, asset: Asset) -> None:
        """Deleted while we worked: what we stored since goes to the trash with the rest."""
        with self._db.read() as conn:
            now = self._repo.get(conn, asset.id)
        if now is not None and now.deleted_ms is not None:
            self._storage.move_prefix(asset_prefix(asset.id), trash_prefix(asset.id))

    def _download(self, asset: Asset) -> str | None:
        """Fetch an imported asset's bytes into storage; a reason string when it cannot be had."""
        from mediashelf.net.fetch import FetchFailed

        if self._fetcher is None or not asset.source_url:
            return "nothing to import"
        key = asset_prefix(asset.id) + "original"
        writer = self._storage.writer(key)
        try:
            result = self._fetcher.fetch(asset.source_url, writer, self._limits[asset.type])
            writer.commit()
        except FetchFailed as exc:
            writer.abort()
            log.info("import.refused", extra={**_ids(asset), "reason": str(exc)})
            return str(exc)
        except BaseException:
            writer.abort()
            raise
        fields = {"file_key": key, "size_bytes": result.size, "sha256": result.sha256,
                  "updated_ms": _now()}
        if result.filename:
            fields["original_name"] = result.filename[:512]
        with self._db.write() as conn:
            self._repo.update_fields(conn, asset.id, **fields)
        asset.file_key = key
        log.info("import.downloaded", extra={**_ids(asset), "bytes": result.size})
        return None

    def _fail(self, asset: Asset, reason: str) -> None:
        with self._db.write() as conn:
            done = self._repo.finish(conn, asset, AssetStatus.FAILED, failure_reason=reason[:500],
                                     updated_ms=_now())
            if done:
                self._announce(conn, asset, EventType.FAILED)
        if done:
            ASSETS_FINISHED.labels(status="FAILED").inc()
            log.info("asset.failed", extra={**_ids(asset), "reason": reason})


    def _announce(self, conn: Connection, asset: Asset, kind: EventType) -> None:
        """The finished asset's event, with the row as it now stands (none once deleted:
        its asset.deleted event was the last word)."""
        now = self._repo.get(conn, asset.id)
        if now is not None and now.deleted_ms is None:
            self._events.record(conn, kind, now)


def _ids(asset: Asset) -> dict[str, str]:
    return {"asset_id": str(asset.id), "tenant_id": str(asset.tenant_id)}
