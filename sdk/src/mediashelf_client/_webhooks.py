"""Webhooks in the SDK: endpoint and delivery calls (as `client.webhooks`), and verify_webhook.

The calls are I/O-free operations run by either client, as in `_core`. `verify_webhook` wraps
the reference `standardwebhooks` package (`pip install "mediashelf-client[webhooks]"`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

from mediashelf_client._core import Call, Config, Op, send
from mediashelf_client._errors import MediashelfAPIError, NotFoundError

T = TypeVar("T")
Hooks = list["Webhook"]  # named here: the `list` methods below hide the builtin
Deliveries = list["WebhookDelivery"]


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class Webhook:
    """An endpoint; `secret` only in the answers to create and rotate_secret."""

    id: str
    url: str
    events: tuple[str, ...]
    description: str
    enabled: bool
    disabled_reason: str | None
    failure_streak: int
    created_at: dt.datetime | None
    secret: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False, repr=False)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Webhook:
        return cls(id=str(data.get("id", "")), url=str(data.get("url", "")),
                   events=tuple(str(e) for e in data.get("events") or ()),
                   description=str(data.get("description") or ""),
                   enabled=bool(data.get("enabled")),
                   disabled_reason=data.get("disabledReason"),
                   failure_streak=int(data.get("failureStreak") or 0),
                   created_at=_time(data.get("createdAt")), secret=data.get("secret"),
                   raw=dict(data))


@dataclass(frozen=True)
class WebhookDelivery:
    """One delivery of an event to an endpoint, with every attempt in `history`."""

    id: str
    webhook_id: str  # the webhook-id header, the same on every attempt
    event_type: str
    asset_id: str | None
    status: str  # pending, sending, succeeded, failed
    attempts: int
    response_code: int | None
    error: str | None
    next_attempt_at: dt.datetime | None
    history: tuple[Mapping[str, Any], ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False, repr=False)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> WebhookDelivery:
        return cls(id=str(data.get("id", "")), webhook_id=str(data.get("webhookId", "")),
                   event_type=str(data.get("eventType", "")), asset_id=data.get("assetId"),
                   status=str(data.get("status", "")), attempts=int(data.get("attempts") or 0),
                   response_code=data.get("responseCode"), error=data.get("error"),
                   next_attempt_at=_time(data.get("nextAttemptAt")),
                   history=tuple(data.get("history") or ()), raw=dict(data))


def verify_webhook(payload: bytes | str, headers: Mapping[str, str], secret: str) -> Any:
    """The delivery's JSON once its signature checks out with `secret` (whsec_…), by the
    reference Standard Webhooks library; raises its WebhookVerificationError otherwise.
    Pass the body exactly as received and the request's headers."""
    try:
        from standardwebhooks import Webhook as Verifier
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise ImportError('verify_webhook needs the standardwebhooks package: '
                          'pip install "mediashelf-client[webhooks]"') from None
    return Verifier(secret).verify(payload, {k.lower(): v for k, v in headers.items()})


def _path(webhook: Webhook | str, tail: str = "") -> str:
    ident = webhook.id if isinstance(webhook, Webhook) else str(webhook)
    if not ident.strip():
        raise NotFoundError("empty webhook id", 404)
    return "/v1/webhooks/" + quote(ident.strip(), safe="") + tail


def _one(response: Any, kind: Callable[[Mapping[str, Any]], T]) -> T:
    data = response.json()
    if not isinstance(data, dict):
        raise MediashelfAPIError("the server's reply is not an object", response.status_code)
    return kind(data)


def _many(response: Any, kind: Callable[[Mapping[str, Any]], T]) -> list[T]:
    data = response.json()
    if not isinstance(data, list):
        raise MediashelfAPIError("the server's reply is not a list", response.status_code)
    return [kind(x) for x in data if isinstance(x, dict)]


def create(config: Config, url: str, events: Sequence[str],
           description: str | None) -> Op[Webhook]:
    body: dict[str, Any] = {"url": url, "events": list(events)}
    if description is not None:
        body["description"] = description
    return _one((yield from send(config, Call("POST", "/v1/webhooks", json=body,
                                              replayable=False))), Webhook.from_wire)


def list_all(config: Config) -> Op[list[Webhook]]:
    return _many((yield from send(config, Call("GET", "/v1/webhooks"))), Webhook.from_wire)


def get(config: Config, webhook: Webhook | str) -> Op[Webhook]:
    return _one((yield from send(config, Call("GET", _path(webhook)))), Webhook.from_wire)


def update(config: Config, webhook: Webhook | str, changes: Mapping[str, Any]) -> Op[Webhook]:
    return _one((yield from send(config, Call("PATCH", _path(webhook), json=dict(changes)))),
                Webhook.from_wire)


def delete(config: Config, webhook: Webhook | str) -> Op[None]:
    yield from send(config, Call("DELETE", _path(webhook)))


def rotate(config: Config, webhook: Webhook | str) -> Op[Webhook]:
    return _one((yield from send(config, Call("POST", _path(webhook, "/rotate-secret"),
                                              replayable=False))), Webhook.from_wire)


