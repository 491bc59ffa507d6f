"""The served OpenAPI document: our routes, the seed's x-api-key scheme, the wire schemas."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from mediashelf.api import limits, schemas


def customise_openapi(app: FastAPI) -> None:
    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, description=app.description,
                          routes=app.routes, servers=app.servers)
        components = doc.setdefault("components", {})
        components.setdefault("schemas", {})["ImportRequest"] = \
            schemas.ImportRequest.model_json_schema(ref_template="#/components/schemas/{model}")
        components["securitySchemes"] = {
            "ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "x-api-key",
                           "description": "API key to be included in the x-api-key header"},
            "BearerAuth": {"type": "http", "scheme": "bearer",
                           "description": "The same key as `Authorization: Bearer KEY`"},
        }
        doc["security"] = [{"ApiKeyAuth": []}, {"BearerAuth": []}]
        limits.document(doc)  # 429 and the RateLimit fields
        app.openapi_schema = doc
        return doc

    app.openapi = build  # type: ignore[method-assign]
