"""A webhook URL accepted when its name resolved to a public address is checked again at every
delivery: once its DNS points to a private address, the delivery fails saying so, and nothing
reaches that address. Names come from a resolver the test controls (as the URL import tests do);
"public" is 127.0.0.2, declared so by the sender's address policy, serving TLS for hooks.test."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mediashelf.net.fetch import Fetcher
from tests.support.http_servers import canary, make_test_ca
from tests.support.inproc import InProcess
from tests.support.receiver import receiver
from tests.support.waiting import wait_until

PUBLIC = "127.0.0.2"


def _deliveries(client: Any, hook_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.get(f"/v1/webhooks/{hook_id}/deliveries").json()
    return found


def test_delivery_to_a_name_now_private_fails_and_sends_nothing(
        make_app: Callable[..., InProcess], tmp_path: Path) -> None:
    ca = make_test_ca()
    ctx = ca.server_context("hooks.test", tmp_dir=tmp_path)
    with receiver(PUBLIC, ssl_context=ctx) as rx, canary("127.0.0.1", rx.port) as private:
        # the deliverer in this process's thread, so that its sender can be the test's
        app = make_app(env={"MEDIASHELF_ALLOWED_PORTS": str(rx.port),
                            "MEDIASHELF_WEBHOOK_RETRY_SCHEDULE": "0.2s",
                            "MEDIASHELF_WEBHOOK_PROCESS": "false"})
        names = {"hooks.test": [PUBLIC]}
        deliverer = app.app.state.services.worker.companions[0]
        deliverer.sender = Fetcher(
            allowed_ports=[rx.port], resolver=lambda host, port: names[host],
            is_public=lambda ip: ip == ipaddress.ip_address(PUBLIC),
            verify=ca.client_context())
        with app.client(app.new_key("dns")) as client:
            made = client.post("/v1/webhooks", json={
                "url": f"https://hooks.test:{rx.port}/hook", "events": ["*"]})
            assert made.status_code == 201, made.text
            hook = made.json()
            client.post(f"/v1/webhooks/{hook['id']}/test")
            (first,) = rx.wait(lambda g: len(g) == 1)
            assert first.verify(hook["secret"])["type"] == "webhook.test"
            assert first.headers["host"] == f"hooks.test:{rx.port}"

            names["hooks.test"] = ["127.0.0.1"]  # the name now points inside
            client.post(f"/v1/webhooks/{hook['id']}/test")
            wait_until("the delivery failed",
                       lambda: _deliveries(client, hook["id"])[0]["status"] == "failed", 30, 0.05)
            latest = _deliveries(client, hook["id"])[0]
        assert latest["error"] == ("url resolves to a private address (a server allows these "
                                   "with MEDIASHELF_ALLOW_PRIVATE_URLS=true)")
        assert latest["responseCode"] is None and latest["attempts"] == 2
        assert len(rx.snapshot()) == 1 and private.hits == 0
