"""Signed file and thumbnail downloads from local storage; Range is handled by FileResponse."""

from __future__ import annotations

import time
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from mediashelf.errors import Forbidden, NotFound
from mediashelf.names import inline_disposition

router = APIRouter(include_in_schema=False)


@router.api_route("/files/{key:path}", methods=["GET", "HEAD"])
def download(key: str, request: Request, exp: str = "", ct: str = "", fn: str = "",
             sig: str = "") -> FileResponse:
    storage = request.app.state.storage
    signer = request.app.state.signer
    # "²".isdigit() is true but int("²") fails: only ASCII digits are a number here
    if not (exp.isascii() and exp.isdigit()) or \
            not signer.verify(sig, "/files/" + quote(key), int(exp), ct, fn):
        raise Forbidden("invalid signature")
    if int(exp) < time.time():
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
    return FileResponse(path, media_type=ct or "application/octet-stream", headers=headers)
