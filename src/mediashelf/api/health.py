"""/healthz (alive), /readyz (database and storage reachable, free space), /metrics."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from mediashelf.api.errors import error_response
from mediashelf.api.openapi import PUBLIC, errors

router = APIRouter(tags=["health"])
log = logging.getLogger("mediashelf.health")


_HEALTHY = {"application/json": {"schema": {
    "type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}}}}
_READY = {"application/json": {"schema": {
    "type": "object", "required": ["status", "database", "storage", "space"],
    "properties": {"status": {"const": "ready"}, "database": {"const": "ok"},
                   "storage": {"const": "ok"}, "space": {"enum": ["ok", "low"]},
                   "freeBytes": {"type": ["integer", "null"]},
                   "reserveBytes": {"type": "integer"}}}}}


@router.get("/healthz", summary="Liveness", operation_id="healthz", openapi_extra=PUBLIC,
            responses={200: {"description": "The process answers", "content": _HEALTHY}})
async def healthz() -> Response:
    # async: nothing to wait for, so no trip through the thread pool
    return Response(b'{"status":"ok"}', media_type="application/json")


@router.get("/readyz", summary="Readiness", operation_id="readyz", openapi_extra=PUBLIC,
            description="The database and the storage are reachable. Low free space is "
                        "reported (`space: low`), not failed: reads and deletes still work.",
            responses={200: {"description": "Ready to serve", "content": _READY},
                       **errors((503, "The database or the storage is unreachable"))})
def readyz(request: Request) -> JSONResponse:
    for part, check in (("database", request.app.state.db.ping),
                        ("storage", request.app.state.storage.ping)):
        try:
            check()
        except Exception:
            log.warning("readyz.failed", exc_info=True, extra={"part": part})
            return error_response(503, f"{part} unreachable", {"Retry-After": "5"})
    # Low space is reported, not failed: reads and deletes (which free space) still work here.
    space = request.app.state.space.measure()
    return JSONResponse({"status": "ready", "database": "ok", "storage": "ok",
                         "space": "low" if space.low else "ok", "freeBytes": space.free,
                         "reserveBytes": space.reserve})


@router.get("/metrics", summary="Prometheus metrics", operation_id="metrics",
            openapi_extra=PUBLIC, response_class=Response, responses={200: {
                "description": "Prometheus text exposition format",
                "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}})
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
