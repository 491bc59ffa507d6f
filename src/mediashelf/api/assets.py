"""/v1/assets: parse, one service call, shape the reply and the pagination headers."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections import OrderedDict
from typing import Any

import orjson
from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams

from mediashelf.api import schemas
from mediashelf.api.deps import Assets, CurrentKey, current_key
from mediashelf.api.jsonbody import read_import
from mediashelf.api.upload import receive_upload
from mediashelf.domain import ApiKey, AssetStatus, AssetType
from mediashelf.errors import BadRequest, NotFound, UnsupportedMedia, shown
from mediashelf.services.assets import AssetService

router = APIRouter(prefix="/v1")

PAGINATION_HEADERS = ("X-Total-Count", "X-Page", "X-Page-Size", "X-Total-Pages")
_DIGITS = re.compile(r"[0-9]{1,12}")  # ASCII only: \d matches the digits of every script

# The seed's parameters, to the letter, for the OpenAPI document.
_LIST_PARAMETERS: list[dict[str, Any]] = [
    {"name": "type", "in": "query", "required": False,
     "description": "Filter by asset type. Can be specified multiple times (e.g. "
                    "`?type=VIDEO&type=IMAGE`). Omit to return all types.",
     "schema": {"type": "array", "items": {"type": "string",
                                           "enum": ["AUDIO", "IMAGE", "VIDEO"]}}},
    {"name": "status", "in": "query", "required": False,
     "description": "Filter by processing status. Default: READY.",
     "schema": {"type": "string", "enum": ["PROCESSING", "READY", "FAILED"],
                "default": "READY"}},
    {"name": "page", "in": "query", "required": False, "description": "Page number",
     "schema": {"type": "integer", "minimum": 1, "default": 1}},
    {"name": "pageSize", "in": "query", "required": False,
     "description": "Number of items per page",
     "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
    {"name": "scope", "in": "query", "required": False,
     "description": "mediashelf extension: `mine` (the tenant's own assets) or `system` (the "
                    "shared system library). Omit for both, as the Argil API does.",
     "schema": {"type": "string", "enum": ["mine", "system"]}},
]
_HEADER_DOCS = {
    "X-Total-Count": "Total number of assets matching the filters",
    "X-Page": "Current page number",
    "X-Page-Size": "Number of items per page",
    "X-Total-Pages": "Total number of pages",
}
_ERROR = {"model": schemas.Error, "description": "Unexpected error"}


def _enum_values(qp: QueryParams, name: str, allowed: tuple[str, ...]) -> list[str]:
    chosen: list[str] = []
    for raw in qp.getlist(name):
        for item in raw.split(","):
            value = item.strip()
            if value not in allowed:
                raise BadRequest(f"invalid value '{shown(item)}' for parameter '{name}': allowed "
                                 f"values are {', '.join(allowed)}")
            if value not in chosen:
                chosen.append(value)
    return chosen


def _int_param(qp: QueryParams, name: str, default: int, low: int, high: int | None) -> int:
    values = qp.getlist(name)
    if not values:
        return default
    bounds = f"from {low} to {high}" if high else f"{low} or more"
    if len(values) > 1:
        raise BadRequest(f"parameter '{name}' given more than once; allowed values are "
                         f"integers {bounds}")
    raw = values[0].strip()
    number = int(raw) if _DIGITS.fullmatch(raw) else None
    if number is None or number < low or (high is not None and number > high):
        raise BadRequest(f"invalid value '{shown(values[0])}' for parameter '{name}': allowed "
                         f"values are integers {bounds}")
    return number


def parse_list_query(qp: QueryParams) -> dict[str, Any]:
    types = _enum_values(qp, "type", tuple(t.value for t in AssetType))
    statuses = _enum_values(qp, "status", tuple(s.value for s in AssetStatus))
    scope = qp.get("scope")
    if scope not in (None, "", "mine", "system"):
        raise BadRequest(f"invalid value '{shown(scope)}' for parameter 'scope': allowed "
                         "values are mine, system")
    return {
        "types": [AssetType(t) for t in types] or list(AssetType),
        "statuses": [AssetStatus(s) for s in statuses] or [AssetStatus.READY],
        "page": _int_param(qp, "page", 1, 1, None),
        "page_size": _int_param(qp, "pageSize", 20, 1, 100),
        "scope": scope or None,
    }


def _asset_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound("asset not found") from None


@router.get(
    "/assets", summary="List assets", operation_id="listAssets",
    description="Returns a paginated list of assets from your library. Includes user-uploaded "
                "assets and system assets (e.g. music library).",
    openapi_extra={"parameters": _LIST_PARAMETERS},
    responses={
        200: {"model": list[schemas.Asset],
              "description": "An array of assets. Pagination metadata is in response headers.",
              "headers": {h: {"schema": {"type": "integer"}, "description": d}
                          for h, d in _HEADER_DOCS.items()}},
        400: _ERROR,
    },
)
async def list_assets(request: Request) -> Response:
    # The key, and with it the versions of the libraries a listing reads, is resolved on the
    # event loop (KeyService.resolve_async); most calls are then answered from the reply cache
    # without a trip through the thread pool. The service is read off the app, not injected:
    # FastAPI's dependency solving cost more than the rest of a cached reply's Python.
    key = await current_key(request)
    query = parse_list_query(request.query_params)
    service: AssetService = request.app.state.assets
    cache: _ReplyCache | None = request.app.state.list_cache
    if cache is not None:
        hit = cache.replay(_reply_key(key, query, service.links_epoch(), _versions(key, query)))
        if hit is not None:
            return hit
    return await to_thread.run_sync(_list_page, service, cache, request.app.state.wire_memo,
                                    key, query, limiter=request.app.state.readers)


class _Replay(Response):
    """A cached reply: its body and its headers as they were encoded the first time."""

    media_type = "application/json"

    def __init__(self, body: bytes, raw_headers: list[tuple[bytes, bytes]]) -> None:
        self.status_code, self.body, self.background = 200, body, None
        self.raw_headers = list(raw_headers)  # middleware (CORS) adds to a reply's own list


def readers(is_sqlite: bool) -> CapacityLimiter:
    """Listing and get threads, a few at a time: more threads than that only contend for the
    GIL, which costs more CPU per request than they overlap waiting. A SQLite read never
    waits for the network, so one thread; PostgreSQL reads do, so a few."""
    return CapacityLimiter(1 if is_sqlite else 4)


def _versions(key: ApiKey, query: dict[str, Any]) -> tuple[int, ...]:
    """The versions, read with the key, of the libraries the query lists (as Page.version)."""
    return {"mine": key.versions[:1], "system": key.versions[1:]}.get(
        query["scope"] or "", key.versions)


def _reply_key(key: ApiKey, query: dict[str, Any], epoch: int,
               versions: tuple[int, ...]) -> tuple[Any, ...]:
    """What a reply depends on: the query, the libraries' versions and the hour the signed
    links count from."""
    return (key.tenant_id, query["scope"], tuple(query["types"]), tuple(query["statuses"]),
            query["page"], query["page_size"], epoch, versions)


def _list_page(service: AssetService, cache: _ReplyCache | None, memo: schemas.WireMemo,
               key: ApiKey, query: dict[str, Any]) -> Response:
    page = service.list(key.tenant_id, query["types"], query["statuses"], query["page"],
                        query["page_size"], query["scope"])
    epoch = service.links_epoch()  # once: the body and its cache key share the hour
    body = memo.body(page.items, page.rows, epoch, service.links)
    headers = {"X-Total-Count": str(page.total), "X-Page": str(page.page),
               "X-Page-Size": str(page.page_size), "X-Total-Pages": str(page.total_pages)}
    reply = Response(body, media_type="application/json", headers=headers)
    if cache is not None:
        cache.keep(_reply_key(key, query, epoch, page.version), reply)
    return reply


class _ReplyCache:
    """Listing replies of this process, keyed by the query and the library versions read with
    it: a write raises the version in its own transaction, so an entry is never stale."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[tuple[Any, ...], tuple[bytes, list[tuple[bytes, bytes]]]] = \
            OrderedDict()
        self._lock = threading.Lock()

    def replay(self, key: tuple[Any, ...]) -> Response | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
        return None if hit is None else _Replay(*hit)

    def keep(self, key: tuple[Any, ...], reply: Response) -> None:
        with self._lock:
            self._items[key] = (bytes(reply.body), list(reply.raw_headers))
            while len(self._items) > self._size:
                self._items.popitem(last=False)


