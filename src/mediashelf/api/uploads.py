"""/v1/uploads: resumable uploads with the tus 1.0 protocol (core, creation, creation-with-upload,
termination, expiration, checksum). The last PATCH makes the asset (X-Asset-Id)."""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import functools
import hashlib
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from typing import IO, Any

import anyio
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from mediashelf.api import schemas
from mediashelf.api.assets import DUPLICATE_HEADER
from mediashelf.api.behind import WriteBehind
from mediashelf.api.deps import current_key, upload_service
from mediashelf.api.idempotency import KEY_PARAMETER, REPLAYED, Gate, fingerprint, idempotent
from mediashelf.api.openapi import PUBLIC
from mediashelf.api.upload import parse_flag
from mediashelf.domain import AssetType, Upload
from mediashelf.errors import (
    BadRequest,
    MediashelfError,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    UnsupportedMedia,
)
from mediashelf.services.uploads import CHECKSUMS, Meta, Patch, parse_checksum
from mediashelf.words import split_tags

router = APIRouter(prefix="/v1", tags=["uploads"])

VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,termination,expiration,checksum"
CHUNK_TYPE = "application/offset+octet-stream"
EXPOSED = ("Location", "Tus-Resumable", "Tus-Version", "Tus-Extension", "Tus-Max-Size",
           "Tus-Checksum-Algorithm", "Upload-Offset", "Upload-Length", "Upload-Metadata",
           "Upload-Expires", "X-Asset-Id", DUPLICATE_HEADER, REPLAYED)
_TUS = {"Tus-Resumable": VERSION}
_FLUSH = 1 << 20  # bytes handed to storage per thread hop
_META_MAX = 4096

Handler = Callable[..., Awaitable[Response]]


def _tus(handler: Handler) -> Handler:
    """Tus-Resumable on every answer, errors included; 412 for another protocol version."""

    @functools.wraps(handler)
    async def run(request: Request, *args: object, **kwargs: object) -> Response:
        try:
            if request.headers.get("tus-resumable") != VERSION:
                raise PreconditionFailed(f"send Tus-Resumable: {VERSION} (the only tus version "
                                         "this server speaks)", {"Tus-Version": VERSION})
            response = await handler(request, *args, **kwargs)
        except MediashelfError as exc:
            exc.headers = {**_TUS, **(exc.headers or {})}
            raise
        response.headers.update(_TUS)
        return response

    return run


_HEADERS = {
    "Tus-Resumable": "1.0.0 (on every request but OPTIONS, and every answer)",
    "Upload-Length": "the file's size in bytes",
    "Upload-Metadata": "comma-separated `key base64(value)`: filename, name, type, dedupe",
    "Upload-Offset": "bytes the server holds (a PATCH sends the offset it starts at)",
    "Upload-Checksum": "`sha256 <base64 digest>` of the chunk (also sha1, md5)",
    "Upload-Expires": "when an unfinished upload is removed (RFC 9110 date)",
    "Location": "the new upload's URL",
    "X-Asset-Id": "the asset the finished upload became",
    DUPLICATE_HEADER: "the tenant already held these bytes: the existing asset X-Asset-Id names "
                      "(no second copy is kept; `dedupe` false in Upload-Metadata opts out)",
    REPLAYED: "`true` when this is the kept answer to an earlier request with the same "
              "Idempotency-Key",
}


def _said(*names: str) -> dict[str, Any]:
    """Response headers for the OpenAPI document."""
    return {n: {"description": _HEADERS[n], "schema": {"type": "string"}} for n in names}


def _asked(*names: str) -> dict[str, Any]:
    """Request headers for the OpenAPI document (added to the path's parameters)."""
    return {"parameters": [
        {"name": n, "in": "header", "required": n in ("Tus-Resumable", "Upload-Length",
                                                      "Upload-Offset"),
         "description": _HEADERS[n], "schema": {"type": "string"}} for n in names]}


