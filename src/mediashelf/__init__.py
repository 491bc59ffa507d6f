"""mediashelf: a self-hosted media asset library for AI video pipelines.

The SDK lives in `mediashelf_client` (its own light distribution too); its public names are
re-exported here, so `from mediashelf import Client` keeps working and loads only httpx.
"""

from mediashelf_client import (
    APIConnectionError,
    Asset,
    AssetPage,
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    Client,
    MediashelfAPIError,
    NotFoundError,
    PayloadTooLargeError,
    ProcessingFailedError,
    RateLimitError,
    ServerError,
    WaitTimeoutError,
    __version__,
)

__all__ = [
    "APIConnectionError",
    "Asset",
    "AssetPage",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "MediashelfAPIError",
    "NotFoundError",
    "PayloadTooLargeError",
    "ProcessingFailedError",
    "RateLimitError",
    "ServerError",
    "WaitTimeoutError",
    "__version__",
]
