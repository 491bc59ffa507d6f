"""Resumable (tus) uploads: create, write at an offset, finish into an asset, terminate, expire.

The database holds each upload's offset and storage state, so any API process can take its next
PATCH; a PATCH holds the upload's lock (db/uploads.py) while it writes. The final PATCH makes the
asset through AssetService.create_uploaded, the same call a multipart upload ends with.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from sqlalchemy.engine import Connection

from mediashelf.db.database import Database
from mediashelf.db.uploads import UploadRepository
from mediashelf.domain import AssetType, Upload, asset_prefix, now_ms, uuid7
from mediashelf.errors import (
    BadRequest,
    ChecksumMismatch,
    Conflict,
    Gone,
    Locked,
    NotFound,
    PayloadTooLarge,
    shown_header,
)
from mediashelf.media import kinds
from mediashelf.names import check_file_name, check_name
from mediashelf.services.assets import AssetService, Received, full_is_507
from mediashelf.settings import Settings, format_size
from mediashelf.storage.base import ResumableWriter
from mediashelf.words import split_tags

log = logging.getLogger("mediashelf.uploads")

CHECKSUMS = {"sha256": hashlib.sha256, "sha1": hashlib.sha1, "md5": hashlib.md5}
_READ = 1 << 20
_RUNNING_HASHES = 1024  # uploads whose SHA-256 so far this process keeps (see Digests)


class Digests:
    """The SHA-256 (and first bytes) of each upload up to its saved offset, for the uploads whose
    PATCHes this process took: when every PATCH of an upload came here, the last one needs no
    second read of the whole file. Otherwise (another process, a restart) it reads it back."""

    def __init__(self, size: int = _RUNNING_HASHES) -> None:
        self._size = size
        self._kept: OrderedDict[tuple[uuid.UUID, int], tuple[Any, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, upload_id: uuid.UUID, offset: int) -> tuple[Any, bytes] | None:
        if offset == 0:
            return hashlib.sha256(), b""
        with self._lock:
            return self._kept.pop((upload_id, offset), None)

    def keep(self, upload_id: uuid.UUID, offset: int, sha: Any, head: bytes) -> None:
        with self._lock:
            self._kept[(upload_id, offset)] = (sha, head)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)


@dataclass(frozen=True, slots=True)
class Meta:
    """What Upload-Metadata told us: the raw header (answered again by HEAD) and our keys."""

    raw: str = ""
    name: str | None = None
    filename: str | None = None
    type: AssetType | None = None
    content_type: str | None = None
    dedupe: bool = True
    tags: tuple[str, ...] = ()  # checked at creation; read again from `raw` at the end


@dataclass(frozen=True, slots=True)
class Checksum:
    algorithm: str
    digest: bytes


class UploadService:
    def __init__(self, db: Database, repo: UploadRepository, assets: AssetService,
                 settings: Settings) -> None:
        self._db, self._repo, self._assets = db, repo, assets
        self.storage = assets.storage
        self.expiry_ms = int(settings.upload_expiry * 1000)
        self.lock_ms = int(settings.upload_lock * 1000)
        self.digests = Digests()

    @property
    def max_size(self) -> int:
        return self._assets.limit_for(None)

    def create(self, tenant_id: uuid.UUID, length: int, meta: Meta) -> Upload:
        """A new empty upload; its type's size limit is checked on the length now."""
        if length == 0:
            raise BadRequest("the file is empty: Upload-Length is 0")
        limit = self._assets.limit_for(meta.type)
        if length > limit:
            raise PayloadTooLarge(f"Upload-Length {length} is larger than the limit of "
                                  f"{format_size(limit)}")
        check_file_name(meta.filename)  # refused now rather than after the last byte
        if meta.name is not None:
            check_name(meta.name)
        self._assets.check_room()
        now = now_ms()
        upload = Upload(id=uuid7(now), tenant_id=tenant_id, length=length, received=0,
                        created_ms=now, expires_ms=now + self.expiry_ms, metadata=meta.raw,
                        name=meta.name, filename=meta.filename, declared_type=meta.type,
                        content_type=meta.content_type, dedupe=meta.dedupe)
        with full_is_507(), self._db.write() as conn:
            self._repo.insert(conn, upload)
        log.info("upload.created", extra={"upload_id": str(upload.id),
                                          "tenant_id": str(tenant_id), "length": length})
        return upload

    def status(self, tenant_id: uuid.UUID, upload_id: uuid.UUID) -> Upload:
        upload = self._db.reading(lambda conn: self._repo.get(conn, upload_id, tenant_id))
        if upload is None:
            raise NotFound("upload not found")
        if upload.expires_ms <= now_ms() and upload.asset_id is None:
            raise Gone("the upload expired")
        return upload

    def begin(self, tenant_id: uuid.UUID, upload_id: uuid.UUID, offset: int,
              checksum: Checksum | None = None) -> Patch:
        """Lock the upload for one PATCH at `offset`; 409 if that is not its offset."""
        token, now = uuid.uuid4().hex, now_ms()
        with self._db.write() as conn:
            upload = self._repo.lock(conn, upload_id, tenant_id, offset, token, now,
                                     now + self.lock_ms)
            if upload is None:
                self._refuse(conn, tenant_id, upload_id, offset, now)
        try:
            with full_is_507():
                writer = self.storage.resume(upload.key, offset, upload.state)
        except FileNotFoundError:
            self._unlock(upload.id, token)
            raise Gone("the bytes of this upload are gone; start a new upload") from None
        except BaseException:
            self._unlock(upload.id, token)
            raise
        return Patch(self, upload, token, writer, checksum)

    def _refuse(self, conn: Connection, tenant_id: uuid.UUID, upload_id: uuid.UUID,
                offset: int, now: int) -> NoReturn:
        """Why the lock was not taken, as the error the client should see."""
        upload = self._repo.get(conn, upload_id, tenant_id)
        if upload is None:
            raise NotFound("upload not found")
        if upload.asset_id is not None:
            raise Conflict("the upload is complete")
        if upload.expires_ms <= now:
            raise Gone("the upload expired")
        if upload.received != offset:
            raise Conflict(f"Upload-Offset {offset} is not the upload's offset "
                           f"{upload.received}", {"Upload-Offset": str(upload.received)})
        if self._repo.locked(conn, upload_id, now):
            raise Locked("another request is writing this upload; try again shortly",
                         {"Retry-After": "1"})
        raise Conflict("the upload changed meanwhile; ask its offset again")

    def _unlock(self, upload_id: uuid.UUID, token: str) -> None:
        with self._db.write() as conn:
            self._repo.unlock(conn, upload_id, token)

    def _extend(self, upload_id: uuid.UUID, token: str) -> None:
        with self._db.write() as conn:
            if not self._repo.extend(conn, upload_id, token, now_ms() + self.lock_ms):
                raise Conflict("the upload was taken over by another request")

    def _save(self, patch: Patch, received: int) -> Upload:
        state = patch.writer.save()
        now = now_ms()
        with self._db.write() as conn:
            if not self._repo.save(conn, patch.upload.id, patch.token, received, state, now,
                                   now + self.expiry_ms):
                raise Conflict("the upload was taken over by another request")
        if patch.sha is not None:
            self.digests.keep(patch.upload.id, received, patch.sha, patch.head[:received])
        patch.upload.received, patch.upload.expires_ms = received, now + self.expiry_ms
        return patch.upload

    def _finish(self, patch: Patch) -> Upload:
        """The last byte arrived: the object is completed and becomes an asset."""
        up = patch.upload
        self._extend(up.id, patch.token)  # still ours: completing cannot be undone
        with full_is_507():
            patch.writer.complete()
        try:
            if patch.sha is not None and len(patch.head) >= min(kinds.HEAD, up.length):
                sha, head = patch.sha.hexdigest(), patch.head
            else:
                sha, head = self._digest(up.key)
            got = Received(up.tenant_id, up.id, up.length, sha, head, up.declared_type,
                           up.name, up.filename, up.content_type, {}, _tags(up.metadata))
            expires = now_ms() + self.expiry_ms

            def mark(conn: Connection) -> None:  # with the asset's row: both or neither
                if not self._repo.finish(conn, up.id, patch.token, got.asset_id, now_ms(),
                                         expires):
                    raise Conflict("the upload was taken over by another request")

            # a duplicate answers the tenant's live copy: our bytes are then already deleted
            # and `mark` did not run, so the upload is marked finished with that asset below
            asset = self._assets.create_uploaded(got, also=mark, dedupe=up.dedupe)
            if asset.id != up.id:
                with self._db.write() as conn:
                    if not self._repo.finish(conn, up.id, patch.token, asset.id, now_ms(),
                                             expires):
                        raise Conflict("the upload was taken over by another request")
        except BaseException:  # refused (type, name, room): the upload cannot be completed
            self.storage.delete_prefix(asset_prefix(up.id))
            with self._db.write() as conn:
                self._repo.delete(conn, up.id, patch.token)
            raise
        up.asset_id, up.received, up.expires_ms = asset.id, up.length, expires
        log.info("upload.finished", extra={"upload_id": str(up.id), "asset_id": str(asset.id),
                                           "tenant_id": str(up.tenant_id),
                                           "duplicate": asset.id != up.id})
        return up

    def _digest(self, key: str) -> tuple[str, bytes]:
        """The object's SHA-256 and first bytes, read back once (a hash's state cannot be
        carried from one process to the next)."""
        sha = hashlib.sha256()
        head = b""
        with self.storage.open(key) as fh:
            while chunk := fh.read(_READ):
                if len(head) < kinds.HEAD:
                    head += chunk[: kinds.HEAD - len(head)]
                sha.update(chunk)
        return sha.hexdigest(), head

    def terminate(self, tenant_id: uuid.UUID, upload_id: uuid.UUID) -> None:
        """tus termination: the upload's bytes go; a finished upload's asset stays."""
        if not self._remove(upload_id, tenant_id):
            upload = self._db.reading(lambda conn: self._repo.get(conn, upload_id, tenant_id))
            if upload is None:
                raise NotFound("upload not found")
            raise Locked("a request is writing this upload; try again shortly",
                         {"Retry-After": "1"})

    def expire_due(self, limit: int = 100) -> int:
        """Remove the uploads whose time ran out: unfinished ones with their bytes and any open
        S3 multipart upload; finished ones only lose the record HEAD answered from."""
        with self._db.read() as conn:
            due = self._repo.expired(conn, now_ms(), limit)
        return sum(self._remove(upload_id, None) for upload_id in due)

    def _remove(self, upload_id: uuid.UUID, tenant_id: uuid.UUID | None) -> bool:
        token, now = uuid.uuid4().hex, now_ms()
        with self._db.write() as conn:
            upload = self._repo.claim_removal(conn, upload_id, tenant_id, token, now,
                                              now + self.lock_ms)
        if upload is None:
            return False
        if upload.asset_id is None:
            self.storage.drop_resumable(upload.key)
            self.storage.delete_prefix(asset_prefix(upload.id))
        with self._db.write() as conn:
            self._repo.delete(conn, upload.id, token)
        log.info("upload.removed", extra={"upload_id": str(upload.id),
                                          "finished": upload.asset_id is not None})
        return True


