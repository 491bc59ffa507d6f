"""The tenant behind a request's API key, and typed access to the app's services.

Plain calls rather than FastAPI dependencies: solving those cost more than the rest of a
cached listing's Python, and every route resolves its key and service the same way.
"""

from __future__ import annotations

from fastapi import Request

from mediashelf.domain import ApiKey
from mediashelf.services.assets import AssetService
from mediashelf.services.replies import Replies
from mediashelf.services.uploads import UploadService


def presented_key(request: Request) -> str | None:
    """x-api-key, or Authorization: ApiKey … / Bearer …"""
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.strip().partition(" ")
    if scheme.lower() in ("apikey", "bearer") and value.strip():
        return value.strip()
    return None


async def current_key(request: Request) -> ApiKey:
    """Resolved on the event loop (see KeyService.resolve_async): no thread-pool trip."""
    key: ApiKey = await request.app.state.keys.resolve_async(presented_key(request))
    return key


def asset_service(request: Request) -> AssetService:
    """Uploads, imports and deletes."""
    service: AssetService = request.app.state.assets
    return service


def replies(request: Request) -> Replies:
    """Listings and single assets, cached."""
    service: Replies = request.app.state.replies
    return service


def upload_service(request: Request) -> UploadService:
    """Resumable (tus) uploads."""
    service: UploadService = request.app.state.uploads
    return service
