"""/v1/assets: parse, one service call, shape the reply and the pagination headers."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from mediashelf.api import schemas
from mediashelf.api.deps import asset_service, current_key, replies
from mediashelf.api.idempotency import KEY_PARAMETER, Gate, fingerprint, idempotent
from mediashelf.api.jsonbody import read_import
from mediashelf.api.openapi import errors
from mediashelf.api.params import asset_id as parse_id
from mediashelf.api.params import list_query
from mediashelf.api.upload import parse_flag, receive_upload
from mediashelf.errors import UnsupportedMedia
from mediashelf.services.assets import AssetService, Created
from mediashelf.services.wire import to_wire

router = APIRouter(prefix="/v1", tags=["assets"])

PAGINATION_HEADERS = ("X-Total-Count", "X-Page", "X-Page-Size", "X-Total-Pages")
DUPLICATE_HEADER = "X-Duplicate-Of"  # names the existing asset a create answered with
CREATE_HEADERS = ("Location", DUPLICATE_HEADER, "Idempotent-Replayed")

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
    {"name": "sha256", "in": "query", "required": False,
     "description": "mediashelf extension: only assets whose bytes have one of these SHA-256 "
                    "digests (64 hex digits, any case; repeated or comma-separated, up to 100), "
                    "to check before uploading. Combines with type, status and scope.",
     "schema": {"type": "array", "maxItems": 100,
                "items": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}}},
    {"name": "scope", "in": "query", "required": False,
     "description": "mediashelf extension: `mine` (the tenant's own assets) or `system` (the "
                    "shared system library). Omit for both, as the Argil API does.",
     "schema": {"type": "string", "enum": ["mine", "system"]}},
    {"name": "q", "in": "query", "required": False,
     "description": "mediashelf extension: search the words of names and tags. Each word "
                    "matches as a word prefix, ignoring case and accents (`café` finds "
                    "`Cafe Terrace.jpg`); several words must all match. At most 256 characters.",
     "schema": {"type": "string", "maxLength": 256}},
    {"name": "tag", "in": "query", "required": False,
     "description": "mediashelf extension: only assets carrying this tag. Repeat it (or "
                    "separate with commas) for several: all must match.",
     "schema": {"type": "array", "items": {"type": "string", "maxLength": 64}}},
    {"name": "sort", "in": "query", "required": False,
     "description": "mediashelf extension: the order. Ties are broken by id in the same "
                    "direction; missing sizes and durations come last.",
     "schema": {"type": "string", "default": "-createdAt",
                "enum": ["-createdAt", "createdAt", "name", "-name", "-sizeBytes",
                         "-durationMs"]}},
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
                           "tags": {"type": "string",
                                    "description": "Comma-separated tags"},
                           "type": {"type": "string", "enum": ["AUDIO", "IMAGE", "VIDEO"]},
                           "dedupe": {"type": "string", "default": "true",
                                      "enum": ["true", "false", "1", "0", "yes", "no", "on",
                                               "off"],
                                      "description": "false keeps this upload even if the "
                                                     "library already holds its bytes"}}}},
    },
}
_CREATED_HEADERS = {
    "Location": {"schema": {"type": "string", "format": "uri"},
                 "description": "The asset's URL (`GET` it to follow its processing), on "
                                "MEDIASHELF_PUBLIC_URL like `fileUrl`"},
    "Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true"]},
                            "description": "Present when this is a kept answer replayed"},
}


@router.post(
    "/assets", status_code=201, summary="Create an asset", operation_id="createAsset",
    description="Upload a file (multipart/form-data, field `file`) or import one from a URL "
                "(JSON with name, type and url). The asset starts in PROCESSING. Bytes the "
                "tenant already holds (a live asset of the same type and SHA-256), or a URL it "
                "already imported, answer that asset with 200 instead (`dedupe=false` opts "
                "out); a FAILED or deleted asset is no such copy.",
    openapi_extra={"requestBody": _CREATE_BODY, "parameters": [KEY_PARAMETER, {
        "name": "dedupe", "in": "query", "required": False,
        "schema": {"type": "string", "default": "true",
                   "enum": ["true", "false", "1", "0", "yes", "no", "on", "off"]},
        "description": "false keeps this upload or import even if the tenant already holds it "
                       "(the body's own `dedupe` field, when present, wins)"}]},
    responses={201: {"model": schemas.Asset, "description": "The new asset, in PROCESSING",
                     "headers": _CREATED_HEADERS},
               200: {"model": schemas.Asset,
                     "description": "The tenant already holds these bytes (or this URL's "
                                    "import): that asset, as it is now; nothing new is kept",
                     "headers": {**_CREATED_HEADERS, DUPLICATE_HEADER: {
                         "schema": {"type": "string", "format": "uuid"},
                         "description": "The id of the existing asset answered"}}},
               **errors((400, "Invalid body: a missing or bad field, malformed JSON or "
                              "multipart, an empty or unrecognised file, a refused URL, a "
                              "malformed Idempotency-Key"),
                        (409, "A request with the same Idempotency-Key is still being "
                              "processed; retry later"),
                        (413, "The file is over its type's size limit, or the JSON body over "
                              "64 KiB: the message gives the limit"),
                        (415, "Neither multipart/form-data nor JSON"),
                        (422, "The Idempotency-Key was used for a different request"), 507)},
)
async def create_asset(request: Request) -> Response:
    key = await current_key(request)
    service = asset_service(request)
    base = request.app.state.settings.base_url
    # in the query too (`?dedupe=false`), where clients put a flag; the body's own field wins
    flag = parse_flag(request.query_params.get("dedupe"), "dedupe", True)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        async def handle(gate: Gate) -> Response:
            return _created(service, await receive_upload(request, service, key.tenant_id,
                                                          gate, flag), base)
    elif ctype == "application/json" or ctype.endswith("+json"):
        async def handle(gate: Gate) -> Response:
            name, type_, url, tags, dedupe = await read_import(request, flag)
            gate.check(fingerprint("POST /v1/assets", "import", name, type_, url, tags, dedupe))
            return _created(service, await run_in_threadpool(
                lambda: service.create_import(key.tenant_id, name, type_, url, tags,
                                              dedupe=dedupe)), base)
    else:
        raise UnsupportedMedia("send multipart/form-data with a 'file' field, or JSON with "
                               "name, type and url")
    return await idempotent(request, key.tenant_id, handle)


def _created(service: AssetService, created: Created, base_url: str) -> Response:
    """201 with the new asset, or 200 with the tenant's copy it already held."""
    asset = created.asset
    headers = {"Location": f"{base_url}/v1/assets/{asset.id}"}
    if created.duplicate:
        headers[DUPLICATE_HEADER] = str(asset.id)
    return Response(json.dumps(to_wire(asset, service.links(asset))),
                    status_code=200 if created.duplicate else 201,
                    media_type="application/json", headers=headers)


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
                          **errors((404, "No such asset for this key's tenant (never was, "
                                          "deleted, another tenant's), or a system asset, "
                                          "which tenants cannot delete"))})
async def delete_asset(request: Request,
                       asset_id: Annotated[str, _ASSET_ID]) -> dict[str, str]:
    key = await current_key(request)
    await run_in_threadpool(asset_service(request).delete, key.tenant_id, parse_id(asset_id))
    return {"message": "Asset deleted"}
