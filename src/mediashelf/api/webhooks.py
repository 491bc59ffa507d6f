"""/v1/webhooks: signed webhook endpoints of the key's tenant, their deliveries and retries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from mediashelf.api import webhook_schemas as ws
from mediashelf.api.deps import current_key
from mediashelf.api.jsonbody import read_object
from mediashelf.api.openapi import errors
from mediashelf.api.params import page_params
from mediashelf.domain import WebhookEndpoint, now_ms
from mediashelf.errors import BadRequest, NotFound
from mediashelf.services.webhooks import DeliveryView, WebhookService

router = APIRouter(prefix="/v1", tags=["webhooks"])

_NO_ENDPOINT = (404, "No such webhook endpoint for this key's tenant")
_PAGE_HEADERS = {h: {"schema": {"type": "integer"}, "description": d} for h, d in (
    ("X-Total-Count", "Deliveries of the endpoint"), ("X-Page", "Current page number"),
    ("X-Page-Size", "Number of items per page"), ("X-Total-Pages", "Total number of pages"))}


def _service(request: Request) -> WebhookService:
    service: WebhookService = request.app.state.webhooks
    return service


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json",
                    headers=headers)


def _at(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds") \
        .replace("+00:00", "Z")


def _id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound("webhook endpoint not found") from None


def _delivery_id(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise NotFound("delivery not found")
    return int(raw)


def endpoint_wire(e: WebhookEndpoint, with_secret: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(e.id), "url": e.url, "events": e.events, "description": e.description,
        "enabled": e.enabled, "disabledReason": e.disabled_reason,
        "failureStreak": e.failure_streak, "failingSince": _at(e.failing_since_ms),
        "previousSecretExpiresAt": _at(e.previous_secret_until(now_ms())),
        "createdAt": _at(e.created_ms), "updatedAt": _at(e.updated_ms)}
    if with_secret:
        out["secret"] = e.secret
    return out


def delivery_wire(view: DeliveryView) -> dict[str, Any]:
    d = view.delivery
    return {
        "id": str(d.id), "webhookId": d.message_id, "eventType": d.event_type,
        "assetId": str(d.asset_id) if d.asset_id else None, "status": d.state.value,
        "attempts": d.attempts, "responseCode": d.response_code, "durationMs": d.duration_ms,
        "response": d.response_body, "error": d.error, "nextAttemptAt": _at(d.next_attempt_ms),
        "createdAt": _at(d.created_ms), "updatedAt": _at(d.updated_ms),
        "history": [{"at": _at(a["started_ms"]), "responseCode": a["response_code"],
                     "durationMs": a["duration_ms"], "response": a["response_body"],
                     "error": a["error"]} for a in view.history]}


def _body(schema: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{schema}"}}}}}


@router.post(
    "/webhooks", summary="Add a webhook endpoint", operation_id="createWebhook", status_code=201,
    description="Registers a receiver for the tenant's asset events, signed as Standard "
                "Webhooks says. The URL passes the URL imports' address policy (https, public "
                "addresses). The answer holds the signing secret: it is shown only here.",
    openapi_extra=_body("WebhookCreate"),
    responses={201: {"model": ws.WebhookWithSecret, "description": "The endpoint and its secret",
                     "headers": {"Location": {"schema": {"type": "string"},
                                              "description": "The endpoint's path"}}},
               **errors((400, "Invalid member, event type or refused URL: the message says "
                              "why"),
                        (409, "The tenant has as many endpoints as it may"), 413)})
async def create_webhook(request: Request) -> Response:
    key = await current_key(request)
    data = await read_object(request, "a JSON object with url, events and description",
                             ("url", "events", "description"))
    if "url" not in data or "events" not in data:
        raise BadRequest("'url' and 'events' are required")
    made = await run_in_threadpool(_service(request).create, key.tenant_id, data["url"],
                                   data["events"], data.get("description", ""))
    return _json(endpoint_wire(made, with_secret=True), 201,
                 {"Location": f"/v1/webhooks/{made.id}"})


@router.get("/webhooks", summary="List webhook endpoints", operation_id="listWebhooks",
            responses={200: {"model": list[ws.WebhookEndpoint],
                             "description": "The tenant's endpoints, oldest first"},
                       **errors()})
async def list_webhooks(request: Request) -> Response:
    key = await current_key(request)
    found = await run_in_threadpool(_service(request).of_tenant, key.tenant_id)
    return _json([endpoint_wire(e) for e in found])


@router.get("/webhooks/{webhook_id}", summary="Get a webhook endpoint", operation_id="getWebhook",
            responses={200: {"model": ws.WebhookEndpoint, "description": "The endpoint"},
                       **errors(_NO_ENDPOINT)})
async def get_webhook(request: Request, webhook_id: str) -> Response:
    key = await current_key(request)
    found = await run_in_threadpool(_service(request).get, key.tenant_id, _id(webhook_id))
    return _json(endpoint_wire(found))


@router.patch(
    "/webhooks/{webhook_id}", summary="Change a webhook endpoint", operation_id="updateWebhook",
    description="Any of url, events, enabled, description. `enabled: true` brings back an "
                "endpoint disabled after failing, with a fresh failure count.",
    openapi_extra=_body("WebhookUpdate"),
    responses={200: {"model": ws.WebhookEndpoint, "description": "The endpoint as changed"},
               **errors(_NO_ENDPOINT, 413)})
async def update_webhook(request: Request, webhook_id: str) -> Response:
    key = await current_key(request)
    target = _id(webhook_id)
    data = await read_object(request, "a JSON object with url, events, enabled and/or "
                             "description", ("url", "events", "enabled", "description"))
    if not data:
        raise BadRequest("send url, events, enabled and/or description")
    found = await run_in_threadpool(_service(request).update, key.tenant_id, target, data)
    return _json(endpoint_wire(found))


@router.delete("/webhooks/{webhook_id}", summary="Delete a webhook endpoint",
               operation_id="deleteWebhook",
               responses={200: {"description": "Deleted, with its deliveries",
                                "content": {"application/json": {"example": {
                                    "message": "Webhook deleted"}}}},
                          **errors(_NO_ENDPOINT)})
async def delete_webhook(request: Request, webhook_id: str) -> Response:
    key = await current_key(request)
    await run_in_threadpool(_service(request).delete, key.tenant_id, _id(webhook_id))
    return _json({"message": "Webhook deleted"})


@router.post(
    "/webhooks/{webhook_id}/rotate-secret", summary="Rotate the signing secret",
    operation_id="rotateWebhookSecret",
    description="A new secret, shown only here; the previous one keeps signing beside it "
                "(two signatures in webhook-signature) until previousSecretExpiresAt.",
    responses={200: {"model": ws.WebhookWithSecret, "description": "The endpoint, new secret"},
               **errors(_NO_ENDPOINT)})
async def rotate_secret(request: Request, webhook_id: str) -> Response:
    key = await current_key(request)
    found = await run_in_threadpool(_service(request).rotate, key.tenant_id, _id(webhook_id))
    return _json(endpoint_wire(found, with_secret=True))


@router.post(
    "/webhooks/{webhook_id}/test", summary="Send a test event", operation_id="testWebhook",
    status_code=202, description="Queues a `webhook.test` delivery to the endpoint.",
    responses={202: {"model": ws.Delivery, "description": "The delivery, queued"},
               **errors(_NO_ENDPOINT, (409, "The endpoint is disabled"))})
async def test_webhook(request: Request, webhook_id: str) -> Response:
    key = await current_key(request)
    made = await run_in_threadpool(_service(request).send_test, key.tenant_id, _id(webhook_id))
    return _json(delivery_wire(made), 202)


@router.get(
    "/webhooks/{webhook_id}/deliveries", summary="List deliveries",
    operation_id="listWebhookDeliveries",
    description="Newest first, each with its attempts; paged like the asset list.",
    openapi_extra={"parameters": [
        {"name": "page", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "default": 1}},
        {"name": "pageSize", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}}]},
    responses={200: {"model": list[ws.Delivery], "headers": _PAGE_HEADERS,
                     "description": "A page of deliveries"}, **errors(_NO_ENDPOINT)})
async def list_deliveries(request: Request, webhook_id: str) -> Response:
    key = await current_key(request)
    target = _id(webhook_id)
    page, size = page_params(request.query_params)
    found, total = await run_in_threadpool(_service(request).deliveries, key.tenant_id, target,
                                           page, size)
    headers = {"X-Total-Count": str(total), "X-Page": str(page), "X-Page-Size": str(size),
               "X-Total-Pages": str(-(-total // size))}
    return _json([delivery_wire(v) for v in found], headers=headers)


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/retry", summary="Send a delivery again",
    operation_id="retryWebhookDelivery",
    description="Queues the delivery now, with a fresh round of retries.",
    status_code=202,
    responses={202: {"model": ws.Delivery, "description": "The delivery, queued"},
               **errors((404, "No such endpoint or delivery for this key's tenant"),
                        (409, "The delivery is being sent right now, or the endpoint is "
                              "disabled"))})
async def retry_delivery(request: Request, webhook_id: str, delivery_id: str) -> Response:
    key = await current_key(request)
    target = _id(webhook_id)
    found = await run_in_threadpool(_service(request).retry, key.tenant_id, target,
                                    _delivery_id(delivery_id))
    return _json(delivery_wire(found), 202)
