"""The SDK's webhook calls against the app in-process, and verify_webhook (the reference
standardwebhooks package) on bodies signed by the server's signer."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import httpx
import pytest
from standardwebhooks.webhooks import WebhookVerificationError

from mediashelf.services.webhooks import new_secret, sign
from mediashelf_client import AsyncClient, Client, NotFoundError, verify_webhook
from tests.support.inproc import BASE_URL, InProcess

HOOK = "https://hooks.example.com/in"


def test_the_sdk_manages_endpoints(make_app: Callable[..., InProcess]) -> None:
    app = make_app(run_worker=False)
    key = app.new_key(f"sdk-{uuid.uuid4().hex[:8]}")
    with Client(BASE_URL, key, transport=app.transport()) as ms:
        made = ms.webhooks.create(HOOK, ["asset.ready"], description="ci")
        assert made.secret and made.secret.startswith("whsec_") and made.events == ("asset.ready",)
        assert [h.id for h in ms.webhooks.list()] == [made.id]
        assert ms.webhooks.get(made.id).secret is None
        changed = ms.webhooks.update(made, events=["*"], enabled=False)
        assert changed.events == ("*",) and not changed.enabled
        assert ms.webhooks.update(made, enabled=True).enabled
        assert ms.webhooks.rotate_secret(made).secret not in (None, made.secret)
        sent = ms.webhooks.test(made)
        assert sent.event_type == "webhook.test" and sent.status == "pending"
        assert sent.webhook_id.startswith("msg_test_")
        (listed,) = ms.webhooks.deliveries(made)
        assert listed.id == sent.id and listed.attempts == 0
        assert ms.webhooks.retry(made, listed).status == "pending"
        ms.webhooks.delete(made)
        with pytest.raises(NotFoundError):
            ms.webhooks.get(made.id)

    async def run() -> list[str]:
        async with AsyncClient(BASE_URL, key,
                               transport=httpx.ASGITransport(app=app.app)) as client:
            made = await client.webhooks.create(HOOK)
            await client.webhooks.rotate_secret(made)
            return [h.id for h in await client.webhooks.list()]
    assert len(app.run(run)) == 1


def test_verify_webhook_accepts_our_signatures_and_refuses_others() -> None:
    secret, other = new_secret(), new_secret()
    body = b'{"type":"asset.ready","timestamp":"2026-01-01T00:00:00.000Z","data":{"id":"\xc3\xa9"}}'
    now = int(time.time())
    headers = {"Webhook-Id": "evt_7", "Webhook-Timestamp": str(now),
               "Webhook-Signature": f"{sign(other, 'evt_7', now, body)} "
                                    f"{sign(secret, 'evt_7', now, body)}"}
    assert verify_webhook(body, headers, secret)["data"]["id"] == "é"
    assert verify_webhook(body.decode(), headers, other)["type"] == "asset.ready"
    for tampered, hdrs in ((body + b" ", headers), (body, {**headers, "Webhook-Id": "evt_8"}),
                           (body, {**headers, "Webhook-Timestamp": str(now - 3600)})):
        with pytest.raises(WebhookVerificationError):
            verify_webhook(tampered, hdrs, secret)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body, headers, new_secret())
