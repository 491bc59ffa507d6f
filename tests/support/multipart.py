"""Multipart bodies built byte by byte, and what a refused upload may have left in storage."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import httpx

from tests.support.server import Server

BOUNDARY = b"ms-test-boundary-7d1f"


def part(disposition: bytes, body: bytes, content_type: bytes | None = None) -> bytes:
    """One part: its headers exactly as given, then its body."""
    head = b"Content-Disposition: " + disposition + b"\r\n"
    if content_type is not None:
        head += b"Content-Type: " + content_type + b"\r\n"
    return head + b"\r\n" + body


def body(parts: Iterable[bytes], boundary: bytes = BOUNDARY, close: bool = True) -> bytes:
    """The parts between boundaries; the closing boundary unless `close` is false."""
    out = b"".join(b"--" + boundary + b"\r\n" + p + b"\r\n" for p in parts)
    return out + (b"--" + boundary + b"--\r\n" if close else b"")


def file_part(filename: bytes, data: bytes, params: bytes = b"") -> bytes:
    """The `file` part with a raw `filename="…"` (already escaped as the client would)."""
    return part(b'form-data; name="file"; filename="' + filename + b'"' + params, data,
                b"application/octet-stream")


def field(name: str, value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return part(b'form-data; name="' + name.encode() + b'"', raw)


def post(client: httpx.Client, content: bytes | Iterable[bytes],
         boundary: bytes = BOUNDARY) -> httpx.Response:
    return client.post("/v1/assets", content=content, headers={
        "content-type": "multipart/form-data; boundary=" + boundary.decode("latin-1")})


def assert_error(res: httpx.Response, status: int, *words: str) -> None:
    """An error reply: the status, {code, message} and nothing else, the message naming it."""
    assert res.status_code == status, res.text
    body = res.json()
    assert set(body) == {"code", "message"} and body["code"] == status, body
    for word in words:
        assert word in body["message"], body


def asset_prefixes(server: Server) -> set[str]:
    """The asset ids that have bytes in storage."""
    return {key.split("/")[1] for key in server.services.storage.list_keys("assets/")}


def open_writes(server: Server) -> list[Any]:
    """Half-written uploads: temporary files (local), open multipart uploads (S3)."""
    storage = server.services.storage
    if hasattr(storage, "bucket"):
        res = storage.client.list_multipart_uploads(Bucket=storage.bucket)
        return list(res.get("Uploads", []))
    return sorted((storage.root / ".tmp").iterdir())


def assert_nothing_left(server: Server, before: set[str], accepted: Iterable[str] = (),
                        timeout: float = 10) -> None:
    """No half-written upload stays, and no asset's bytes appear but those accepted.

    The worker writes thumbnails through the same temporary folder for a moment, so a
    leftover must still be there once the timeout has passed.
    """
    deadline = time.monotonic() + timeout
    while open_writes(server) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert open_writes(server) == []
    assert asset_prefixes(server) - before <= set(accepted)
