"""Objects in an S3-compatible bucket through boto3: multipart streamed writes, presigned URLs."""

from __future__ import annotations

import contextlib
import functools
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast
from urllib.parse import urlparse

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from mediashelf.names import inline_disposition
from mediashelf.storage.base import LinkSigner
from mediashelf.storage.s3_presign import MAX_PRESIGN_S, Presigner
from mediashelf.storage.s3_resumable import S3Resumable, drop_resumable
from mediashelf.storage.s3_uploads import LEASE_DIR, UploadLeases
from mediashelf.storage.scratch import ScratchDir, Swept
from mediashelf.storage.space import SpaceGuard

if TYPE_CHECKING:
    from botocore.credentials import Credentials
    from mypy_boto3_s3 import S3Client

PART_SIZE = 8 * 2**20  # one part buffered in memory per upload; S3's minimum is 5 MiB
MAX_PARTS = 10_000
COPY_LIMIT = 5 * 2**30  # copy_object's ceiling; larger objects are copied in parts
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


# segments of plain characters, none empty or starting with a dot ("." and ".." are refused)
_SOUND_KEY = re.compile(r"(?:[A-Za-z0-9_~-][A-Za-z0-9_.~-]*/)*[A-Za-z0-9_~-][A-Za-z0-9_.~-]*")
_disposition = functools.lru_cache(maxsize=1024)(inline_disposition)  # thumbnails' repeat


def _missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in _NOT_FOUND


class S3Writer:
    """Bytes buffered up to one part, then sent as a multipart upload; small objects in one PUT."""

    def __init__(self, client: S3Client, bucket: str, key: str, content_type: str | None,
                 part_size: int, leases: UploadLeases) -> None:
        self._client, self._bucket, self._key = client, bucket, key
        self._leases = leases
        self._lease: str | None = None
        self._extra: dict[str, Any] = {"ContentType": content_type} if content_type else {}
        self._part_size = part_size
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._closed = False

    def write(self, data: bytes) -> None:
        assert not self._closed, "writer already closed"
        self._buffer += data
        if len(self._buffer) >= self._part_size:
            self._guard(self._send_part)

    def commit(self) -> None:
        assert not self._closed, "writer already closed"
        self._guard(self._complete)
        self._closed = True

    def abort(self) -> None:
        """Drop what was written; no part stays behind in the bucket."""
        self._closed = True
        self._buffer = bytearray()
        upload_id, self._upload_id = self._upload_id, None
        try:
            if upload_id is not None:
                self._client.abort_multipart_upload(Bucket=self._bucket, Key=self._key,
                                                    UploadId=upload_id)
        finally:
            self._release()

    def _release(self) -> None:
        lease, self._lease = self._lease, None
        if lease is not None:
            self._leases.drop(lease)

    def _guard(self, step: Any) -> None:
        try:
            step()
        except BaseException:
            self.abort()
            raise

    def _send_part(self) -> None:
        if self._upload_id is None:
            self._lease = self._leases.take(self._key)  # before the upload: never unleased
            res = self._client.create_multipart_upload(Bucket=self._bucket, Key=self._key,
                                                       **self._extra)
            self._upload_id = res["UploadId"]
        number = len(self._parts) + 1
        if number > MAX_PARTS:
            raise OSError("object too large for a multipart upload")
        res_part = self._client.upload_part(Bucket=self._bucket, Key=self._key,
                                            UploadId=self._upload_id, PartNumber=number,
                                            Body=bytes(self._buffer))
        self._parts.append({"PartNumber": number, "ETag": res_part["ETag"]})
        self._buffer = bytearray()

    def _complete(self) -> None:
        if self._upload_id is None:
            self._client.put_object(Bucket=self._bucket, Key=self._key,
                                    Body=bytes(self._buffer), **self._extra)
            self._buffer = bytearray()
            return
        if self._buffer or not self._parts:
            self._send_part()
        self._client.complete_multipart_upload(
            Bucket=self._bucket, Key=self._key, UploadId=self._upload_id,
            MultipartUpload={"Parts": cast(Any, self._parts)})
        self._upload_id = None
        self._release()


