"""The tenant behind a request's API key, and typed access to the app's services.

Plain calls rather than FastAPI dependencies: solving those cost more than the rest of a
cached listing's Python, and every route resolves its key and service the same way.
"""

from __future__ import annotations

from fastapi import Request

from mediashelf.api.limits import READS, admit, check_address, refuse_wrong_key
from mediashelf.domain import ApiKey
from mediashelf.errors import Unauthorized
from mediashelf.services.assets import AssetService
from mediashelf.services.edits import EditService
from mediashelf.services.limits import Limits
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
    """Resolved on the event loop (see KeyService.resolve_async): no thread-pool trip; then the
    request's budgets are spent (api/limits.py), and wrong keys counted per client address."""
    limits: Limits = request.app.state.limits
    if not limits.enabled:
        key: ApiKey = await request.app.state.keys.resolve_async(presented_key(request))
        return key
    if limits.refused:  # some address is over its wrong-key budget: is it this one?
        check_address(request, limits)
    presented = presented_key(request)
    try:
        key = await request.app.state.keys.resolve_async(presented)
    except Unauthorized:
        if presented:  # a wrong key, not a missing one: a guess
            await refuse_wrong_key(request, limits)
        raise
    if limits.budgets:
        write = request.method not in READS
        admit(request, limits.spend_now(key, write) or await limits.spend(key, write))
    return key


def asset_service(request: Request) -> AssetService:
    """Uploads, imports and deletes."""
    service: AssetService = request.app.state.assets
    return service


def edit_service(request: Request) -> EditService:
    """Renames, tags, bulk actions and the trash."""
    service: EditService = request.app.state.edits
    return service


def replies(request: Request) -> Replies:
    """Listings and single assets, cached."""
    service: Replies = request.app.state.replies
    return service


def upload_service(request: Request) -> UploadService:
    """Resumable (tus) uploads."""
    service: UploadService = request.app.state.uploads
    return service
