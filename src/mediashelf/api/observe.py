"""Request metrics: count and time every HTTP request by method, route template and status.

The same wrapper of `send` writes the rate-limit fields (api/limits.py) into the reply's head:
one layer around every request rather than two.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mediashelf.api.limits import USAGE, usage_headers
from mediashelf.metrics import IN_FLIGHT, REQUEST_SECONDS, REQUESTS

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _route(scope: Scope) -> str:
    """The matched route's template (never the raw path: ids would make a series each)."""
    route = getattr(scope.get("route"), "path", None)
    if route:
        return str(route)
    return "/web" if str(scope.get("path", "")).startswith("/web/") else "unmatched"


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # unless the app starts an answer: an exception is answered 500 outside

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if USAGE in scope:  # what the request spent of its budgets
                    message["headers"] = [*message.get("headers", ()), *usage_headers(scope)]
            await send(message)

        started = time.perf_counter()
        method = scope["method"] if scope["method"] in _METHODS else "other"  # bounded
        IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, watch)
        finally:
            IN_FLIGHT.dec()
            route = _route(scope)
            REQUESTS.labels(method, route, str(status)).inc()
            REQUEST_SECONDS.labels(method, route).observe(time.perf_counter() - started)