_ERR: dict[str, Any] = {"model": schemas.Error,
                        "description": "`{code, message}`, with Tus-Resumable"}
_DOC: dict[int | str, dict[str, Any]] = {
    s: _ERR for s in (400, 401, 404, 409, 410, 412, 413, 415, 423, 460, 507)}


@router.options("/uploads", status_code=204, summary="tus: what this server supports",
                operation_id="tusOptions", openapi_extra=PUBLIC,
                responses={204: {"description": "What the server supports", "headers": {
                    n: {"schema": {"type": "string"}} for n in (
                        "Tus-Version", "Tus-Extension", "Tus-Max-Size",
                        "Tus-Checksum-Algorithm")}}})
@router.options("/uploads/{upload_id}", include_in_schema=False)
async def options(request: Request) -> Response:
    return Response(status_code=204, headers={
        **_TUS, "Tus-Version": VERSION, "Tus-Extension": EXTENSIONS,
        "Tus-Max-Size": str(upload_service(request).max_size),
        "Tus-Checksum-Algorithm": ",".join(CHECKSUMS)})


@router.post(
    "/uploads", status_code=201, summary="tus: create an upload", operation_id="tusCreate",
    description="Headers: `Tus-Resumable: 1.0.0`, `Upload-Length`, `Upload-Metadata` (base64 "
                "values: `filename`, `name`, optional `type` AUDIO/IMAGE/VIDEO or a MIME type, "
                "optional `dedupe` false). A body of type application/offset+octet-stream is "
                "the first chunk (creation-with-upload). The type's size limit is checked on "
                "Upload-Length. With an Idempotency-Key, a retry answers the first 201 again "
                "rather than creating a second upload. When the last chunk arrives, bytes the "
                "tenant already holds end as that asset (X-Duplicate-Of), unless `dedupe` is "
                "false.",
    openapi_extra={"parameters": [*_asked("Tus-Resumable", "Upload-Length", "Upload-Metadata",
                                          "Upload-Checksum")["parameters"], KEY_PARAMETER]},
    responses={201: {"description": "Created; X-Asset-Id if the body completed it",
                     "headers": _said("Location", "Upload-Offset", "Upload-Expires",
                                      "X-Asset-Id", DUPLICATE_HEADER, REPLAYED,
                                      "Tus-Resumable")}, **_DOC,
               409: {**_ERR, "description": "A request with the same Idempotency-Key is "
                     "still being processed; retry later"},
               422: {**_ERR, "description": "The Idempotency-Key was used for a different "
                     "request"}})
@_tus
async def create(request: Request) -> Response:
    key = await current_key(request)
    service = upload_service(request)
    if "upload-defer-length" in request.headers:
        raise BadRequest("Upload-Defer-Length is not supported: send Upload-Length")
    length = _number(request, "upload-length")
    meta = parse_metadata(request.headers.get("upload-metadata"))
    has_body = _content_type(request) == CHUNK_TYPE
    checksum = parse_checksum(request.headers.get("upload-checksum")) if has_body else None

    async def handle(gate: Gate) -> Response:
        spool = await _spool(request, gate, min(length, service.max_size)) \
            if has_body and gate.keyed else None
        try:
            gate.check(fingerprint("POST /v1/uploads", length, meta.raw,
                                   spool.sha256 if spool else None))
            upload = await run_in_threadpool(service.create, key.tenant_id, length, meta)
            location = request.app.state.settings.public_url + f"/v1/uploads/{upload.id}"
            if has_body:
                try:
                    patch = await run_in_threadpool(service.begin, key.tenant_id, upload.id, 0,
                                                    checksum)
                    upload = await (_replay_spool(spool, patch) if spool is not None
                                    else receive(request, patch))
                except MediashelfError as exc:  # created all the same: the client may resume
                    exc.headers = {"Location": location, "Upload-Offset": "0",
                                   **(exc.headers or {})}
                    raise
        finally:
            if spool is not None:
                spool.file.close()
        return Response(status_code=201, headers={"Location": location, **_progress(upload)})

    return await idempotent(request, key.tenant_id, handle)


