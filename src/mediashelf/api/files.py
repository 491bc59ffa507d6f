"""Signed file and thumbnail downloads from local storage; Range is handled by FileResponse."""

from __future__ import annotations

import time
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from starlette.exceptions import HTTPException
from starlette.responses import MalformedRangeHeader, RangeNotSatisfiable

from mediashelf.digits import ascii_int
from mediashelf.errors import BadRequest, Forbidden, NotFound
from mediashelf.names import inline_disposition

router = APIRouter(include_in_schema=False)


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


@router.api_route("/files/{key:path}", methods=["GET", "HEAD"])
def download(key: str, request: Request, exp: str = "", ct: str = "", fn: str = "",
             sig: str = "") -> FileResponse:
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
