"""/healthz (alive), /readyz (database, storage, space, workers and queue), /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from mediashelf.errors import BadRequest, shown

router = APIRouter(include_in_schema=False)


@router.get("/healthz")  # async: nothing to wait for, so no trip through the thread pool
async def healthz() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    # ?workers=ignore: for a load balancer that should keep the API (reads, deletes) in rotation
    # while the workers are down; the default fails then, as an orchestrator's check should.
    workers = request.query_params.get("workers", "require")
    if workers not in ("require", "ignore"):
        raise BadRequest(f"invalid value '{shown(workers)}' for parameter 'workers': allowed "
                         "values are require, ignore")
    status, body = request.app.state.health.ready(need_workers=workers == "require")
    return JSONResponse(body, status_code=status,
                        headers={"Retry-After": "5"} if status == 503 else None)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    return Response(request.app.state.health.metrics(), media_type=CONTENT_TYPE_LATEST)