def reply_cache(size: int) -> _ReplyCache | None:
    """A reply cache for one app: the listing's, or GET's (None when MEDIASHELF_LIST_CACHE
    is 0)."""
    return _ReplyCache(size) if size > 0 else None


_CREATE_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/ImportRequest"}},
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"},
                           "name": {"type": "string", "maxLength": 256},
                           "type": {"type": "string", "enum": ["AUDIO", "IMAGE", "VIDEO"]}}}},
    },
}


@router.post(
    "/assets", status_code=201, summary="Create an asset", operation_id="createAsset",
    description="Upload a file (multipart/form-data, field `file`) or import one from a URL "
                "(JSON with name, type and url). The asset starts in PROCESSING.",
    openapi_extra={"requestBody": _CREATE_BODY},
    responses={201: {"model": schemas.Asset, "description": "The new asset, in PROCESSING"},
               400: _ERROR, 401: _ERROR, 413: _ERROR, 415: _ERROR, 507: _ERROR},
)
async def create_asset(request: Request, key: CurrentKey, service: Assets) -> Response:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        asset = await receive_upload(request, service, key.tenant_id)
    elif ctype == "application/json" or ctype.endswith("+json"):
        name, type_, url = await read_import(request)
        asset = await run_in_threadpool(service.create_import, key.tenant_id, name, type_, url)
    else:
        raise UnsupportedMedia("send multipart/form-data with a 'file' field, or JSON with "
                               "name, type and url")
    body = schemas.to_wire(asset, service.links(asset))
    return Response(json.dumps(body), status_code=201, media_type="application/json")