@dataclasses.dataclass
class _Spooled:
    file: IO[bytes]
    sha256: str


async def _spool(request: Request, gate: Gate, most: int) -> _Spooled:
    """Read a keyed creation's body first (memory, then a temporary file): its digest is part
    of what the key stands for, and a replay must not create a second upload."""
    file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_FLUSH)  # noqa: SIM115
    sha = hashlib.sha256()
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > most:
                raise PayloadTooLarge(f"the body is larger than Upload-Length or the size "
                                      f"limit ({most} bytes)")
            sha.update(chunk)
            file.write(chunk)  # a socket read's worth: to memory or the page cache
            await gate.keep_alive()
    except BaseException:
        file.close()
        raise
    file.seek(0)
    return _Spooled(file, sha.hexdigest())


async def _replay_spool(spool: _Spooled, work: Patch) -> Upload:
    """Write a spooled body into the upload, as receive() does with one that streams in."""
    try:
        while data := await run_in_threadpool(spool.file.read, _FLUSH):
            await run_in_threadpool(work.write, data)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(work.abandon)
        raise
    return await run_in_threadpool(work.end)


@router.head("/uploads/{upload_id}", summary="tus: an upload's offset", operation_id="tusHead",
             openapi_extra=_asked("Tus-Resumable"),
             responses={200: {"description": "Where the upload stands", "headers": _said(
                 "Upload-Offset", "Upload-Length", "Upload-Metadata", "Upload-Expires",
                 "X-Asset-Id", DUPLICATE_HEADER, "Tus-Resumable")}, **_DOC})
@_tus
async def head(request: Request, upload_id: str) -> Response:
    key = await current_key(request)
    upload = await run_in_threadpool(upload_service(request).status, key.tenant_id,
                                     _id(upload_id))
    headers = {**_progress(upload), "Upload-Length": str(upload.length),
               "Cache-Control": "no-store"}
    if upload.metadata:
        headers["Upload-Metadata"] = upload.metadata
    return Response(status_code=200, headers=headers)


@router.patch(
    "/uploads/{upload_id}", status_code=204, summary="tus: append a chunk",
    operation_id="tusPatch",
    description="Headers: `Tus-Resumable`, `Upload-Offset` (must be the upload's offset, else "
                "409), `Content-Type: application/offset+octet-stream`, optional "
                "`Upload-Checksum: sha256 <base64>` (460 on mismatch). The chunk that completes "
                "the upload creates the asset: its id is in X-Asset-Id, and it goes PROCESSING "
                "→ READY or FAILED as any upload.",
    openapi_extra=_asked("Tus-Resumable", "Upload-Offset", "Upload-Checksum"),
    responses={204: {"description": "Stored; X-Asset-Id when this chunk completed the upload",
                     "headers": _said("Upload-Offset", "Upload-Expires", "X-Asset-Id",
                                      DUPLICATE_HEADER, "Tus-Resumable")}, **_DOC})
@_tus
async def patch(request: Request, upload_id: str) -> Response:
    key = await current_key(request)
    service = upload_service(request)
    target = _id(upload_id)
    if _content_type(request) != CHUNK_TYPE:
        raise UnsupportedMedia(f"a tus chunk is sent as Content-Type: {CHUNK_TYPE}")
    offset = _number(request, "upload-offset")
    checksum = parse_checksum(request.headers.get("upload-checksum"))
    work = await run_in_threadpool(service.begin, key.tenant_id, target, offset, checksum)
    upload = await receive(request, work)
    return Response(status_code=204, headers=_progress(upload))


@router.delete("/uploads/{upload_id}", status_code=204, summary="tus: terminate an upload",
               operation_id="tusDelete", openapi_extra=_asked("Tus-Resumable"),
               responses={204: {"description": "Removed with its bytes"}, **_DOC})
