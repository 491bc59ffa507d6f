"""/healthz (alive), /readyz (database, storage, space, workers and queue), /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from mediashelf.api import schemas
from mediashelf.api.openapi import PUBLIC, errors
from mediashelf.errors import BadRequest, shown

router = APIRouter(tags=["health"])
_WORKERS = {"name": "workers", "in": "query", "required": False,
            "description": "`require` (default): 503 when jobs wait and no worker is alive; "
                           "`ignore`: for a load balancer that keeps the API in rotation "
                           "while the workers are down",
            "schema": {"type": "string", "enum": ["require", "ignore"], "default": "require"}}


@router.get("/healthz", summary="Liveness", operation_id="healthz", openapi_extra=PUBLIC,
            responses={200: {"description": 'Always `{"status": "ok"}` while the process runs'}})
async def healthz() -> Response:  # async: nothing to wait for, so no trip through the pool
    return Response(b'{"status":"ok"}', media_type="application/json")


@router.get("/readyz", summary="Readiness", operation_id="readyz",
            description="The database and storage are reachable; free space, live workers and "
                        "the queue are reported. 503 when a part is unreachable, or when jobs "
                        "wait and no worker has sent a heartbeat within the window.",
            openapi_extra={**PUBLIC, "parameters": [_WORKERS]},
            responses={200: {"model": schemas.Readiness, "description": "Ready"},
                       **errors(400, (503, "Not ready: `code`, `message` and, when the parts "
                                           "answered, the fields of a ready answer"))})
def readyz(request: Request) -> JSONResponse:
    workers = request.query_params.get("workers", "require")
    if workers not in ("require", "ignore"):
        raise BadRequest(f"invalid value '{shown(workers)}' for parameter 'workers': allowed "
                         "values are require, ignore")
    status, body = request.app.state.health.ready(need_workers=workers == "require")
    return JSONResponse(body, status_code=status,
                        headers={"Retry-After": "5"} if status == 503 else None)


@router.get("/metrics", summary="Prometheus metrics", operation_id="metrics",
            openapi_extra=PUBLIC, response_class=Response,
            responses={200: {"description": "Every API process's counters (summed) and the "
                                            "queue read from the database",
                             "content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}}})
def metrics(request: Request) -> Response:
    return Response(request.app.state.health.metrics(), media_type=CONTENT_TYPE_LATEST)