@router.get("/assets/{asset_id}", summary="Get an asset", operation_id="getAsset",
            responses={200: {"model": schemas.Asset, "description": "The asset"},
                       401: _ERROR, 404: _ERROR})
async def get_asset(request: Request, asset_id: str) -> Response:
    # As a listing: pipelines poll an asset until it is READY, and a reply made at the same
    # library versions (read with the key) and in the same links hour is the same reply.
    key = await current_key(request)
    wanted = _asset_id(asset_id)
    service: AssetService = request.app.state.assets
    cache: _ReplyCache | None = request.app.state.get_cache
    reply_key = (key.tenant_id, wanted, service.links_epoch(), key.versions)
    if cache is not None:
        hit = cache.replay(reply_key)
        if hit is not None:
            return hit
    return await to_thread.run_sync(_get_one, service, cache, key, wanted, reply_key,
                                    limiter=request.app.state.readers)


def _get_one(service: AssetService, cache: _ReplyCache | None, key: ApiKey,
             asset_id: uuid.UUID, reply_key: tuple[Any, ...]) -> Response:
    # The asset is read after the versions were, so it is at least as new as they say: a
    # reply kept under them is never older than a fresh read at them would be.
    asset = service.get(key.tenant_id, asset_id)
    body = orjson.dumps(schemas.to_wire(asset, service.links(asset)))
    reply = Response(body, media_type="application/json")
    if cache is not None:
        cache.keep(reply_key, reply)
    return reply


@router.delete("/assets/{asset_id}", summary="Delete an asset", operation_id="deleteAsset",
               responses={200: {"model": schemas.Deleted, "description": "Asset deleted"},
                          401: _ERROR, 404: _ERROR})
def delete_asset(asset_id: str, key: CurrentKey, service: Assets) -> dict[str, str]:
    service.delete(key.tenant_id, _asset_id(asset_id))
    return {"message": "Asset deleted"}
