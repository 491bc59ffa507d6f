"""Upload, import, get, list, delete and restore assets; tenant-scoped; system assets read-only."""

from __future__ import annotations

import functools
import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.engine import Connection

from mediashelf import tracing
from mediashelf.db.assets import AssetRepository, visible_read
from mediashelf.db.database import Database
from mediashelf.db.jobs import JobRepository
from mediashelf.db.listing import Guess, Listing, Step, Steps
from mediashelf.db.sql import AssetRow, fetch
from mediashelf.domain import (
    SYSTEM_TENANT_ID,
    Asset,
    AssetStatus,
    AssetType,
    EventType,
    JobKind,
    ListQuery,
    Page,
    RowForm,
    asset_prefix,
    now_ms,
    trash_prefix,
    uuid7,
    uuid7_ms,
)
from mediashelf.errors import (
    BadRequest,
    InsufficientStorage,
    NotFound,
    PayloadTooLarge,
)
from mediashelf.media import kinds
from mediashelf.metrics import ASSETS_CREATED
from mediashelf.names import check_file_name, check_name, download_name
from mediashelf.settings import Settings, format_size
from mediashelf.storage.base import Storage
from mediashelf.storage.space import SpaceGuard, is_disk_full

if TYPE_CHECKING:  # services/events.py renders with this module's Links
    from mediashelf.services.events import EventService

log = logging.getLogger("mediashelf.assets")

class Linkable(Protocol):
    """What signing an asset's links reads: an Asset's fields, or its stored row's."""

    @property
    def status(self) -> str: ...
    @property
    def file_key(self) -> str | None: ...
    @property
    def thumb_key(self) -> str | None: ...
    @property
    def mime_type(self) -> str | None: ...
    @property
    def thumb_mime(self) -> str | None: ...
    @property
    def name(self) -> str | None: ...
    @property
    def original_name(self) -> str | None: ...


@functools.lru_cache(maxsize=64)
def _thumb_name(mime: str) -> str:
    return f"thumbnail{kinds.extension(mime) or '.webp'}"


@dataclass(slots=True)
class Created:
    """What a create answered: a new asset, or (duplicate) the tenant's live copy of it."""

    asset: Asset
    duplicate: bool = False


@dataclass(slots=True)
class Links:
    file_url: str | None
    thumbnail_url: str | None


_NO_LINKS = Links(None, None)


@dataclass(slots=True)
class Received:
    """A file received whole (multipart or tus), its bytes at the asset's 'original' key."""

    tenant_id: uuid.UUID
    asset_id: uuid.UUID
    size: int
    sha256: str
    head: bytes  # the first bytes, for the type
    declared: AssetType | None
    name: str | None
    filename: str | None
    content_type: str | None
    extra: dict[str, object]
    tags: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return asset_prefix(self.asset_id) + "original"


class UploadSink:
    """One upload on its way to storage: counted, hashed, capped, and removed if it fails."""

    def __init__(self, service: AssetService, tenant_id: uuid.UUID,
                 declared: AssetType | None) -> None:
        self._service = service
        self.tenant_id = tenant_id
        self.declared = declared
        self.asset_id = uuid7()
        self.key = asset_prefix(self.asset_id) + "original"
        self._writer = service.storage.writer(self.key)
        self._sha = hashlib.sha256()
        self._head = b""
        self.size = 0
        self.limit = service.limit_for(declared)

    @property
    def sha256(self) -> str:
        """The digest of the bytes fed so far."""
        return self._sha.hexdigest()

    def feed(self, data: bytes) -> None:
        if len(self._head) < kinds.HEAD:
            self._head += data[: kinds.HEAD - len(self._head)]
            if self.declared is None and len(self._head) >= 12:
                family = kinds.sniff(self._head)
                if family is not None:
                    self.limit = self._service.limit_for(family)
        self.size += len(data)
        if self.size > self.limit:
            raise PayloadTooLarge(f"file larger than {format_size(self.limit)}")
        self._sha.update(data)
        with full_is_507():
            self._writer.write(data)

    def finish(self, name: str | None, filename: str | None, content_type: str | None,
               declared: AssetType | None = None,
               extra: dict[str, object] | None = None, tags: list[str] | None = None) -> Asset:
        """Commit the bytes and record the asset; the type may be declared after the file part."""
        return self.complete(name, filename, content_type, declared, extra, tags,
                             dedupe=False).asset

    def complete(self, name: str | None, filename: str | None, content_type: str | None,
                 declared: AssetType | None = None, extra: dict[str, object] | None = None,
                 tags: list[str] | None = None, *, dedupe: bool = True) -> Created:
        """As finish; with dedupe, bytes the tenant already holds answer that asset."""
        received = Received(self.tenant_id, self.asset_id, self.size, self._sha.hexdigest(),
                            self._head, declared or self.declared, name, filename, content_type,
                            dict(extra or {}), tuple(tags or ()))
        asset = self._service.create_uploaded(received, commit=self._writer.commit,
                                              abort=self._writer.abort, dedupe=dedupe)
        return Created(asset, duplicate=asset.id != self.asset_id)

    def abort(self) -> None:
        self._writer.abort()


