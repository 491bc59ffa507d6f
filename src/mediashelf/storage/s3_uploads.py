"""Leases on our S3 multipart uploads, and the sweep that aborts the uploads nobody renews.

A multipart upload killed with its process stays in the bucket (billed, invisible) until someone
aborts it, and any process on any machine may be the one still writing a given upload. So each
upload in progress has a small lease object, `<prefix>.uploads/<hash of its key>/<writer>`, put
before the upload starts and put again every lease/5 seconds by its process. The sweep aborts an
upload under our prefix when no lease of its key is younger than the lease period and the
upload itself started longer ago than that. Ages are measured by the bucket's own clock (its
Date header against its LastModified and Initiated times), so the machines' clocks do not matter.

A resumable (tus) upload outlives any one process: its lease is `held`, never renewed and never
stale, until the upload completes or expires (the database knows which; see s3_resumable.py).
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import uuid
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from mediashelf.storage.scratch import Swept

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger("mediashelf.s3")

LEASE_DIR = ".uploads/"
HELD = "held"  # the lease of a resumable upload (a uuid hex never has this name)


class UploadLeases:
    """The leases of this process's multipart uploads, renewed by one thread."""

    def __init__(self, client: S3Client, bucket: str, prefix: str, lease_s: float) -> None:
        self._client, self._bucket, self._prefix = client, bucket, prefix
        self.lease_s = lease_s
        self._owner = f"{socket.gethostname()}:{os.getpid()}".encode()
        self._live: dict[str, str] = {}  # lease key -> the upload's object key
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _folder(self, key: str) -> str:
        """Where the leases of an object key's uploads live (one per writer)."""
        return self._prefix + LEASE_DIR + hashlib.sha256(key.encode()).hexdigest()[:40]

    def take(self, key: str) -> str:
        """Put a lease for an upload about to start at key; renewed until drop(lease)."""
        lease = f"{self._folder(key)}/{uuid.uuid4().hex}"
        self._put(lease, key)
        with self._lock:
            self._live[lease] = key
            if self._thread is None:
                self._thread = threading.Thread(target=self._renew, name="s3-upload-leases",
                                                daemon=True)
                self._thread.start()
        return lease

    def hold(self, key: str) -> None:
        """A lease that covers key's uploads until release(key), whatever its age."""
        self._put(f"{self._folder(key)}/{HELD}", key)

    def release(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self._bucket, Key=f"{self._folder(key)}/{HELD}")
        except (BotoCoreError, ClientError):
            log.warning("s3.lease_release_failed", exc_info=True)

    def drop(self, lease: str) -> None:
        """The upload is finished or aborted: stop renewing its lease and remove it."""
        with self._lock:  # after this, no renewal of it can be in flight
            self._live.pop(lease, None)
        try:
            self._client.delete_object(Bucket=self._bucket, Key=lease)
        except (BotoCoreError, ClientError):
            log.warning("s3.lease_drop_failed", exc_info=True)  # the sweep removes it later

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _put(self, lease: str, key: str) -> None:
        self._client.put_object(Bucket=self._bucket, Key=lease,
                                Body=self._owner + b"\n" + key.encode())

    def _renew(self) -> None:
        while not self._stop.wait(self.lease_s / 5):
            with self._lock:
                leases = list(self._live)
            for lease in leases:
                try:
                    with self._lock:
                        if lease in self._live:
                            self._put(lease, self._live[lease])
                except (BotoCoreError, ClientError):
                    log.warning("s3.lease_renew_failed", exc_info=True)

    def sweep(self) -> Swept:
        """Abort the uploads under our prefix that no fresh lease covers; drop stale leases."""
        uploads, now = self._uploads()
        leases = self._leases()

        def age(when: datetime) -> float:
            return (now - when).total_seconds()

        covered = {k.rsplit("/", 1)[0] for k, when in leases.items()
                   if age(when) < self.lease_s or k.endswith("/" + HELD)}
        swept = Swept()
        for up in uploads:
            if self._folder(up["Key"]) in covered or age(up["Initiated"]) < self.lease_s:
                continue
            size = self._size(up)
            try:
                self._client.abort_multipart_upload(Bucket=self._bucket, Key=up["Key"],
                                                    UploadId=up["UploadId"])
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "NoSuchUpload":
                    raise
                continue  # finished or aborted meanwhile
            swept = swept.add(Swept(1, size))
            log.info("s3.upload_aborted", extra={"key": up["Key"], "bytes": size})
        for lease, when in leases.items():  # left by processes that died
            if age(when) >= self.lease_s and not lease.endswith("/" + HELD):
                self._client.delete_object(Bucket=self._bucket, Key=lease)
        return swept

    def _uploads(self) -> tuple[list[dict[str, Any]], datetime]:
        uploads: list[dict[str, Any]] = []
        now: datetime | None = None
        pages = self._client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self._bucket, Prefix=self._prefix)
        for page in pages:
            now = now or _server_time(page)
            uploads += [dict(u) for u in page.get("Uploads", [])
                        if not u["Key"].startswith(self._prefix + LEASE_DIR)]
        return uploads, now or datetime.now(UTC)

    def _leases(self) -> dict[str, datetime]:
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=self._prefix + LEASE_DIR)
        return {obj["Key"]: obj["LastModified"] for page in pages
                for obj in page.get("Contents", [])}

    def _size(self, upload: dict[str, Any]) -> int:
        try:
            parts = self._client.list_parts(Bucket=self._bucket, Key=upload["Key"],
                                            UploadId=upload["UploadId"])
        except ClientError:
            return 0
        return sum(int(p.get("Size", 0)) for p in parts.get("Parts", []))


def _server_time(page: Any) -> datetime | None:
    """The bucket's clock, from the Date header of its answer."""
    date = page.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    try:
        return parsedate_to_datetime(date) if date else None
    except (TypeError, ValueError):
        return None
