"""/v1/webhooks on the app in-process: endpoints per tenant, their secrets, the address policy at
registration, the limit per tenant, and hostile bodies answered 4xx {code, message}."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.inproc import Api, InProcess, both_ways

HOOK = "https://hooks.example.com/mediashelf"
ALLOW_PRIVATE = " (a server allows these with MEDIASHELF_ALLOW_PRIVATE_URLS=true)"


def _create(client: httpx.Client, **body: Any) -> httpx.Response:
    return client.post("/v1/webhooks", json={"url": HOOK, "events": ["*"], **body})


def _is_error(res: httpx.Response, status: int) -> dict[str, Any]:
    assert res.status_code == status, res.text
    body: dict[str, Any] = res.json()
    assert set(body) == {"code", "message"} and body["code"] == status
    assert isinstance(body["message"], str) and body["message"]
    return body


@both_ways
def test_create_shows_the_secret_once_then_read_change_delete(client: httpx.Client) -> None:
    res = _create(client, events=["asset.ready", "asset.failed", "asset.ready"],
                  description="pipeline ✓")
    assert res.status_code == 201, res.text
    made = res.json()
    assert res.headers["location"] == f"/v1/webhooks/{made['id']}"
    assert made["url"] == HOOK and made["events"] == ["asset.failed", "asset.ready"]
    assert made["enabled"] is True and made["disabledReason"] is None
    assert made["description"] == "pipeline ✓"
    secret = made["secret"]
    assert secret.startswith("whsec_") and 24 <= len(base64.b64decode(secret[6:])) <= 64

    got = client.get(f"/v1/webhooks/{made['id']}").json()
    assert "secret" not in got and got["id"] == made["id"]
    assert [h["id"] for h in client.get("/v1/webhooks").json()] == [made["id"]]

    changed = client.patch(f"/v1/webhooks/{made['id']}",
                           json={"events": ["*"], "enabled": False, "url": HOOK + "/v2"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["events"] == ["*"] and changed.json()["enabled"] is False
    assert changed.json()["url"] == HOOK + "/v2"
    assert changed.json()["disabledReason"] == "disabled by a user"
    back = client.patch(f"/v1/webhooks/{made['id']}", json={"enabled": True}).json()
    assert back["enabled"] is True and back["disabledReason"] is None

    rotated = client.post(f"/v1/webhooks/{made['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["secret"] != secret and rotated.json()["previousSecretExpiresAt"]

    assert client.get(f"/v1/webhooks/{made['id']}/deliveries").json() == []
    gone = client.delete(f"/v1/webhooks/{made['id']}")
    assert gone.status_code == 200 and gone.json() == {"message": "Webhook deleted"}
    _is_error(client.get(f"/v1/webhooks/{made['id']}"), 404)
    assert client.get("/v1/webhooks").json() == []


def test_another_tenant_can_neither_see_nor_touch_an_endpoint(api: Api,
                                                              client: httpx.Client) -> None:
    made = _create(client).json()
    path = f"/v1/webhooks/{made['id']}"
    with api.client(api.new_key(f"b-{uuid.uuid4().hex[:8]}")) as other:
        assert other.get("/v1/webhooks").json() == []
        for method, tail, body in (("GET", "", None), ("PATCH", "", {"enabled": False}),
                                   ("DELETE", "", None), ("POST", "/rotate-secret", None),
                                   ("POST", "/test", None), ("GET", "/deliveries", None),
                                   ("POST", "/deliveries/1/retry", None)):
            _is_error(other.request(method, path + tail, json=body), 404)
    after = client.get(path).json()
    assert after["enabled"] is True  # untouched
    assert client.get(f"{path}/deliveries").json() == []


@pytest.mark.parametrize(("url", "why"), [
    ("https://127.0.0.1/hook", "url points to a private address" + ALLOW_PRIVATE),
    ("https://169.254.169.254/latest/meta-data/", "url points to a private address"
     + ALLOW_PRIVATE),
    ("https://[::1]/hook", "url points to a private address" + ALLOW_PRIVATE),
    ("https://10.0.0.8/hook", "url points to a private address" + ALLOW_PRIVATE),
    ("https://localhost/hook", "url points to a local host name" + ALLOW_PRIVATE),
    ("http://hooks.example.com/", "only https:// urls are allowed" + ALLOW_PRIVATE),
    ("ftp://hooks.example.com/", "url scheme ftp: is not allowed; use https://"),
    ("https://user:pw@hooks.example.com/", "url must not contain a user name or password"),
])
def test_private_or_unsafe_url_is_refused_at_registration(client: httpx.Client, url: str,
                                                          why: str) -> None:
    assert _is_error(_create(client, url=url), 400)["message"] == why
    _is_error(client.patch(f"/v1/webhooks/{_create(client).json()['id']}", json={"url": url}),
              400)
    assert all(h["url"] == HOOK for h in client.get("/v1/webhooks").json())


@pytest.mark.parametrize(("body", "status", "said"), [
    ({"url": HOOK}, 400, "'url' and 'events' are required"),
    ({"url": HOOK, "events": []}, 400, "'events' must be an array"),
    ({"url": HOOK, "events": "asset.ready"}, 400, "'events' must be an array"),
    ({"url": HOOK, "events": [1]}, 400, "not a string"),
    ({"url": HOOK, "events": ["asset.exploded"]}, 400, "invalid event type 'asset.exploded'"),
    ({"url": HOOK, "events": ["ASSET.READY"]}, 400, "invalid event type"),
    ({"url": 5, "events": ["*"]}, 400, "'url' must be a string"),
    ({"url": ["x"], "events": ["*"]}, 400, "'url' must be a string"),
    ({"url": "https://häfen.例え.テスト/ü", "events": ["*"]}, 201, None),
    ({"url": "https://exa mple.com/", "events": ["*"]}, 400, "spaces"),
    ({"url": HOOK, "events": ["*"], "description": {"a": 1}}, 400, "'description'"),
    ({"url": HOOK, "events": ["*"], "description": "é" * 501}, 400, "longer than 500"),
    ({"url": HOOK, "events": ["*"], "secret": "mine"}, 400, "unknown member 'secret'"),
    ([HOOK], 400, "not an array"),
])
def test_wrong_bodies_answer_400_saying_what(client: httpx.Client, body: Any, status: int,
                                             said: str | None) -> None:
    res = client.post("/v1/webhooks", json=body)
    if status == 201:
        assert res.status_code == 201, res.text
        return
    assert said is not None and said in _is_error(res, status)["message"]


def test_huge_nested_and_broken_bodies(client: httpx.Client) -> None:
    huge = json.dumps({"url": HOOK, "events": ["*"], "description": "x" * 70_000})
    _is_error(client.post("/v1/webhooks", content=huge,
                          headers={"content-type": "application/json"}), 413)
    nested = "[" * 5000 + "]" * 5000
    _is_error(client.post("/v1/webhooks", content=nested,
                          headers={"content-type": "application/json"}), 400)
    _is_error(client.post("/v1/webhooks", content=b"\xff\xfe{", headers={
        "content-type": "application/json"}), 400)
    made = _create(client).json()
    _is_error(client.patch(f"/v1/webhooks/{made['id']}", json={}), 400)
    _is_error(client.patch(f"/v1/webhooks/{made['id']}", json={"enabled": "yes"}), 400)
    _is_error(client.get("/v1/webhooks/not-a-uuid"), 404)
    _is_error(client.post(f"/v1/webhooks/{made['id']}/deliveries/x%F0%9F%8E%89/retry"), 404)
    _is_error(client.get(f"/v1/webhooks/{made['id']}/deliveries", params={"pageSize": 0}), 400)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.recursive(st.none() | st.booleans() | st.integers()
                    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20))
def test_any_json_body_answers_201_or_4xx_never_500(client: httpx.Client, body: Any) -> None:
    res = client.post("/v1/webhooks", json={"url": body, "events": body})
    assert res.status_code == 201 or 400 <= res.status_code < 500, res.text
    if res.status_code != 201:
        assert set(res.json()) == {"code", "message"}


def test_a_tenant_has_at_most_the_limit(make_app: Any) -> None:
    app: InProcess = make_app(run_worker=False, env={"MEDIASHELF_WEBHOOK_MAX_ENDPOINTS": "3"})
    with app.client(app.new_key("limited")) as client:
        for _ in range(3):
            assert _create(client).status_code == 201
        said = _is_error(_create(client), 409)["message"]
        assert said == "a tenant may have at most 3 webhook endpoints: delete one first"
        first = client.get("/v1/webhooks").json()[0]["id"]
        assert client.delete(f"/v1/webhooks/{first}").status_code == 200
        assert _create(client).status_code == 201


def test_the_previous_secret_shows_its_end_only_until_then(make_app: Any) -> None:
    app: InProcess = make_app(run_worker=False,
                              env={"MEDIASHELF_WEBHOOK_SECRET_OVERLAP": "1s"})
    with app.client(app.new_key("rotating")) as client:
        made = _create(client).json()
        assert made["previousSecretExpiresAt"] is None
        rotated = client.post(f"/v1/webhooks/{made['id']}/rotate-secret").json()
        until = datetime.fromisoformat(rotated["previousSecretExpiresAt"])
        assert datetime.now(UTC) < until <= datetime.now(UTC) + timedelta(seconds=1)
        time.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 0.05)
        # past it, the old secret signs nothing: no time in the past is shown as "until"
        assert client.get(f"/v1/webhooks/{made['id']}").json()["previousSecretExpiresAt"] is None
        assert client.get("/v1/webhooks").json()[0]["previousSecretExpiresAt"] is None


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=40) | st.sampled_from(["a\x00b", "\x00", "\u2028x\t\n", "\x85", "é\r\n"]))
def test_any_description_is_kept_or_refused_never_500(client: httpx.Client, text: str) -> None:
    """NUL, which PostgreSQL text cannot hold, and other controls are refused; tabs and line
    breaks are kept."""
    res = _create(client, description=text)
    refused = any((ord(c) < 32 and c not in "\t\n\r") or 0x7f <= ord(c) <= 0x9f for c in text)
    if refused:
        assert "control characters" in _is_error(res, 400)["message"]
        return
    assert res.status_code == 201, res.text
    made = res.json()
    assert made["description"] == text.strip()
    again = client.patch(f"/v1/webhooks/{made['id']}", json={"description": text + "\x00"})
    assert "control characters" in _is_error(again, 400)["message"]
    assert client.delete(f"/v1/webhooks/{made['id']}").status_code in (200, 204)