@_tus
async def delete(request: Request, upload_id: str) -> Response:
    key = await current_key(request)
    await run_in_threadpool(upload_service(request).terminate, key.tenant_id, _id(upload_id))
    return Response(status_code=204)


async def receive(request: Request, work: Patch) -> Upload:
    """Stream the body into the upload, writing each piece while the next arrives (behind.py).
    A client that leaves mid-body keeps what arrived."""
    buffer = bytearray()
    writes = WriteBehind(work.write)
    try:
        async for chunk in request.stream():
            buffer += chunk
            if len(buffer) >= _FLUSH:
                data, buffer = bytes(buffer), bytearray()
                await writes.put(data)
        await writes.wait()
        if buffer:
            await run_in_threadpool(work.write, bytes(buffer))
    except ClientDisconnect:
        with anyio.CancelScope(shield=True):
            with contextlib.suppress(MediashelfError):  # too many bytes: what came before stays
                await writes.wait()
                if buffer:
                    await run_in_threadpool(work.write, bytes(buffer))
            await run_in_threadpool(work.keep_partial)
        raise
    except BaseException:
        with anyio.CancelScope(shield=True):
            with contextlib.suppress(Exception):  # the thread is done with the writer
                await writes.wait()
            await run_in_threadpool(work.abandon)
        raise
    return await run_in_threadpool(work.end)


def _progress(upload: Upload) -> dict[str, str]:
    headers = {"Upload-Offset": str(upload.received)}
    if upload.asset_id is not None:
        headers["X-Asset-Id"] = str(upload.asset_id)
        if upload.asset_id != upload.id:  # the tenant held these bytes: that asset, no copy
            headers[DUPLICATE_HEADER] = str(upload.asset_id)
    else:
        headers["Upload-Expires"] = formatdate(upload.expires_ms / 1000, usegmt=True)
    return headers


def _id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("upload not found") from None


def _number(request: Request, header: str) -> int:
    raw = request.headers.get(header)
    if raw is None:
        raise BadRequest(f"missing header {header.title()}")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19:
        raise BadRequest(f"{header.title()} must be a non-negative integer")
    return int(raw)


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def parse_metadata(raw: str | None) -> Meta:
    """Upload-Metadata: comma-separated `key base64value` pairs (a value may be absent)."""
    if not raw or not raw.strip():
        return Meta()
    if len(raw) > _META_MAX:
        raise BadRequest(f"Upload-Metadata is longer than {_META_MAX} characters")
    pairs: dict[str, str] = {}
    for item in raw.split(","):
        name, _, encoded = item.strip().partition(" ")
        if not name or not name.isascii() or name in pairs:
            raise BadRequest("Upload-Metadata: keys must be ASCII, non-empty and unique")
        try:
            pairs[name] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise BadRequest(f"Upload-Metadata: the value of '{name[:32]}' is not base64 of "
                             "UTF-8 text") from None
    kind, content_type = pairs.get("type"), pairs.get("filetype") or pairs.get("contentType")
    declared: AssetType | None = None
    if kind:
        if kind.strip().upper() in AssetType.__members__:
            declared = AssetType(kind.strip().upper())
        elif "/" in kind:  # a MIME type, as tus-js-client and Uppy name it
            content_type = content_type or kind
        else:
            raise BadRequest(f"invalid value '{kind[:32]}' for 'type': allowed values are "
                             "AUDIO, IMAGE, VIDEO (or a MIME type)")
    return Meta(raw=raw.strip(), name=pairs.get("name") or None,
                filename=pairs.get("filename") or None, type=declared,
                content_type=(content_type or "")[:128] or None,
                dedupe=parse_flag(pairs.get("dedupe"), "dedupe", True),
                tags=tuple(split_tags(pairs.get("tags", ""))))
