"""mediashelf: a self-hosted media asset library for AI video pipelines.

`from mediashelf import Client` loads the SDK only (httpx); the server's modules load on demand.
"""

from mediashelf._sdk_errors import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    MediashelfAPIError,
    NotFoundError,
    PayloadTooLargeError,
    ProcessingFailedError,
    RateLimitError,
    ServerError,
    WaitTimeoutError,
)
from mediashelf._sdk_models import Asset, AssetPage
from mediashelf.client import AsyncClient, Client

__version__ = "0.1.0"

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

for _name in __all__:  # show the public path in tracebacks and reprs, as httpx does
    if not _name.startswith("_"):
        globals()[_name].__module__ = "mediashelf"
del _name
