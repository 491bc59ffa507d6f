"""The tenant behind a request's API key, and typed access to the app's services."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from mediashelf.domain import ApiKey
from mediashelf.services.assets import AssetService


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


async def asset_service(request: Request) -> AssetService:  # async: no thread-pool trip
    service: AssetService = request.app.state.assets
    return service


CurrentKey = Annotated[ApiKey, Depends(current_key)]
Assets = Annotated[AssetService, Depends(asset_service)]
