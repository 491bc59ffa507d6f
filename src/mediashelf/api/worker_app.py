"""A worker's own little HTTP app (`mediashelf worker --metrics-port P`): /healthz and /metrics.

/healthz answers 503 when the worker's heartbeat is late (its database is lost, or it is stuck),
so that an orchestrator restarts it; /metrics is the same text as the API's /metrics.
"""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mediashelf.errors import shown
from mediashelf.services.health import Health
from mediashelf.worker import Worker


def create_worker_app(worker: Worker, health: Health, stale_after_s: float) -> Starlette:
    async def healthz(_request: Request) -> Response:
        beat = worker.last_beat
        late = None if beat is None else time.monotonic() - beat
        if late is None or late > stale_after_s:
            since = "yet" if late is None else f"for {late:.0f} s"
            return JSONResponse({"code": 503, "message": f"no heartbeat written {since}"},
                                status_code=503, headers={"Retry-After": "5"})
        return JSONResponse({"status": "ok", "worker": worker.name,
                             "lastHeartbeatSeconds": round(late, 3)})

    def metrics(_request: Request) -> Response:  # sync: the queue is read from the database
        return Response(health.metrics(), media_type=CONTENT_TYPE_LATEST)

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = (f"no route {request.method} {shown(request.url.path)}" if exc.status_code == 404
                   else f"method {request.method} not allowed on {shown(request.url.path)}")
        return JSONResponse({"code": exc.status_code, "message": message},
                            status_code=exc.status_code)

    return Starlette(routes=[Route("/healthz", healthz), Route("/metrics", metrics)],
                     exception_handlers={HTTPException: refused})
