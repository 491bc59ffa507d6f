"""Resumable objects on S3: a multipart upload that lives across requests and processes.

Parts go to S3 as soon as a request has gathered one part's worth (S3 wants at least 5 MiB in
every part but the last). What a request ends with below that is saved as a small tail object,
`<key>.tail-<offset>`, which the next request (in any process) reads back first. A tail is named
by the offset it ends at, so a request that dies after writing a new tail but before the database
recorded its offset leaves the previous tail intact. The database's state holds the upload id
and the parts sent; parts a dead request sent past the saved offset are overwritten later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from mediashelf.storage.s3_uploads import UploadLeases

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MAX_PARTS = 10_000
_GONE = {"404", "NoSuchKey", "NotFound", "NoSuchUpload"}


def _gone(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in _GONE


class S3Resumable:
    def __init__(self, client: S3Client, bucket: str, key: str, offset: int,
                 state: dict[str, Any], part_size: int, leases: UploadLeases) -> None:
        self._client, self._bucket, self._key = client, bucket, key
        self._part_size, self._leases = part_size, leases
        self._upload_id: str | None = state.get("upload_id")
        self._parts: list[list[Any]] = [list(p) for p in state.get("parts", [])]  # n, etag, size
        self._offset = offset
        self._buffer = bytearray()
        tail = offset - sum(int(p[2]) for p in self._parts)
        if tail < 0:
            raise FileNotFoundError("the saved parts of this upload do not match its offset")
        if tail:
            try:
                body = client.get_object(Bucket=bucket, Key=self._tail(offset))["Body"]
                self._buffer += body.read()
            except ClientError as exc:
                if _gone(exc):
                    raise FileNotFoundError("the saved bytes of this upload are gone") from None
                raise
            if len(self._buffer) != tail:
                raise FileNotFoundError("the saved bytes of this upload are incomplete")

    def _tail(self, offset: int) -> str:
        return f"{self._key}.tail-{offset}"

    def write(self, data: bytes) -> None:
        self._buffer += data
        self._offset += len(data)
        if len(self._buffer) >= self._part_size:
            self._send_part()

    def _send_part(self) -> None:
        if self._upload_id is None:
            self._leases.hold(self._key)  # before the upload exists: never unleased
            res = self._client.create_multipart_upload(Bucket=self._bucket, Key=self._key)
            self._upload_id = res["UploadId"]
        number = len(self._parts) + 1
        if number > MAX_PARTS:
            raise OSError("object too large for a multipart upload")
        try:
            res_part = self._client.upload_part(Bucket=self._bucket, Key=self._key,
                                                UploadId=self._upload_id, PartNumber=number,
                                                Body=bytes(self._buffer))
        except ClientError as exc:
            if _gone(exc):
                raise FileNotFoundError("this upload's multipart upload is gone") from None
            raise
        self._parts.append([number, res_part["ETag"], len(self._buffer)])
        self._buffer = bytearray()

    def save(self) -> dict[str, Any]:
        if self._buffer:
            self._client.put_object(Bucket=self._bucket, Key=self._tail(self._offset),
                                    Body=bytes(self._buffer))
        return {"upload_id": self._upload_id, "parts": self._parts}

    def complete(self) -> None:
        if self._upload_id is None:  # smaller than a part: one PUT
            self._client.put_object(Bucket=self._bucket, Key=self._key, Body=bytes(self._buffer))
        else:
            if self._buffer:
                self._send_part()  # the last part may be small
            self._client.complete_multipart_upload(
                Bucket=self._bucket, Key=self._key, UploadId=self._upload_id,
                MultipartUpload={"Parts": cast(Any, [{"PartNumber": n, "ETag": etag}
                                                     for n, etag, _ in self._parts])})
        self._buffer = bytearray()
        drop_resumable(self._client, self._bucket, self._key, self._leases)

    def close(self) -> None:
        self._buffer = bytearray()


def drop_resumable(client: S3Client, bucket: str, key: str, leases: UploadLeases) -> None:
    """Abort every multipart upload at key (a dead request's too), remove the tails, and release
    the held lease last, so the sweep never meets an upload without one."""
    pages = client.get_paginator("list_multipart_uploads").paginate(Bucket=bucket, Prefix=key)
    for page in pages:
        for up in page.get("Uploads", []):
            if up["Key"] != key:
                continue
            try:
                client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=up["UploadId"])
            except ClientError as exc:
                if not _gone(exc):
                    raise
    tails = client.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                             Prefix=f"{key}.tail-")
    keys = [obj["Key"] for page in tails for obj in page.get("Contents", [])]
    for i in range(0, len(keys), 1000):
        client.delete_objects(Bucket=bucket, Delete={
            "Objects": [{"Key": k} for k in keys[i:i + 1000]], "Quiet": True})
    leases.release(key)