class S3Storage:
    """Keys live under s3://BUCKET/PREFIX/; one client shared by every thread (clients are)."""

    def __init__(self, client: S3Client, bucket: str, prefix: str, *, url_ttl: float,
                 part_size: int = PART_SIZE, scratch: Path | None = None,
                 upload_lease: float = 600.0, space: SpaceGuard | None = None,
                 credentials: Credentials | None = None) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._url_ttl = url_ttl
        self._part_size = part_size
        # local copies for decoders; a process's own (every process has its own data dir)
        self.scratch = ScratchDir(scratch or Path(tempfile.gettempdir()) / "mediashelf-scratch")
        self.leases = UploadLeases(client, bucket, self.prefix, upload_lease)
        self._space = space
        self._copy_config = TransferConfig(multipart_chunksize=256 * 2**20, max_concurrency=4)
        # without credentials (anonymous, say) botocore presigns, as it knows how
        self._presigner: Presigner | None = None
        if credentials is not None:
            with contextlib.suppress(ValueError):  # a client that does not sign with SigV4
                self._presigner = Presigner(client, bucket, credentials)

    @classmethod
    def from_url(cls, url: str, *, endpoint_url: str | None = None, url_ttl: float = 86400.0,
                 part_size: int = PART_SIZE, scratch: Path | None = None,
                 upload_lease: float = 600.0, space: SpaceGuard | None = None) -> S3Storage:
        """s3://BUCKET/PREFIX; credentials and region come from the usual AWS variables."""
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError("expected s3://BUCKET/PREFIX")
        config = Config(signature_version="s3v4", max_pool_connections=32,
                        connect_timeout=5, read_timeout=60,
                        retries={"max_attempts": 5, "mode": "standard"},
                        s3={"addressing_style": "path" if endpoint_url else "auto"})
        session = boto3.session.Session()
        client = session.client("s3", endpoint_url=endpoint_url or None, config=config,
                                region_name=session.region_name or "us-east-1")
        return cls(client, parsed.netloc, parsed.path, url_ttl=url_ttl, part_size=part_size,
                   scratch=scratch, upload_lease=upload_lease, space=space,
                   credentials=session.get_credentials())

    def _key(self, key: str) -> str:
        if _SOUND_KEY.fullmatch(key):  # ours, as a listing signs them (two a row)
            return self.prefix + key
        parts = key.split("/")
        if not key or key.startswith("/") or any(p in (".", "..") for p in parts) \
                or "" in parts[:-1]:
            raise ValueError("invalid storage key")
        return self.prefix + key

    def writer(self, key: str, content_type: str | None = None) -> S3Writer:
        return S3Writer(self.client, self.bucket, self._key(key), content_type, self._part_size,
                        self.leases)

    def resume(self, key: str, offset: int, state: dict[str, Any]) -> S3Resumable:
        return S3Resumable(self.client, self.bucket, self._key(key), offset, state,
                           self._part_size, self.leases)

    def drop_resumable(self, key: str) -> None:
        drop_resumable(self.client, self.bucket, self._key(key), self.leases)

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        extra: dict[str, Any] = {"ContentType": content_type} if content_type else {}
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, **extra)

    def open(self, key: str) -> BinaryIO:
        try:
            res = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _missing(exc):
                raise FileNotFoundError(key) from None
            raise
        return cast(BinaryIO, res["Body"])

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        """The object in a locked scratch folder (ranged parallel GETs), removed when done."""
        if self._space is not None:
            self._space.check(self.size(key))
        with self.scratch.folder() as folder:
            path = folder / "object"
            try:
                self.client.download_file(self.bucket, self._key(key), str(path))
            except ClientError as exc:
                if _missing(exc):
                    raise FileNotFoundError(key) from None
                raise
            yield path

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            return cast(dict[str, Any], self.client.head_object(Bucket=self.bucket,
                                                                Key=self._key(key)))
        except ClientError as exc:
            if _missing(exc):
                return None
            raise

    def exists(self, key: str) -> bool:
        return self._head(key) is not None

    def size(self, key: str) -> int:
        head = self._head(key)
        if head is None:
            raise FileNotFoundError(key)
        return int(head["ContentLength"])

    def _objects(self, prefix: str) -> Iterator[tuple[str, int]]:
        """(full key, size) of every object under a prefix, a folder-like name or one key."""
        stem = prefix.rstrip("/")
        full = self._key(stem) + "/" if stem else self.prefix
        if stem and not prefix.endswith("/"):
            head = self._head(stem)
            if head is not None:
                yield self.prefix + stem, int(head["ContentLength"])
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                      Prefix=full)
        for page in pages:
            for obj in page.get("Contents", []):
                if not obj["Key"].startswith(self.prefix + LEASE_DIR):  # bookkeeping, not ours
                    yield obj["Key"], int(obj["Size"])

    def list_keys(self, prefix: str) -> Iterator[str]:
        for key, _ in self._objects(prefix):
            yield key[len(self.prefix):]

    def _delete(self, keys: list[str]) -> None:
        for i in range(0, len(keys), 1000):
            res = self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in keys[i:i + 1000]], "Quiet": True})
            if res.get("Errors"):
                err = res["Errors"][0]
                raise OSError(f"cannot delete {err.get('Key')}: {err.get('Code')}")

    def delete_prefix(self, prefix: str) -> None:
        self._delete([key for key, _ in self._objects(prefix)])

    def move_prefix(self, src: str, dst: str) -> None:
        """Copy each object server-side, then delete the originals (S3 has no rename).

        Objects already at dst stay (a move merges, as on local storage); an object that
        another move took away meanwhile is skipped.
        """
        objects = list(self._objects(src))
        if not objects:
            return
        source_stem = self.prefix + src.rstrip("/")
        target_stem = self._key(dst.rstrip("/"))
        moved = []
        for key, size in objects:
            target = target_stem + key[len(source_stem):]
            source = {"Bucket": self.bucket, "Key": key}
            try:
                if size < COPY_LIMIT:
                    self.client.copy_object(Bucket=self.bucket, Key=target,
                                            CopySource=cast(Any, source))
                else:
                    self.client.copy(cast(Any, source), self.bucket, target,
                                     Config=self._copy_config)
            except ClientError as exc:
                if _missing(exc):
                    continue
                raise
            moved.append(key)
        self._delete(moved)

    def signed_url(self, key: str, *, filename: str, content_type: str, expires_at: int) -> str:
        """A presigned GET; S3 itself serves Range, the type and an inline disposition. Signed
        at the start of the hour, so that it is the same URL all hour in every process."""
        return self.link_signer(expires_at)(key, filename, content_type)

    def link_signer(self, expires_at: int) -> LinkSigner:
        if self._presigner is None:
            return functools.partial(self._botocore_url, expires_at)
        url, to_key = self._presigner.signer(expires_at), self._key

        def signed(key: str, filename: str, content_type: str) -> str:
            return url(to_key(key), content_type, _disposition(filename))

        return signed

    def fixed_signer(self, expires_at: int, filename: str, content_type: str
                     ) -> Callable[[str], str]:
        if self._presigner is None:
            return functools.partial(self._botocore_url, expires_at, filename=filename,
                                     content_type=content_type)
        url, to_key, disposition = (self._presigner.signer(expires_at), self._key,
                                    _disposition(filename))
        return lambda key: url(to_key(key), content_type, disposition)

    def _botocore_url(self, expires_at: int, key: str, filename: str, content_type: str) -> str:
        expires_in = max(1, min(MAX_PRESIGN_S, expires_at - int(time.time())))
        return self.client.generate_presigned_url(
            "get_object", ExpiresIn=expires_in,
            Params={"Bucket": self.bucket, "Key": self._key(key),
                    "ResponseContentType": content_type,
                    "ResponseContentDisposition": inline_disposition(filename)})

    def ping(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)

    def sweep(self) -> Swept:
        """Abort unfinished uploads whose lease went stale; remove orphaned local copies."""
        return self.scratch.sweep().add(self.leases.sweep())

    def close(self) -> None:
        """Stop renewing leases and close the client's pooled connections."""
        self.leases.close()
        self.client.close()

