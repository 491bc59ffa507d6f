"""The SDK's exceptions: every one carries `code` (HTTP status, 0 when none) and `message`.

MediashelfAPIError
 ├── BadRequestError        400  a parameter or body the server refused
 ├── AuthenticationError    401  no key, or an unknown or revoked key
 │    └── PermissionDeniedError  403  not allowed: a system asset is read-only
 ├── NotFoundError          404  no such asset for this key
 ├── PayloadTooLargeError   413  an upload over its type's limit
 ├── RateLimitError         429  too many requests (retried first for every call)
 ├── ServerError            5xx  the server failed (retried first for reads)
 ├── APIConnectionError       0  the server could not be reached (also a builtin ConnectionError)
 ├── WaitTimeoutError         0  an asset still PROCESSING when the wait ran out (a TimeoutError)
 └── ProcessingFailedError    0  an awaited asset ended FAILED; `.asset` has the reason
"""

from __future__ import annotations

import builtins
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mediashelf_client._models import Asset


class MediashelfAPIError(Exception):
    """Base of every SDK error: `code` is the HTTP status (0 when there was none)."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.message} ({self.code})" if self.code else self.message


class BadRequestError(MediashelfAPIError):
    """400: the server refused a parameter or the body; `message` says which."""


class AuthenticationError(MediashelfAPIError):
    """401/403: the API key is missing, unknown or revoked."""


class PermissionDeniedError(AuthenticationError):
    """403: the key may not do this (system assets are read-only for tenants)."""


class NotFoundError(MediashelfAPIError):
    """404: no such asset for this key (or it was deleted)."""


class PayloadTooLargeError(MediashelfAPIError):
    """413: the file is over the server's limit for its type."""


class RateLimitError(MediashelfAPIError):
    """429: the server asked us to slow down, and the retries ran out."""


class ServerError(MediashelfAPIError):
    """5xx: the server failed, and the retries (for reads) ran out."""


class APIConnectionError(MediashelfAPIError, builtins.ConnectionError):
    """The server could not be reached, or the connection broke."""


class WaitTimeoutError(MediashelfAPIError, builtins.TimeoutError):
    """`wait_until_ready` gave up while the asset was still PROCESSING."""


class ProcessingFailedError(MediashelfAPIError):
    """The awaited asset ended FAILED; `asset.failure_reason` says why."""

    def __init__(self, asset: Asset) -> None:
        reason = asset.failure_reason or "no reason given"
        super().__init__(f"asset {asset.id} failed processing: {reason}")
        self.asset = asset


_BY_STATUS: dict[int, type[MediashelfAPIError]] = {
    400: BadRequestError, 401: AuthenticationError, 403: PermissionDeniedError,
    404: NotFoundError, 413: PayloadTooLargeError, 429: RateLimitError,
}


def error_for(status: int, body: bytes) -> MediashelfAPIError:
    """The exception for an error reply; the message comes from `{"code", "message"}` bodies."""
    message = ""
    try:
        data: Any = json.loads(body) if body else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        raw = data.get("message") or data.get("detail") or data.get("error")
        message = raw if isinstance(raw, str) else ""
    if not message:
        text = body[:200].decode("utf-8", "replace").strip() if body else ""
        message = text if text and not text.startswith("<") else f"HTTP {status}"
    cls = ServerError if status >= 500 else _BY_STATUS.get(status, MediashelfAPIError)
    return cls(message, status)
