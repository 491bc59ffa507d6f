"""Webhook endpoints per tenant: create, read, change, delete, rotate the secret, send a test,
list and retry deliveries. Sending is services/delivery.py's."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from prometheus_client.metrics_core import Metric
from sqlalchemy.engine import Connection

from mediashelf import metrics
from mediashelf.db.database import Database, after_commit
from mediashelf.db.deliveries import DeliveryRepository
from mediashelf.db.events import Event
from mediashelf.db.webhooks import WebhookRepository
from mediashelf.domain import (
    WEBHOOK_EVENT_TYPES,
    WEBHOOK_TEST_TYPE,
    Delivery,
    DeliveryState,
    WebhookEndpoint,
    now_ms,
    uuid7,
)
from mediashelf.errors import BadRequest, Conflict, NotFound, shown

log = logging.getLogger("mediashelf.webhooks")

SECRET_BYTES = 32
MAX_DESCRIPTION = 500


class TooManyEndpoints(Conflict):
    default_message = "too many webhook endpoints"


def new_secret() -> str:
    """whsec_ and the base64 of 32 random bytes, as Standard Webhooks spells a secret."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">` (Standard Webhooks' symmetric scheme)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def check_events(value: Any) -> list[str]:
    """A subscription: a non-empty array of known event types, or ["*"]."""
    allowed = ", ".join((*WEBHOOK_EVENT_TYPES, "*"))
    if not isinstance(value, list) or not value or len(value) > 32:
        raise BadRequest(f"'events' must be an array of event types ({allowed})")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise BadRequest(f"'events' holds a value that is not a string: allowed values "
                             f"are {allowed}")
        if item not in (*WEBHOOK_EVENT_TYPES, "*"):
            raise BadRequest(f"invalid event type '{shown(item)}' in 'events': allowed values "
                             f"are {allowed}")
        if item not in out:
            out.append(item)
    return ["*"] if "*" in out else sorted(out)


# Line breaks and tabs may lay out a note; other controls (NUL, which PostgreSQL text cannot
# hold, among them) and lone surrogates have no place in one.
_NOT_IN_DESCRIPTION = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def check_description(value: Any) -> str:
    if not isinstance(value, str):
        raise BadRequest("'description' must be a string")
    if len(value) > MAX_DESCRIPTION:
        raise BadRequest(f"'description' is longer than {MAX_DESCRIPTION} characters")
    if _NOT_IN_DESCRIPTION.search(value):
        raise BadRequest("'description' must not contain control characters other than tabs "
                         "and line breaks (such as NUL)")
    return value.strip()


@dataclass(slots=True)
class DeliveryView:
    delivery: Delivery
    history: list[dict[str, Any]]


class WebhookService:
    def __init__(self, db: Database, endpoints: WebhookRepository, deliveries: DeliveryRepository,
                 *, url_check: Callable[[str], str], max_endpoints: int,
                 secret_overlap_s: float, history_s: float = 7 * 86400.0) -> None:
        self._db, self._endpoints, self._deliveries = db, endpoints, deliveries
        self._url_check = url_check  # the URL imports' policy: 400 with the reason
        self._max = max_endpoints
        self._overlap_ms = int(secret_overlap_s * 1000)
        self._history_ms = int(history_s * 1000)
        self.on_queued: Callable[[], None] | None = None  # wakes this process's deliverer

    def _check_url(self, url: Any) -> str:
        if not isinstance(url, str):
            raise BadRequest("'url' must be a string")
        return self._url_check(url)

    def create(self, tenant_id: uuid.UUID, url: Any, events: Any,
               description: Any = "") -> WebhookEndpoint:
        now = now_ms()
        endpoint = WebhookEndpoint(
            id=uuid7(now), tenant_id=tenant_id, url=self._check_url(url),
            events=check_events(events), description=check_description(description),
            enabled=True, disabled_reason=None, secret=new_secret(), old_secret=None,
            old_secret_expires_ms=None, failing_since_ms=None, failure_streak=0,
            created_ms=now, updated_ms=now)
        with self._db.write() as conn:
            if self._endpoints.count(conn, tenant_id) >= self._max:
                raise TooManyEndpoints(f"a tenant may have at most {self._max} webhook "
                                       "endpoints: delete one first")
            self._endpoints.add(conn, endpoint)
        log.info("webhook.created", extra={"tenant_id": str(tenant_id),
                                           "endpoint_id": str(endpoint.id)})
        return endpoint

    def of_tenant(self, tenant_id: uuid.UUID) -> list[WebhookEndpoint]:
        with self._db.read() as conn:
            return self._endpoints.of_tenant(conn, tenant_id)

    def get(self, tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> WebhookEndpoint:
        with self._db.read() as conn:
            found = self._endpoints.get(conn, tenant_id, endpoint_id)
        if found is None:
            raise NotFound("webhook endpoint not found")
        return found

    def update(self, tenant_id: uuid.UUID, endpoint_id: uuid.UUID,
               changes: dict[str, Any]) -> WebhookEndpoint:
        values: dict[str, Any] = {}
        if "url" in changes:
            values["url"] = self._check_url(changes["url"])
        if "events" in changes:
            values["events"] = check_events(changes["events"])
        if "description" in changes:
            values["description"] = check_description(changes["description"])
        if "enabled" in changes:
            if not isinstance(changes["enabled"], bool):
                raise BadRequest("'enabled' must be true or false")
            values["enabled"] = changes["enabled"]
            if changes["enabled"]:  # a fresh start: the streak and the reason go
                values.update(disabled_reason=None, failing_since_ms=None, failure_streak=0)
            else:
                values["disabled_reason"] = "disabled by a user"
        with self._db.write() as conn:
            if self._endpoints.get(conn, tenant_id, endpoint_id) is None:
                raise NotFound("webhook endpoint not found")
            self._endpoints.update(conn, endpoint_id, updated_ms=now_ms(), **values)
            found = self._endpoints.get(conn, tenant_id, endpoint_id)
        assert found is not None
        if values.get("enabled") and self.on_queued is not None:
            self.on_queued()
        return found

    def delete(self, tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> None:
        with self._db.write() as conn:
            if self._endpoints.get(conn, tenant_id, endpoint_id) is None:
                raise NotFound("webhook endpoint not found")
            self._endpoints.delete(conn, endpoint_id)
        log.info("webhook.deleted", extra={"tenant_id": str(tenant_id),
                                           "endpoint_id": str(endpoint_id)})

    def rotate(self, tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> WebhookEndpoint:
        """A new secret; the current one keeps signing beside it for the overlap."""
        now = now_ms()
        with self._db.write() as conn:
            found = self._endpoints.get(conn, tenant_id, endpoint_id)
            if found is None:
                raise NotFound("webhook endpoint not found")
            self._endpoints.update(conn, endpoint_id, secret=new_secret(),
                                   old_secret=found.secret if self._overlap_ms else None,
                                   old_secret_expires_ms=now + self._overlap_ms,
                                   updated_ms=now)
            rotated = self._endpoints.get(conn, tenant_id, endpoint_id)
        assert rotated is not None
        return rotated

    def send_test(self, tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> DeliveryView:
        now = now_ms()
        msg_id = f"msg_test_{uuid7(now).hex}"
        payload = orjson.dumps({"type": WEBHOOK_TEST_TYPE, "timestamp": _iso(now),
                                "data": {"endpointId": str(endpoint_id)}}).decode()
        with self._db.write() as conn:
            found = self._endpoints.get(conn, tenant_id, endpoint_id)
            if found is None:
                raise NotFound("webhook endpoint not found")
            if not found.enabled:
                raise Conflict("the endpoint is disabled: enable it first (PATCH enabled=true)")
            new_id = self._deliveries.add_message(conn, endpoint_id, tenant_id, msg_id,
                                                  WEBHOOK_TEST_TYPE, payload, now)
            made = self._deliveries.get(conn, endpoint_id, new_id)
        assert made is not None
        if self.on_queued is not None:
            self.on_queued()
        return DeliveryView(made, [])

    def deliveries(self, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, page: int,
                   size: int) -> tuple[list[DeliveryView], int]:
        with self._db.read() as conn:
            if self._endpoints.get(conn, tenant_id, endpoint_id) is None:
                raise NotFound("webhook endpoint not found")
            found, total = self._deliveries.page(conn, endpoint_id, size, (page - 1) * size)
            history = self._deliveries.history(conn, [x.id for x in found])
        return [DeliveryView(x, history[x.id]) for x in found], total

    def retry(self, tenant_id: uuid.UUID, endpoint_id: uuid.UUID,
              delivery_id: int) -> DeliveryView:
        with self._db.write() as conn:
            endpoint = self._endpoints.get(conn, tenant_id, endpoint_id)
            if endpoint is None:
                raise NotFound("webhook endpoint not found")
            found = self._deliveries.get(conn, endpoint_id, delivery_id)
            if found is None:
                raise NotFound("delivery not found")
            if not endpoint.enabled:  # it would wait, not be sent: say so, as a test message does
                raise Conflict("the endpoint is disabled: enable it first (PATCH enabled=true)")
            if found.state is DeliveryState.SENDING:
                raise Conflict("the delivery is being sent right now")
            self._deliveries.again(conn, delivery_id, now_ms())
            again = self._deliveries.get(conn, endpoint_id, delivery_id)
            history = self._deliveries.history(conn, [delivery_id])
        assert again is not None
        if self.on_queued is not None:
            self.on_queued()
        return DeliveryView(again, history[delivery_id])


    def fan_out(self, conn: Connection, event: Event) -> None:
        """In the event's own transaction: a delivery per subscribed endpoint of its tenant."""
        made = self._deliveries.fan_out(conn, event.id, event.tenant_id, event.asset_id,
                                        event.type.value, event.created_ms)
        if made and self.on_queued is not None:
            after_commit(conn, self.on_queued)  # the deliverer finds the rows at once

    def sweep_history(self) -> int:
        """Forget finished deliveries older than the history window."""
        before = now_ms() - self._history_ms
        total = 0
        while True:
            with self._db.write() as conn:
                gone = self._deliveries.sweep(conn, before)
            total += gone
            if gone < 1000:
                return total

    def metric_families(self) -> list[Metric]:
        """Gauges read at scrape time: the oldest delivery still to be made, failure streaks."""
        with self._db.read() as conn:
            oldest = self._deliveries.oldest_open_ms(conn)
            streaks = self._endpoints.streaks(conn)
        age = 0.0 if oldest is None else max(0.0, (now_ms() - oldest) / 1000)
        return [
            metrics.gauge("mediashelf_webhook_oldest_undelivered_seconds",
                          "Age of the oldest webhook delivery not yet made (0 with none)", [],
                          [([], age)]),
            metrics.gauge("mediashelf_webhook_failure_streak",
                          "Failed attempts in a row, per endpoint failing now", ["endpoint"],
                          [([str(i)], float(n)) for i, n in streaks])]


def _iso(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds") \
        .replace("+00:00", "Z")
