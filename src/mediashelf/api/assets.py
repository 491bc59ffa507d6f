"""/v1/assets: parse, one service call, shape the reply and the pagination headers."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from mediashelf.api import schemas
from mediashelf.api.deps import asset_service, current_key, replies
from mediashelf.api.jsonbody import read_import
from mediashelf.api.openapi import errors
from mediashelf.api.params import asset_id as parse_id
from mediashelf.api.params import list_query
from mediashelf.api.upload import receive_upload
from mediashelf.errors import UnsupportedMedia
from mediashelf.services.wire import to_wire

router = APIRouter(prefix="/v1", tags=["assets"])

PAGINATION_HEADERS = ("X-Total-Count", "X-Page", "X-Page-Size", "X-Total-Pages")

# The seed's parameters, to the letter, for the OpenAPI document: only descriptions grow (what
# the server takes besides) and mediashelf's own parameters follow.
_LIST_PARAMETERS: list[dict[str, Any]] = [
    {"name": "type", "in": "query", "required": False,
     "description": "Filter by asset type. Can be specified multiple times (e.g. "
                    "`?type=VIDEO&type=IMAGE`). Omit to return all types. A comma-separated "
                    "value (`?type=VIDEO,IMAGE`) is taken too.",
     "schema": {"type": "array", "items": {"type": "string",
                                           "enum": ["AUDIO", "IMAGE", "VIDEO"]}}},
    {"name": "status", "in": "query", "required": False,
     "description": "Filter by processing status. Default: READY. Can be specified multiple "
                    "times, or comma-separated (e.g. `?status=READY&status=PROCESSING`): "
                    "several values are an OR.",
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
_SEED_400 = {"model": schemas.Error, "description": "Unexpected error"}  # the seed's words


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
        400: _SEED_400,
    },
)
async def list_assets(request: Request) -> Response:
    # Every route resolves the key and its service with plain calls, not FastAPI dependencies:
    # solving those cost more than the rest of a cached listing's Python.
    key = await current_key(request)
    return await replies(request).listing(key, list_query(request.query_params))


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
    responses={201: {"model": schemas.Asset, "description": "The new asset, in PROCESSING",
                     "headers": {"Location": {
                         "description": "The asset's URL (`GET` it to follow its processing), "
                                        "on MEDIASHELF_PUBLIC_URL like `fileUrl`",
                         "schema": {"type": "string", "format": "uri"}}}},
               **errors((400, "Invalid body: a missing or bad field, malformed JSON or "
                              "multipart, an empty or unrecognised file, a refused URL"),
                        (413, "The file is over its type's size limit, or the JSON body over "
                              "64 KiB: the message gives the limit"),
                        (415, "Neither multipart/form-data nor JSON"), 507)},
)
async def create_asset(request: Request) -> Response:
    key = await current_key(request)
    service = asset_service(request)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        asset = await receive_upload(request, service, key.tenant_id)
    elif ctype == "application/json" or ctype.endswith("+json"):
        name, type_, url = await read_import(request)
        asset = await run_in_threadpool(service.create_import, key.tenant_id, name, type_, url)
    else:
        raise UnsupportedMedia("send multipart/form-data with a 'file' field, or JSON with "
                               "name, type and url")
    body = to_wire(asset, service.links(asset))
    location = f"{request.app.state.settings.base_url}/v1/assets/{asset.id}"
    return Response(json.dumps(body), status_code=201, media_type="application/json",
                    headers={"Location": location})


_ASSET_ID = Path(description="The asset's id, a UUID; anything else names no asset (404)")
_NO_ASSET = (404, "No such asset for this key's tenant: never was, deleted, or another "
                  "tenant's")


@router.get("/assets/{asset_id}", summary="Get an asset", operation_id="getAsset",
            responses={200: {"model": schemas.Asset, "description": "The asset"},
                       **errors(_NO_ASSET)})
async def get_asset(request: Request, asset_id: Annotated[str, _ASSET_ID]) -> Response:
    key = await current_key(request)
    return await replies(request).asset(key, parse_id(asset_id))


@router.delete("/assets/{asset_id}", summary="Delete an asset", operation_id="deleteAsset",
               responses={200: {"model": schemas.Deleted, "description": "Asset deleted"},
                          **errors((404, _NO_ASSET[1] + "; system assets too"))})
async def delete_asset(request: Request,
                       asset_id: Annotated[str, _ASSET_ID]) -> dict[str, str]:
    key = await current_key(request)
    await run_in_threadpool(asset_service(request).delete, key.tenant_id, parse_id(asset_id))
    return {"message": "Asset deleted"}