def test(config: Config, webhook: Webhook | str) -> Op[WebhookDelivery]:
    return _one((yield from send(config, Call("POST", _path(webhook, "/test"),
                                              replayable=False))), WebhookDelivery.from_wire)


def deliveries(config: Config, webhook: Webhook | str, page: int,
               page_size: int) -> Op[list[WebhookDelivery]]:
    params = [("page", str(page)), ("pageSize", str(page_size))]
    return _many((yield from send(config, Call("GET", _path(webhook, "/deliveries"),
                                              params=params))), WebhookDelivery.from_wire)


def retry(config: Config, webhook: Webhook | str, delivery: WebhookDelivery | str
          ) -> Op[WebhookDelivery]:
    ident = delivery.id if isinstance(delivery, WebhookDelivery) else str(delivery)
    path = _path(webhook, "/deliveries/" + quote(ident.strip(), safe="") + "/retry")
    return _one((yield from send(config, Call("POST", path))), WebhookDelivery.from_wire)


def _changes(url: str | None, events: Sequence[str] | None, enabled: bool | None,
             description: str | None) -> dict[str, Any]:
    given = {"url": url, "events": list(events) if events is not None else None,
             "enabled": enabled, "description": description}
    return {k: v for k, v in given.items() if v is not None}


class Webhooks:
    """`client.webhooks`: the tenant's webhook endpoints and their deliveries."""

    def __init__(self, config: Config, run: Callable[[Op[Any]], Any]) -> None:
        self._config, self._run = config, run

    def create(self, url: str, events: Sequence[str] = ("*",), *,
               description: str | None = None) -> Webhook:
        """A new endpoint; its `secret` is shown only in this answer."""
        return self._run(create(self._config, url, events, description))  # type: ignore[no-any-return]

    def list(self) -> Hooks:
        return self._run(list_all(self._config))  # type: ignore[no-any-return]

    def get(self, webhook: Webhook | str) -> Webhook:
        return self._run(get(self._config, webhook))  # type: ignore[no-any-return]

    def update(self, webhook: Webhook | str, *, url: str | None = None,
               events: Sequence[str] | None = None, enabled: bool | None = None,
               description: str | None = None) -> Webhook:
        return self._run(update(self._config, webhook,  # type: ignore[no-any-return]
                                _changes(url, events, enabled, description)))

    def delete(self, webhook: Webhook | str) -> None:
        self._run(delete(self._config, webhook))

    def rotate_secret(self, webhook: Webhook | str) -> Webhook:
        """A new secret (in the answer); the old one signs beside it for a day."""
        return self._run(rotate(self._config, webhook))  # type: ignore[no-any-return]

    def test(self, webhook: Webhook | str) -> WebhookDelivery:
        return self._run(test(self._config, webhook))  # type: ignore[no-any-return]

    def deliveries(self, webhook: Webhook | str, *, page: int = 1,
                   page_size: int = 20) -> Deliveries:
        """Newest first."""
        return self._run(deliveries(self._config, webhook,  # type: ignore[no-any-return]
                                    page, page_size))

    def retry(self, webhook: Webhook | str, delivery: WebhookDelivery | str) -> WebhookDelivery:
        return self._run(retry(self._config, webhook, delivery))  # type: ignore[no-any-return]


class AsyncWebhooks:
    """`async_client.webhooks`: the same calls, awaited."""

    def __init__(self, config: Config, run: Callable[[Op[Any]], Awaitable[Any]]) -> None:
        self._config, self._run = config, run

    async def create(self, url: str, events: Sequence[str] = ("*",), *,
                     description: str | None = None) -> Webhook:
        return await self._run(create(self._config, url, events, description))  # type: ignore[no-any-return]

    async def list(self) -> Hooks:
        return await self._run(list_all(self._config))  # type: ignore[no-any-return]

    async def get(self, webhook: Webhook | str) -> Webhook:
        return await self._run(get(self._config, webhook))  # type: ignore[no-any-return]

    async def update(self, webhook: Webhook | str, *, url: str | None = None,
                     events: Sequence[str] | None = None, enabled: bool | None = None,
                     description: str | None = None) -> Webhook:
        return await self._run(update(self._config, webhook,  # type: ignore[no-any-return]
                                      _changes(url, events, enabled, description)))

    async def delete(self, webhook: Webhook | str) -> None:
        await self._run(delete(self._config, webhook))

    async def rotate_secret(self, webhook: Webhook | str) -> Webhook:
        return await self._run(rotate(self._config, webhook))  # type: ignore[no-any-return]

    async def test(self, webhook: Webhook | str) -> WebhookDelivery:
        return await self._run(test(self._config, webhook))  # type: ignore[no-any-return]

    async def deliveries(self, webhook: Webhook | str, *, page: int = 1,
                         page_size: int = 20) -> Deliveries:
        return await self._run(deliveries(self._config, webhook,  # type: ignore[no-any-return]
                                          page, page_size))

    async def retry(self, webhook: Webhook | str,
                    delivery: WebhookDelivery | str) -> WebhookDelivery:
        return await self._run(retry(self._config, webhook,  # type: ignore[no-any-return]
                                     delivery))
