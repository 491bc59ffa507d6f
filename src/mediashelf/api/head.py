"""HEAD wherever GET is (RFC 9110: a general-purpose server supports both).

FastAPI's routes answer only the methods they name, so `curl -I`, link checkers and uptime
monitors got 405 from every JSON route. Each GET route gets a twin that takes HEAD: the same
endpoint, so the same status and headers; the server sends no body. The twins are left out of
the OpenAPI document, which describes GET.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute

from mediashelf.api.errors import flat_routes


def answer_head(app: FastAPI, *, endless: frozenset[str]) -> None:
    """Add the HEAD twins of the app's GET routes, except where a route of its own already
    takes HEAD and on the paths in `endless` (an event stream's GET never ends)."""
    routes = [(prefix + route.path, route) for prefix, route in flat_routes(app.router.routes)
              if isinstance(route, APIRoute)]
    own = {path for path, route in routes if "HEAD" in (route.methods or ())}
    for path, route in routes:
        if "GET" in (route.methods or ()) and path not in own and path not in endless:
            app.router.add_api_route(path, route.endpoint, methods=["HEAD"],
                                     include_in_schema=False, name=route.name,
                                     response_class=route.response_class)
