"""mediashelf-client: the Python SDK of mediashelf and of Argil-compatible v1 Assets APIs.

It needs httpx alone and never imports the server (`mediashelf`), which re-exports these names.
"""

from mediashelf_client._client import AsyncClient, Client
from mediashelf_client._core import Resume
from mediashelf_client._errors import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    MediashelfAPIError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ProcessingFailedError,
    RateLimitError,
    ServerError,
    WaitTimeoutError,
)
from mediashelf_client._events import Event
from mediashelf_client._models import Asset, AssetPage, BatchResult, FolderUpload
from mediashelf_client._tus import ResumeStore
from mediashelf_client._version import __version__
from mediashelf_client._webhooks import Webhook, WebhookDelivery, verify_webhook

__all__ = [
    "APIConnectionError",
    "Asset",
    "AssetPage",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "BatchResult",
    "Client",
    "Event",
    "FolderUpload",
    "MediashelfAPIError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "ProcessingFailedError",
    "RateLimitError",
    "Resume",
    "ResumeStore",
    "ServerError",
    "WaitTimeoutError",
    "Webhook",
    "WebhookDelivery",
    "__version__",
    "verify_webhook",
]

for _name in __all__:  # show the public path in tracebacks and reprs, as httpx does
    if not _name.startswith("_"):
        globals()[_name].__module__ = "mediashelf_client"
del _name
