"""The served OpenAPI document: our routes, the keys as the server takes them, every error as
{code, message}.

A route declares what it answers besides its success: `responses=errors(404, 409)`, with a
status alone (its usual description) or `(status, "what it means here")`. A route anyone may call
says so with `openapi_extra=PUBLIC`; every other operation needs a key, and `finish` gives it
401, 429 and 503, as the key is checked on every call against the database. Every operation also
gets the refusals of the HTTP layer (api/protocol.py: 400, 414, 431), and loses FastAPI's 422: a
request it cannot parse is a 400 {code, message} here (api/errors.py).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from mediashelf.api import limits, schemas
from mediashelf.api import webhook_schemas as hooks

ERROR_REF = "#/components/schemas/Error"
PUBLIC: dict[str, Any] = {"security": []}  # openapi_extra of a route that takes no key

# What each status means when a route gives no words of its own.
DESCRIPTIONS = {
    400: "Invalid parameter, header or body: the message names what is wrong",
    401: "Missing, unknown or revoked API key",
    403: "Not allowed",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "Body larger than allowed: the message gives the limit",
    414: "URL longer than 8 KiB",
    415: "Unsupported Content-Type",
    416: "The range starts past the end of the file",
    429: "Too many requests: wait the Retry-After seconds",
    431: "Request headers too large: more than 100 fields or 32 KiB",
    503: "The database or the storage is unreachable: retry after Retry-After seconds",
    507: "Free space is below the reserve (MEDIASHELF_MIN_FREE_SPACE): uploads and imports are "
         "refused until space is freed",
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again",
                                "schema": {"type": "integer"}}}
_HEADERS = {429: _RETRY_AFTER, 503: _RETRY_AFTER,
            401: {"WWW-Authenticate": {"description": "`ApiKey realm=\"mediashelf\"`",
                                       "schema": {"type": "string"}}},
            416: {"Content-Range": {"description": "`bytes */SIZE`",
                                    "schema": {"type": "string"}}}}

# Statuses every operation may answer, by where they come from. The HTTP layer's 400 is a
# request it cannot parse, or one with more than 256 query parameters.
AUTHENTICATED = (401, 429, 503)
HTTP_LAYER = (400, 414, 431)

TAGS = [
    {"name": "assets", "description": "Your library: list, upload, import, get and delete "
                                      "assets (the Argil v1 Assets API and its additions)"},
    {"name": "uploads", "description": "Resumable uploads (tus 1.0): create, send in chunks, "
                                       "resume after a drop; the last chunk makes the asset"},
    {"name": "events", "description": "Server-Sent Events of the tenant's assets (created, "
                                      "ready, failed, deleted, restored, purged), resumable"},
    {"name": "files", "description": "Downloads behind the signed, expiring `fileUrl` and "
                                     "`thumbnailUrl`: no key, `Range` honoured"},
    {"name": "webhooks", "description": "Signed webhooks (Standard Webhooks): endpoints of "
                                        "your tenant, their deliveries and retries"},
    {"name": "health", "description": "Liveness, readiness and Prometheus metrics: no key"},
]

# Bodies that routes read themselves (no FastAPI body parameter), referenced from their
# openapi_extra as #/components/schemas/NAME.
REQUEST_BODIES: tuple[type[BaseModel], ...] = (schemas.ImportRequest, schemas.AssetUpdate,
                                                schemas.BatchDelete, schemas.BatchUpdate,
                                                hooks.WebhookCreate, hooks.WebhookUpdate)

SECURITY_SCHEMES = {
    "ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "x-api-key",
                   "description": "API key to be included in the x-api-key header"},
    "BearerAuth": {"type": "http", "scheme": "bearer",
                   "description": "The same key as `Authorization: Bearer KEY`"},
    "ApiKeyAuthorization": {"type": "apiKey", "in": "header", "name": "Authorization",
                            "description": "The same key as `Authorization: ApiKey KEY` "
                                           "(type `ApiKey ` before the key)"},
}


def error(status: int, description: str | None = None) -> dict[str, Any]:
    """One error response: its description, the Error schema, and its headers if any."""
    response: dict[str, Any] = {
        "description": description or DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
    }
    if status in _HEADERS:
        response["headers"] = dict(_HEADERS[status])
    return response


def errors(*statuses: int | tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: `errors(400, (404, "No such asset"), 413)`."""
    out: dict[int | str, dict[str, Any]] = {}
    for item in statuses:
        status, words = item if isinstance(item, tuple) else (item, None)
        out[status] = error(status, words)
    return out


def finish(doc: dict[str, Any]) -> dict[str, Any]:
    """What every operation shares, added once the routes are described (see the docstring)."""
    components = doc.setdefault("components", {})
    found = components.setdefault("schemas", {})
    models: tuple[type[BaseModel], ...] = (schemas.Error, *REQUEST_BODIES)
    for model in models:
        found[model.__name__] = model.model_json_schema(
            ref_template="#/components/schemas/{model}")
    for name in ("HTTPValidationError", "ValidationError"):
        found.pop(name, None)
    components["securitySchemes"] = SECURITY_SCHEMES
    doc["security"] = [{name: []} for name in SECURITY_SCHEMES]
    used: list[str] = []
    for path_item in doc.get("paths", {}).values():
        for op in path_item.values():
            answers = op.setdefault("responses", {})
            if "HTTPValidationError" in json.dumps(answers.get("422", {})):
                del answers["422"]  # FastAPI's own: every error here is {code, message}
            added = HTTP_LAYER if op.get("security") == [] else AUTHENTICATED + HTTP_LAYER
            for status in added:
                answers.setdefault(str(status), error(status))
            op["responses"] = dict(sorted(answers.items()))
            used += [t for t in op.get("tags", []) if t not in used]
    known = {t["name"] for t in TAGS}
    doc["tags"] = [t for t in TAGS if t["name"] in used] + \
        [{"name": t} for t in used if t not in known]
    return doc


def customise_openapi(app: FastAPI) -> None:
    def build() -> dict[str, Any]:
        if not app.openapi_schema:
            doc = finish(get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=app.routes, servers=app.servers))
            limits.document(doc)  # the RateLimit fields on every 429
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]