@contextmanager
def full_is_507() -> Iterator[None]:
    """A full disk (or the reserve reached) on the way to storage or the database is a 507."""
    try:
        yield
    except Exception as exc:
        if is_disk_full(exc):
            raise InsufficientStorage() from exc
        raise


class AssetService:
    def __init__(self, db: Database, repo: AssetRepository, jobs: JobRepository,
                 storage: Storage, settings: Settings, *, events: EventService,
                 url_check: Callable[[str], str] | None = None,
                 on_enqueue: Callable[[], None] | None = None,
                 space: SpaceGuard | None = None) -> None:
        self._db, self._repo, self._jobs, self._events = db, repo, jobs, events
        self._listing = Listing()
        self.storage = storage
        self.space = space
        self._settings = settings
        self.on_enqueue = on_enqueue
        self._url_check = url_check

    def limit_for(self, asset_type: AssetType | None) -> int:
        if asset_type is None:
            return max(self._settings.max_bytes(t.value) for t in AssetType)
        return self._settings.max_bytes(asset_type.value)

    def start_upload(self, tenant_id: uuid.UUID, declared: AssetType | None) -> UploadSink:
        self.check_room()
        with full_is_507():
            return UploadSink(self, tenant_id, declared)

    def check_room(self) -> None:
        """Uploads and imports wait while free space is below the reserve."""
        if self.space is not None and not self.space.has_room():
            raise InsufficientStorage()

    def create_uploaded(self, got: Received, commit: Callable[[], None] | None = None,
                        also: Callable[[Connection], None] | None = None, *,
                        abort: Callable[[], None] | None = None,
                        dedupe: bool = False) -> Asset:
        """Check a received file, commit its bytes and record it as a PROCESSING asset: the one
        way a multipart or a tus upload becomes an asset. `also` runs in the same transaction.

        With dedupe, a live asset of the tenant's with the same type and SHA-256 is answered
        instead (the caller sees an id other than got.asset_id); the received bytes are then
        aborted (`abort`, before a commit) or deleted, and `also` does not run."""
        if got.size == 0:
            raise BadRequest("the file is empty")
        asset_type = got.declared or kinds.sniff(got.head) \
            or kinds.guess_type(got.filename, got.content_type)
        if asset_type is None:
            raise BadRequest("cannot tell the file's type: send 'type' (AUDIO, IMAGE or VIDEO)")
        limit = self.limit_for(asset_type)
        if got.size > limit:
            raise PayloadTooLarge(f"file larger than {format_size(limit)}")
        original = check_file_name(got.filename)  # before commit: a refusal leaves no bytes
        label = check_name(got.name) if got.name is not None else original
        if dedupe:
            found = self.live_copy(got.tenant_id, asset_type, got.sha256)
            if found is not None:  # the usual case: found before the copy is committed
                if abort is not None:
                    abort()
                else:
                    self.storage.delete_prefix(asset_prefix(got.asset_id))
                return found
        if commit is not None:
            with full_is_507():
                commit()
        now = uuid7_ms(got.asset_id)
        asset = Asset(
            id=got.asset_id, tenant_id=got.tenant_id, name=label, type=asset_type,
            status=AssetStatus.PROCESSING, created_ms=now, updated_ms=now,
            size_bytes=got.size, sha256=got.sha256, original_name=original,
            file_key=got.key, extra=got.extra, declared_type=got.declared is not None,
            tags=list(got.tags))
        try:
            with full_is_507():
                kept = self.add(asset, JobKind.PROCESS, also, dedupe=dedupe)
        except BaseException:
            self.storage.delete_prefix(asset_prefix(got.asset_id))
            raise
        if kept is not asset:  # an identical upload won the race: ours goes
            self.storage.delete_prefix(asset_prefix(got.asset_id))
            return kept
        ASSETS_CREATED.labels(type=asset_type.value, source="upload").inc()
        return asset

    def add(self, asset: Asset, kind: JobKind,
            also: Callable[[Connection], None] | None = None, *,
            dedupe: bool = False) -> Asset:
        """Record a new PROCESSING asset and queue its job, in one transaction; with dedupe,
        the tenant's live copy of it (same bytes, or same import URL) instead, if it has one
        (`also`, run in the transaction with a new asset, then does not run)."""
        with self._db.write() as conn:
            if dedupe:
                # under a lock on what makes a copy: two identical requests at once end as one
                self._repo.lock_content(conn, asset.tenant_id, asset.type,
                                        asset.sha256 or "", asset.source_url or "")
                found = self._repo.live_copy(conn, asset.tenant_id, asset.type,
                                             sha256=asset.sha256, source_url=asset.source_url)
                if found is not None:
                    return found
            self._repo.insert(conn, asset)
            self._jobs.enqueue(conn, asset.id, kind, now_ms(), tracing.traceparent())
            self._events.record(conn, EventType.CREATED, asset)
            if also is not None:
                also(conn)
        log.info("asset.created", extra={"asset_id": str(asset.id),
                                         "tenant_id": str(asset.tenant_id), "type": asset.type})
        if self.on_enqueue:
            self.on_enqueue()
        return asset

    def live_copy(self, tenant_id: uuid.UUID, asset_type: AssetType,
                  sha256: str) -> Asset | None:
        """The tenant's own live (PROCESSING or READY) asset of that type and digest."""
        return self._db.reading(lambda conn: self._repo.live_copy(
            conn, tenant_id, asset_type, sha256=sha256))

    def create_import(self, tenant_id: uuid.UUID, name: str, asset_type: AssetType,
                      url: str, tags: list[str] | None = None, *,
                      dedupe: bool = False) -> Created:
        """A PROCESSING asset whose bytes the worker will download; bad URLs are refused now.
        With dedupe, a URL (normalised) the tenant imported before and still holds answers
        that asset."""
        name = check_name(name)
        if self._url_check is not None:
            url = self._url_check(url)
        self.check_room()
        asset_id = uuid7()
        now = uuid7_ms(asset_id)
        asset = Asset(id=asset_id, tenant_id=tenant_id, name=name, type=asset_type,
                      status=AssetStatus.PROCESSING, created_ms=now, updated_ms=now,
                      source_url=url, declared_type=True, tags=list(tags or []))
        with full_is_507():
            kept = self.add(asset, JobKind.IMPORT, dedupe=dedupe)
        if kept is not asset:
            return Created(kept, duplicate=True)
        ASSETS_CREATED.labels(type=asset_type.value, source="url").inc()
        return Created(asset)

    def get_read(self, tenant_id: uuid.UUID, asset_id: uuid.UUID) -> tuple[Step, RowForm]:
        """The live asset the tenant sees (its own or the system library's) as one statement
        (rows: none, or the asset's stored row) and how its rows spell ids, for a caller with
        its own connection (db/async_reads.py)."""
        return visible_read(self._db.engine.dialect.name, asset_id,
                            (tenant_id, SYSTEM_TENANT_ID))

    def get_row(self, tenant_id: uuid.UUID, asset_id: uuid.UUID) -> tuple[AssetRow, RowForm]:
        """get_read() run: the asset's stored row, read as a listing reads its rows (no Asset
        made), and how its row spells ids; NotFound if the tenant sees no such asset."""
        (statement, _shape), form = self.get_read(tenant_id, asset_id)
        rows = self._db.reading(lambda conn: fetch(conn, statement, AssetRow))
        if not rows:
            raise NotFound("asset not found")
        return rows[0], form

    def list(self, tenant_id: uuid.UUID, query: ListQuery) -> Page:
        """The page of the assets the tenant sees that the query asks for, read in one
        snapshot with its exact total and the libraries' versions."""
        owners = query.owners(tenant_id)
        return self._db.reading(lambda conn: self._listing.read(conn, owners, query),
                                snapshot=True)

    def list_steps(self, tenant_id: uuid.UUID, query: ListQuery) -> Steps:
        """list() as the statements it runs (Listing.steps), for a caller with its own
        connection, in one snapshot (db/async_reads.py)."""
        return self._listing.steps(self._db.engine.dialect.name, query.owners(tenant_id),
                                   query)

    def list_guess(self, tenant_id: uuid.UUID, query: ListQuery,
                   versions: tuple[int, ...]) -> Guess | None:
        """list() in one statement, if its counts are known at these versions (Listing.guess)."""
        return self._listing.guess(self._db.engine.dialect.name, query.owners(tenant_id),
                                   query, versions)

    def peek(self, asset_id: uuid.UUID) -> Asset:
        """Any asset by id, deleted or not (administration only)."""
        with self._db.read() as conn:
            asset = self._repo.get(conn, asset_id)
        if asset is None:
            raise NotFound("asset not found")
        return asset

    def delete(self, tenant_id: uuid.UUID, asset_id: uuid.UUID) -> Asset:
        """Hide the asset at once and move its bytes to the trash until the purge."""
        with full_is_507(), self._db.write() as conn:
            asset = self._repo.get_visible(conn, asset_id, (tenant_id, SYSTEM_TENANT_ID))
            if asset is None:
                raise NotFound("asset not found")
            if asset.is_system:  # 404, as the interface has it (a change of one answers 403)
                raise NotFound("asset not found among this key's own: system assets cannot be "
                               "deleted by tenants")
            asset.deleted_ms = asset.updated_ms = now_ms()
            if self._repo.mark_deleted(conn, asset, asset.deleted_ms):
                self._events.record(conn, EventType.DELETED, asset)
        try:
            self.storage.move_prefix(asset_prefix(asset_id), trash_prefix(asset_id))
        except OSError as exc:  # deleted all the same: the purge removes both prefixes
            if not is_disk_full(exc):
                raise
            log.warning("asset.trash_failed", extra={"asset_id": str(asset_id)})
        log.info("asset.deleted", extra={"asset_id": str(asset_id), "tenant_id": str(tenant_id)})
        return asset

    def restore(self, asset_id: uuid.UUID) -> Asset:
        with self._db.write() as conn:
            asset = self._repo.get(conn, asset_id)
            if asset is None or asset.deleted_ms is None:
                raise NotFound("no deleted asset with that id (it may be purged already)")
            self.storage.move_prefix(trash_prefix(asset_id), asset_prefix(asset_id))
            now = now_ms()
            if self._repo.restore(conn, asset, now):
                asset.deleted_ms, asset.updated_ms = None, now
                self._events.record(conn, EventType.RESTORED, asset)
            if asset.status is AssetStatus.PROCESSING and \
                    self._jobs.for_asset(conn, asset_id) is None:
                kind = JobKind.IMPORT if asset.file_key is None else JobKind.PROCESS
                self._jobs.enqueue(conn, asset_id, kind, now_ms())
        asset.deleted_ms, asset.updated_ms = None, now
        log.info("asset.restored", extra={"asset_id": str(asset_id)})
        return asset

    def purge_due(self, limit: int = 100) -> int:
        """Remove the bytes and rows of assets deleted longer ago than the grace period."""
        before = now_ms() - int(self._settings.purge_after * 1000)
        with self._db.read() as conn:
            due = self._repo.deleted_before(conn, before, limit)
        for asset in due:
            self.storage.delete_prefix(trash_prefix(asset.id))
            self.storage.delete_prefix(asset_prefix(asset.id))
            with self._db.write() as conn:
                if self._repo.remove(conn, asset.id):
                    self._events.record(conn, EventType.PURGED, asset)
            log.info("asset.purged", extra={"asset_id": str(asset.id),
                                            "tenant_id": str(asset.tenant_id)})
        return len(due)

    def links_epoch(self) -> int:
        """Links change only when this does (the hour their expiry is counted from)."""
        return int(time.time()) // 3600

    def links_expiry(self, epoch: int) -> int:
        """When the links signed in that hour expire."""
        return (epoch + 1) * 3600 + int(self._settings.url_ttl)

    def links(self, asset: Linkable, expires: int | None = None) -> Links:
        """Signed URLs, stable within the hour so that clients and caches can reuse them; of
        an Asset or of its stored row as read."""
        if expires is None:
            expires = self.links_expiry(self.links_epoch())
        return self.linker(expires)(asset)

    def linker(self, expires: int) -> Callable[[Linkable], Links]:
        """links(…, expires) as a function of the asset, for a listing's rows: what the links
        of one expiry share is worked out once (a listing signs two URLs a row)."""
        sign, ready = self.storage.link_signer(expires), AssetStatus.READY.value
        extension = kinds.extension
        thumbs: dict[str, Callable[[str], str]] = {}  # by type: their names and types repeat

        def links(asset: Linkable) -> Links:
            file_key = asset.file_key
            if asset.status != ready or not file_key:
                return _NO_LINKS
            mime = asset.mime_type or "application/octet-stream"
            name = download_name(asset.name or asset.original_name or "asset", extension(mime))
            file_url = sign(file_key, name, mime)
            thumb_key = asset.thumb_key
            if not thumb_key:
                return Links(file_url, None)
            tmime = asset.thumb_mime or "image/webp"
            thumb = thumbs.get(tmime)
            if thumb is None:
                thumb = thumbs[tmime] = self.storage.fixed_signer(expires, _thumb_name(tmime),
                                                                  tmime)
            return Links(file_url, thumb(thumb_key))

        return links
