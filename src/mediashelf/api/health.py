"""/healthz (alive), /readyz (database and storage reachable, free space), /metrics."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from mediashelf.api.errors import error_response

router = APIRouter(include_in_schema=False)
log = logging.getLogger("mediashelf.health")


@router.get("/healthz")  # async: nothing to wait for, so no trip through the thread pool
async def healthz() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    for part, check in (("database", request.app.state.db.ping),
                        ("storage", request.app.state.storage.ping)):
        try:
            check()
        except Exception:
            log.warning("readyz.failed", exc_info=True, extra={"part": part})
            return error_response(503, f"{part} unreachable")
    # Low space is reported, not failed: reads and deletes (which free space) still work here.
    space = request.app.state.space.measure()
    return JSONResponse({"status": "ready", "database": "ok", "storage": "ok",
                         "space": "low" if space.low else "ok", "freeBytes": space.free,
                         "reserveBytes": space.reserve})


@router.get("/metrics")
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