class Patch:
    """One PATCH's writes, under the upload's lock: end() saves them (or finishes the upload),
    abandon() keeps only what was saved before."""

    def __init__(self, service: UploadService, upload: Upload, token: str,
                 writer: ResumableWriter, checksum: Checksum | None) -> None:
        self._service, self.upload, self.token, self.writer = service, upload, token, writer
        self._offset = upload.received
        self._start = upload.received
        running = service.digests.take(upload.id, upload.received)
        self.sha: Any = running[0] if running is not None else None
        self.head: bytes = running[1] if running is not None else b""
        self._hash = CHECKSUMS[checksum.algorithm]() if checksum else None
        self._checksum = checksum
        self._extended = time.monotonic()
        self._closed = False

    @property
    def offset(self) -> int:
        return self._offset

    def write(self, data: bytes) -> None:
        if self._offset + len(data) > self.upload.length:
            raise PayloadTooLarge(f"more bytes than Upload-Length ({self.upload.length})")
        if self._offset < kinds.HEAD and self._offset == len(self.head):
            self.head += data[: kinds.HEAD - len(self.head)]
            self._check_type()
        if time.monotonic() - self._extended > self._service.lock_ms / 3000:
            # before writing: a request that stalled past its lock must not write after
            # another one took the upload over (this raises 409 instead)
            self._service._extend(self.upload.id, self.token)
            self._extended = time.monotonic()
        with full_is_507():
            self.writer.write(data)
        if self._hash is not None:  # after the write: what is hashed is what was kept
            self._hash.update(data)
        if self.sha is not None:
            self.sha.update(data)
        self._offset += len(data)

    def _check_type(self) -> None:
        """The first bytes tell the type: its limit applies to Upload-Length at once."""
        if self.upload.declared_type is not None or len(self.head) < 12:
            return
        family = kinds.sniff(self.head)
        limit = self._service._assets.limit_for(family) if family else None
        if limit is not None and self.upload.length > limit:
            raise PayloadTooLarge(f"Upload-Length {self.upload.length} is larger than the "
                                  f"limit of {format_size(limit)} for {family}")

    def end(self) -> Upload:
        """The body ended: keep its bytes (after the checksum, if one was sent)."""
        if self._checksum is not None and self._hash is not None and \
                self._hash.digest() != self._checksum.digest:
            self.abandon()
            raise ChecksumMismatch("the chunk's bytes do not match Upload-Checksum")
        if self._offset == self.upload.length:
            return self._keeping(lambda: self._service._finish(self))
        return self._keeping(lambda: self._service._save(self, self._offset))

    def keep_partial(self) -> Upload | None:
        """The client went away mid-body: keep what arrived, unless a checksum was to be
        verified (then nothing of this request counts)."""
        if self._checksum is not None or self._offset == self._start:
            self.abandon()
            return None
        return self._keeping(lambda: self._service._save(self, self._offset))

    def _keeping(self, keep: Callable[[], Upload]) -> Upload:
        """Save or finish; if that fails, the lock goes at once rather than when it runs out."""
        try:
            return keep()
        except BaseException:
            with contextlib.suppress(Exception):
                self._service._unlock(self.upload.id, self.token)
            raise
        finally:
            self._close()

    def abandon(self) -> None:
        if self._closed:
            return
        self._close()
        self._service._unlock(self.upload.id, self.token)

    def _close(self) -> None:
        self._closed = True
        self.writer.close()


def parse_checksum(value: str | None) -> Checksum | None:
    """Upload-Checksum: `<algorithm> <base64 digest>`."""
    if value is None:
        return None
    given, _, encoded = value.strip().partition(" ")
    algorithm = given.lower()
    if algorithm not in CHECKSUMS:
        raise BadRequest(f"unsupported checksum algorithm '{shown_header(given, 16)}': use "
                         f"{', '.join(CHECKSUMS)}")
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except ValueError:
        raise BadRequest("Upload-Checksum: the digest is not base64") from None
    if len(digest) != CHECKSUMS[algorithm]().digest_size:
        raise BadRequest(f"Upload-Checksum: not a {algorithm} digest")
    return Checksum(algorithm, digest)


def _tags(raw: str | None) -> tuple[str, ...]:
    """The `tags` of an upload's Upload-Metadata (comma-separated; checked at its creation)."""
    for item in (raw or "").split(","):
        key, _, value = item.strip().partition(" ")
        if key == "tags":
            text = base64.b64decode(value.strip()).decode("utf-8", "replace")
            return tuple(split_tags(text))
    return ()
