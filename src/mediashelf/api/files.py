"""Signed file and thumbnail downloads from local storage; Range is handled by FileResponse."""

from __future__ import annotations

import time
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse
from starlette.exceptions import HTTPException
from starlette.responses import MalformedRangeHeader, RangeNotSatisfiable

from mediashelf.api.openapi import PUBLIC, errors
from mediashelf.digits import ascii_int
from mediashelf.errors import BadRequest, Forbidden, NotFound
from mediashelf.names import inline_disposition

router = APIRouter(tags=["files"])


class _File(FileResponse):
    """Starlette's file response, refusing a bad Range in our error shape (its own is text)."""

    @classmethod
    def _parse_range_header(cls, http_range: str, file_size: int) -> list[tuple[int, int]]:
        try:
            return super()._parse_range_header(http_range, file_size)
        except MalformedRangeHeader:
            raise BadRequest("invalid Range header: send bytes=START-END, START < END, or "
                             "bytes=-SUFFIX") from None
        except RangeNotSatisfiable:
            raise HTTPException(416, f"the range starts past the end of the file "
                                f"({file_size} bytes)",
                                {"Content-Range": f"bytes */{file_size}"}) from None


_Signed = Annotated[str, Query(description="Part of the signed URL, as given")]
_BYTES = {"*/*": {"schema": {"type": "string", "format": "binary"}}}
_RANGES = {"Accept-Ranges": {"description": "`bytes`", "schema": {"type": "string"}},
           "Cache-Control": {"description": "private, until the link expires",
                             "schema": {"type": "string"}}}


_DOWNLOAD: dict[str, Any] = dict(
    response_class=FileResponse, openapi_extra=PUBLIC,
    description="The target of a signed `fileUrl` or `thumbnailUrl` on local storage (on S3 "
                "those URLs are presigned and point at the bucket). No key: the signature is "
                "the permission. `Range: bytes=…` gives 206.",
    responses={200: {"description": "The file, with its Content-Type", "content": _BYTES,
                     "headers": _RANGES},
               206: {"description": "The requested range", "content": _BYTES,
                     "headers": {"Content-Range": {"description": "`bytes START-END/SIZE`",
                                                   "schema": {"type": "string"}}}},
               **errors((400, "Malformed Range header"),
                        (403, "Invalid signature, or the link has expired"),
                        (404, "No such file (deleted, or purged)"), 416)},
)


@router.get("/files/{key:path}", summary="Download a stored file", operation_id="downloadFile",
            **_DOWNLOAD)
@router.head("/files/{key:path}", summary="A stored file's headers", operation_id="headFile",
             **_DOWNLOAD)
def download(request: Request, key: Annotated[str, Path(description="Storage key (with its "
                                                             "slashes, from a signed URL)")],
             exp: _Signed = "", ct: _Signed = "", fn: _Signed = "",
             sig: _Signed = "") -> FileResponse:
    storage = request.app.state.storage
    signer = request.app.state.signer
    expires = ascii_int(exp)  # Unix seconds
    if expires is None or not signer.verify(sig, "/files/" + quote(key), expires, ct, fn):
        raise Forbidden("invalid signature")
    if expires < time.time():
        raise Forbidden("this link has expired")
    if not hasattr(storage, "file_path"):  # object stores serve their own presigned URLs
        raise NotFound("file not found")
    try:
        path = storage.file_path(key)
    except ValueError:
        raise NotFound("file not found") from None
    if not path.is_file():
        raise NotFound("file not found")
    max_age = max(0, int(exp) - int(time.time()))
    headers = {"Cache-Control": f"private, max-age={max_age}", "X-Content-Type-Options": "nosniff"}
    if fn:  # built here, not by FileResponse: it gives no ASCII fallback for older clients
        headers["Content-Disposition"] = inline_disposition(fn)
    return _File(path, media_type=ct or "application/octet-stream", headers=headers)
