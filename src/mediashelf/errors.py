"""Errors with an HTTP status and a message that is safe to show a client.

MediashelfError
 ├── BadRequest        400  a parameter or body is invalid
 ├── Unauthorized      401  no key, or an unknown or revoked key
 ├── Forbidden         403  a bad or expired file signature
 ├── NotFound          404  no such asset for this tenant
 ├── Conflict          409  an upload offset that is not the one sent, or a request with the
 │                          same Idempotency-Key still running
 ├── Gone              410  a resumable upload that expired
 ├── PreconditionFailed 412 a tus request of a protocol version we do not speak
 ├── PayloadTooLarge   413  an upload over its type's limit, a JSON body over 64 KiB
 ├── UnsupportedMedia  415  a body that is neither JSON nor multipart
 ├── Unprocessable     422  an Idempotency-Key reused for a different request
 ├── TooManyRequests   429  a request budget is spent, or too many wrong keys from one address
 ├── Locked            423  another request is writing that upload right now
 ├── ChecksumMismatch  460  a tus chunk whose Upload-Checksum does not match its bytes
 ├── Unavailable       503  the database or storage cannot be reached
 └── InsufficientStorage 507  free space is below the reserve: uploads and imports wait
"""

from __future__ import annotations


class MediashelfError(Exception):
    status = 500
    default_message = "internal error"

    def __init__(self, message: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.message = message or self.default_message
        self.headers = headers  # added to the error reply (the tus routes' Tus-Resumable)
        super().__init__(self.message)


class BadRequest(MediashelfError):
    status = 400
    default_message = "bad request"


class Unauthorized(MediashelfError):
    status = 401
    default_message = "missing or invalid API key"


class Forbidden(MediashelfError):
    status = 403
    default_message = "invalid or expired signature"


class NotFound(MediashelfError):
    status = 404
    default_message = "not found"


class Conflict(MediashelfError):
    status = 409
    default_message = "conflict"


class Gone(MediashelfError):
    status = 410
    default_message = "gone"


class PreconditionFailed(MediashelfError):
    status = 412
    default_message = "precondition failed"


class PayloadTooLarge(MediashelfError):
    status = 413
    default_message = "file too large"


class UnsupportedMedia(MediashelfError):
    status = 415
    default_message = "unsupported content type"


class Unprocessable(MediashelfError):
    status = 422
    default_message = "unprocessable request"
class TooManyRequests(MediashelfError):
    status = 429
    default_message = "too many requests"

    def __init__(self, message: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)  # whole seconds, as Retry-After says it


class Locked(MediashelfError):
    status = 423
    default_message = "locked"


class ChecksumMismatch(MediashelfError):
    status = 460  # tus 1.0, checksum extension
    default_message = "checksum mismatch"


class Unavailable(MediashelfError):
    status = 503
    default_message = "service unavailable"


class InsufficientStorage(MediashelfError):
    status = 507
    default_message = ("the storage is full: uploads and imports are refused until space "
                       "is freed")


def shown(text: str, limit: int = 64) -> str:
    """Client-sent text cut to a length fit to quote in a message."""
    return text if len(text) <= limit else text[:limit] + "…"


def shown_header(value: str, limit: int = 64) -> str:
    """A header's value as the client wrote it, fit to quote: the server reads header bytes as
    Latin-1, so UTF-8 text (`é`, `東京`) would be quoted as `Ã©`; bytes that are not UTF-8 are
    quoted as escapes."""
    raw = value.encode("latin-1", "replace")
    return shown(raw.decode("utf-8", "backslashreplace"), limit)


class ConfigError(Exception):
    """A bad setting; the message names the variable."""
