"""/healthz (alive), /readyz (database, storage, space, workers and queue), /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

router = APIRouter(include_in_schema=False)


@router.get("/healthz")  # async: nothing to wait for, so no trip through the thread pool
async def healthz() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    status, body = request.app.state.health.ready()
    return JSONResponse(body, status_code=status,
                        headers={"Retry-After": "5"} if status == 503 else None)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    return Response(request.app.state.health.metrics(), media_type=CONTENT_TYPE_LATEST)
