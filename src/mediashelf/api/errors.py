"""Every error leaves as {"code": <status>, "message": ...}; causes go to the log only."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.routing import Match, Mount

from mediashelf.api.limits import usage_headers
from mediashelf.errors import InsufficientStorage, MediashelfError, TooManyRequests, shown
from mediashelf.storage.space import is_disk_full

log = logging.getLogger("mediashelf.api")
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def error_response(status: int, message: str,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"code": status, "message": message}, status_code=status, headers=headers)


async def _ours(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MediashelfError)
    headers = ({"WWW-Authenticate": 'ApiKey realm="mediashelf"'} if exc.status == 401
               else {"Retry-After": "5"} if exc.status == 503
               else {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests)
               else {})
    headers.update(exc.headers or {})
    reply = error_response(exc.status, exc.message, headers or None)
    reply.raw_headers += usage_headers(request.scope)  # what the request spent of its budgets
    return reply


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404 and exc.detail == "Not Found":
        message = f"no route {request.method} {shown(request.url.path)}"
    elif exc.status_code == 405:
        message = f"method {request.method} not allowed on {shown(request.url.path)}"
    else:
        message = str(exc.detail) if exc.detail else HTTPStatus(exc.status_code).phrase
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(_allowed(request))
    return error_response(exc.status_code, message, headers)


def _allowed(request: Request) -> list[str]:
    """Every method some route takes on this path: Starlette's own 405 names only the first
    route's, and a path such as /v1/assets has one route per method. A mount matches any
    method; ours are static files (GET, HEAD)."""
    scope = {**request.scope, "root_path": request.scope.get("app_root_path", "")}
    routes = [r for _, r in flat_routes(request.app.router.routes)
              if not isinstance(r, Mount)
              and any(r.matches({**scope, "method": m})[0] != Match.NONE for m in _METHODS)]
    # A path spelled out by a route (/v1/assets/batch-delete) is that route's, not also a
    # value of a parameter of another (/v1/assets/{asset_id}).
    literal = [r for r in routes if not getattr(r, "param_convertors", None)]
    routes = literal or routes
    found = [method for method in _METHODS
             if any(route.matches({**scope, "method": method})[0] == Match.FULL
                    for route in routes)]
    return found or ["GET", "HEAD"]


def flat_routes(routes: list[Any], prefix: str = "") -> list[tuple[str, Any]]:
    """The routes, with those of included routers taken out of their wrappers, each with
    the prefix of the wrappers it was in (FastAPI keeps an included router whole, its include
    prefix on the wrapper)."""
    out: list[tuple[str, Any]] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        out += (flat_routes(inner.routes, prefix + route.include_context.prefix)
                if inner is not None else [(prefix, route)])
    return out


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
    what = str(first.get("msg", "invalid value"))
    return error_response(400, f"invalid '{where}': {what}" if where else what)


async def _client_gone(request: Request, _exc: Exception) -> JSONResponse:
    # nobody reads this reply; the log says what happened without calling it a crash
    log.info("request.client_gone", extra={"method": request.method, "path": request.url.path})
    return error_response(400, "the client closed the connection before the body ended")


def _unavailable_part(exc: Exception) -> str | None:
    """Which backing service an unexpected error says is down, if any."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    if isinstance(exc, OperationalError | InterfaceError):
        return "database"
    module = type(exc).__module__
    if module.startswith(("botocore", "urllib3")) and "Connect" in type(exc).__name__:
        return "storage"
    return None


async def _crash(request: Request, exc: Exception) -> JSONResponse:
    if is_disk_full(exc):  # a disk that filled anyway, e.g. the database's journal
        log.warning("request.disk_full", exc_info=exc,
                    extra={"method": request.method, "path": request.url.path})
        return error_response(507, InsufficientStorage.default_message)
    part = _unavailable_part(exc)
    log.error("request.crashed", exc_info=exc,
              extra={"method": request.method, "path": request.url.path, "part": part})
    if part:
        return error_response(503, f"the {part} is unavailable; try again shortly",
                              {"Retry-After": "5"})
    return error_response(500, "internal error")


class JsonCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, refusing a preflight in our error shape instead of plain text."""

    def preflight_response(self, request_headers: Headers) -> Response:
        reply = super().preflight_response(request_headers)
        if reply.status_code < 400:
            return reply
        headers = {k: v for k, v in reply.headers.items()
                   if k not in ("content-length", "content-type")}
        return error_response(reply.status_code, "CORS preflight refused: it asks for a method "
                              "or private-network access this API does not allow", headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(MediashelfError, _ours)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(Exception, _crash)
