"""HEAD wherever GET is (RFC 9110: a general-purpose server supports both).

FastAPI's routes answer only the methods they name, so `curl -I`, link checkers and uptime
monitors got 405 from every JSON route. Each GET route gets a twin that takes HEAD: the same
endpoint, so the same status and headers; the server sends no body. The twins are left out of
the OpenAPI document, which describes GET.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute


def answer_head(app: FastAPI, *, endless: frozenset[str]) -> None:
    """Add the HEAD twins of the app's GET routes, except where a route of its own already
    takes HEAD and on the paths in `endless` (an event stream's GET never ends)."""
    routes = list(_api_routes(app.router.routes, ""))
    own = {path for path, route in routes if "HEAD" in (route.methods or ())}
    for path, route in routes:
        if "GET" in (route.methods or ()) and path not in own and path not in endless:
            app.router.add_api_route(path, route.endpoint, methods=["HEAD"],
                                     include_in_schema=False, name=route.name,
                                     response_class=route.response_class)


def _api_routes(routes: list[Any], prefix: str) -> Iterator[tuple[str, APIRoute]]:
    """Each API route with its full path, those of included routers taken out of their
    wrappers (FastAPI keeps an included router whole, its prefix on the wrapper)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _api_routes(inner.routes, prefix + route.include_context.prefix)
        elif isinstance(route, APIRoute):
            yield prefix + route.path, route
