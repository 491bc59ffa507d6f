"""Rename and tag (PATCH), bulk actions and the trash: parse, one service call, shape the reply."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from mediashelf.api import schemas
from mediashelf.api.deps import asset_service, current_key, edit_service
from mediashelf.api.jsonbody import kind, read_object
from mediashelf.api.openapi import errors
from mediashelf.api.params import asset_id as parse_id
from mediashelf.api.params import page_params
from mediashelf.errors import BadRequest
from mediashelf.names import check_name
from mediashelf.services.edits import Outcome
from mediashelf.services.wire import to_trash_wire, to_wire
from mediashelf.words import check_tags

router = APIRouter(prefix="/v1", tags=["assets"])

BATCH_MAX = 100
_PAGE_HEADERS = {h: {"schema": {"type": "integer"}, "description": d} for h, d in (
    ("X-Total-Count", "Deleted assets within the grace period"),
    ("X-Page", "Current page number"), ("X-Page-Size", "Number of items per page"),
    ("X-Total-Pages", "Total number of pages"))}


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json",
                    headers=headers)


@router.patch(
    "/assets/{asset_id}", summary="Rename or tag an asset", operation_id="updateAsset",
    description="`name` (1-256 characters) and/or `tags` (the new set: up to 32 tags of 1-64 "
                "characters, stored trimmed and lower-cased). System assets are read-only.",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/AssetUpdate"}}}}},
    responses={200: {"model": schemas.Asset, "description": "The asset as changed"},
               **errors((403, "System assets are read-only"), (404, "No such asset for this key's "
                                                                "tenant"), 413)})
async def update_asset(request: Request, asset_id: str) -> Response:
    key = await current_key(request)
    target = parse_id(asset_id)
    data = await read_object(request, "a JSON object with name and/or tags", ("name", "tags"))
    if not data:
        raise BadRequest("send name and/or tags")
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise BadRequest(f"'name' must be a string, not {kind(name)}")
    tags = check_tags(data["tags"]) if "tags" in data else None
    asset = await run_in_threadpool(edit_service(request).update, key.tenant_id, target,
                                    None if name is None else check_name(name), tags)
    return _json(to_wire(asset, asset_service(request).links(asset)))


def _ids(data: dict[str, Any]) -> list[str]:
    ids = data.get("ids")
    if not isinstance(ids, list) or not ids:
        raise BadRequest(f"'ids' must be an array of 1 to {BATCH_MAX} asset ids")
    if len(ids) > BATCH_MAX:
        raise BadRequest(f"'ids' holds {len(ids)} ids: at most {BATCH_MAX} are allowed")
    if not all(isinstance(i, str) for i in ids):
        raise BadRequest("each of 'ids' must be a string")
    return ids


def _results(request: Request, outcomes: list[Outcome], ok_message: str | None) -> Response:
    service = asset_service(request)
    results: list[dict[str, Any]] = []
    for done in outcomes:
        if done.error is not None:
            results.append({"id": done.id, "ok": False, "code": done.error.status,
                            "message": done.error.message})
        elif ok_message is not None:
            results.append({"id": done.id, "ok": True, "code": 200, "message": ok_message})
        else:
            assert done.asset is not None
            results.append({"id": done.id, "ok": True, "code": 200,
                            "asset": to_wire(done.asset, service.links(done.asset))})
    return _json({"results": results})


_BATCH_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": schemas.BatchResults,
          "description": "One result per distinct id, in the order given"},
    **errors(413)}


@router.post(
    "/assets/batch-delete", summary="Delete many assets", operation_id="batchDeleteAssets",
    description=f"Up to {BATCH_MAX} ids; each is deleted on its own and answers its own result "
                "(404 not found, or a system asset, which tenants cannot delete).",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/BatchDelete"}}}}},
    responses=_BATCH_RESPONSES)
async def batch_delete(request: Request) -> Response:
    key = await current_key(request)
    ids = _ids(await read_object(request, "a JSON object with an ids array", ("ids",)))
    outcomes = await run_in_threadpool(edit_service(request).batch_delete, key.tenant_id, ids)
    return _results(request, outcomes, "Asset deleted")


@router.post(
    "/assets/batch-update", summary="Tag many assets", operation_id="batchUpdateAssets",
    description=f"Up to {BATCH_MAX} ids; `addTags` and `removeTags` are applied to each asset "
                "on its own, and each answers its own result with the asset as changed.",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/BatchUpdate"}}}}},
    responses=_BATCH_RESPONSES)
async def batch_update(request: Request) -> Response:
    key = await current_key(request)
    data = await read_object(request, "a JSON object with ids, addTags and/or removeTags",
                             ("ids", "addTags", "removeTags"))
    ids = _ids(data)
    if "addTags" not in data and "removeTags" not in data:
        raise BadRequest("send addTags and/or removeTags")
    add = check_tags(data.get("addTags", []), "'addTags'")
    remove = check_tags(data.get("removeTags", []), "'removeTags'")
    outcomes = await run_in_threadpool(edit_service(request).batch_update, key.tenant_id, ids,
                                       add, remove)
    return _results(request, outcomes, None)


@router.get(
    "/trash", summary="List deleted assets", operation_id="listTrash",
    description="The tenant's deleted assets still within the grace period "
                "(MEDIASHELF_PURGE_AFTER), newest deletion first, each with `deletedAt` and "
                "`purgeAt`; paged like the asset list.",
    openapi_extra={"parameters": [
        {"name": "page", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "default": 1}},
        {"name": "pageSize", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}}]},
    responses={200: {"model": list[schemas.TrashedAsset], "headers": _PAGE_HEADERS,
                     "description": "A page of the trash"},
               **errors()})
async def list_trash(request: Request) -> Response:
    key = await current_key(request)
    page, size = page_params(request.query_params)
    found = await run_in_threadpool(edit_service(request).trash, key.tenant_id, page, size)
    headers = {"X-Total-Count": str(found.total), "X-Page": str(page), "X-Page-Size": str(size),
               "X-Total-Pages": str(-(-found.total // size))}
    return _json([to_trash_wire(a, found.purge_after_ms) for a in found.items],
                 headers=headers)


@router.post(
    "/assets/{asset_id}/restore", summary="Restore a deleted asset", operation_id="restoreAsset",
    description="Brings back one of the tenant's deleted assets within the grace period.",
    responses={200: {"model": schemas.Asset, "description": "The asset, back"},
               **errors((403, "System assets are read-only"),
                        (404, "No such asset in this tenant's trash"))})
async def restore_asset(request: Request, asset_id: str) -> Response:
    key = await current_key(request)
    asset = await run_in_threadpool(edit_service(request).restore, key.tenant_id,
                                    parse_id(asset_id))
    return _json(to_wire(asset, asset_service(request).links(asset)))
