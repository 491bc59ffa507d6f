"""Request budgets and wrong-key limits on the real app, in-process, on every backend.

RateLimit-Policy and RateLimit parse as Structured Field lists (http-sf, a parser of its own);
a spent budget answers 429 with Retry-After; reads and writes have budgets of their own; a
tenant's keys share its budget; signed file URLs are not counted; wrong keys answer 401 until
past the per-address budget, then 429, slowed down without holding up anyone else.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import http_sf
import httpx
import pytest

from tests.support.backends import Backend
from tests.support.inproc import BASE_URL, InProcess

DAY = 86400


def _start(backend: Backend, tmp: pytest.TempPathFactory, env: dict[str, str]
           ) -> Iterator[InProcess]:
    with backend.provision() as provided:
        app = InProcess(tmp.mktemp("limits") / "data", {**provided, **env},
                        backend=backend.name).start()
        yield app
        app.stop()


@pytest.fixture(scope="module")
def limited(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcess]:
    """Small budgets; wrong keys at the default budget, without their delay."""
    yield from _start(backend, tmp_path_factory, {
        "MEDIASHELF_RATE_LIMIT_READS": "5/day", "MEDIASHELF_RATE_LIMIT_WRITES": "3/day",
        "MEDIASHELF_TENANT_RATE_LIMIT_READS": "8/day", "MEDIASHELF_AUTH_FAILURE_DELAY": "0",
        "MEDIASHELF_AUTH_FAILURE_LIMIT": "120/minute"})  # the default (the harness turns it off)


@pytest.fixture(scope="module")
def guarded(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcess]:
    """The defaults but for a small wrong-key budget: no request budgets at all."""
    yield from _start(backend, tmp_path_factory, {
        "MEDIASHELF_AUTH_FAILURE_LIMIT": "5/minute", "MEDIASHELF_AUTH_FAILURE_DELAY": "100ms"})


def call(app: InProcess, method: str, path: str, key: str | None = None,
         address: str = "127.0.0.1", **kwargs: Any) -> httpx.Response:
    """One request from a client at `address` (wrong keys are counted per address)."""
    async def send() -> httpx.Response:
        return await _send(app, method, path, key, address, **kwargs)

    return app.run(send)


async def _send(app: InProcess, method: str, path: str, key: str | None, address: str,
                **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app.app, client=(address, 40000))
    headers = {"x-api-key": key} if key else {}
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, timeout=30) as c:
        return await c.request(method, path, headers=headers, **kwargs)


def fields(reply: httpx.Response) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """RateLimit-Policy and RateLimit as {policy name: parameters}."""
    policy = http_sf.parse(reply.headers["ratelimit-policy"].encode(), tltype="list")
    limit = http_sf.parse(reply.headers["ratelimit"].encode(), tltype="list")
    return {name: params for name, params in policy}, {name: params for name, params in limit}


def test_every_authenticated_answer_says_what_is_left(limited: InProcess) -> None:
    key = limited.new_key(f"t-{uuid.uuid4().hex[:10]}")
    listed = call(limited, "GET", "/v1/assets", key)
    assert listed.status_code == 200
    policy, limit = fields(listed)
    assert policy == {"reads": {"q": 5, "w": DAY}, "tenant-reads": {"q": 8, "w": DAY}}
    assert limit["reads"]["r"] == 4 and limit["tenant-reads"]["r"] == 7
    assert 0 < limit["reads"]["t"] <= DAY
    missing = call(limited, "GET", f"/v1/assets/{uuid.uuid4()}", key)  # an error after auth
    assert missing.status_code == 404 and fields(missing)[1]["reads"]["r"] == 3
    deleted = call(limited, "DELETE", f"/v1/assets/{uuid.uuid4()}", key)  # a write
    assert deleted.status_code == 404
    assert fields(deleted) == ({"writes": {"q": 3, "w": DAY}},
                               {"writes": {"r": 2, "t": fields(deleted)[1]["writes"]["t"]}})
    for path in ("/healthz", "/openapi.json"):  # not an authenticated answer
        assert "ratelimit" not in call(limited, "GET", path).headers
    assert "ratelimit" not in call(limited, "GET", "/v1/assets").headers  # no key: no budget


def test_openapi_documents_429_and_its_fields(limited: InProcess) -> None:
    doc = call(limited, "GET", "/openapi.json").json()
    for path, operations in doc["paths"].items():
        for operation in operations.values():
            refused = operation["responses"].get("429")
            assert (refused is not None) == path.startswith("/v1/"), path
            if refused:
                assert set(refused["headers"]) == {"RateLimit-Policy", "RateLimit",
                                                   "Retry-After"}
                assert refused["content"]["application/json"]["schema"]["$ref"].endswith(
                    "/Error")
    assert set(doc["components"]["headers"]) == {"RateLimit-Policy", "RateLimit", "Retry-After"}


def test_a_spent_budget_answers_429_and_signed_urls_still_work(limited: InProcess,
                                                              media: dict[str, Any]) -> None:
    key = limited.new_key(f"t-{uuid.uuid4().hex[:10]}")
    up = call(limited, "POST", "/v1/assets", key,
              files={"file": ("red.png", media["png"].read_bytes(), "image/png")})
    assert up.status_code == 201, up.text
    tenant = limited.services.keys.resolve(key).tenant_id
    deadline = time.monotonic() + 60
    while limited.services.assets.get_row(tenant, uuid.UUID(up.json()["id"]))[0].status != "READY":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    asset = call(limited, "GET", f"/v1/assets/{up.json()['id']}", key).json()
    for _ in range(4):
        assert call(limited, "GET", "/v1/assets", key).status_code == 200
    refused = call(limited, "GET", "/v1/assets", key)
    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == 429 and "reads budget of this key" in body["message"]
    _, limit = fields(refused)
    assert limit["reads"]["r"] == 0
    assert int(refused.headers["retry-after"]) == limit["reads"]["t"]
    assert 0 < limit["reads"]["t"] <= DAY
    # writes have a budget of their own; the signed file URL is outside every budget
    assert call(limited, "DELETE", f"/v1/assets/{uuid.uuid4()}", key).status_code == 404
    with limited.client() as anonymous:
        for _ in range(3):
            got = anonymous.get(asset["fileUrl"])
            assert got.status_code == 200 and got.content == media["png"].read_bytes()
            assert "ratelimit" not in got.headers


def test_a_tenants_keys_share_its_budget(limited: InProcess) -> None:
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    first, second = limited.new_key(tenant), limited.new_key(tenant)
    for key in (first, first, first, first, first, second, second, second):
        assert call(limited, "GET", "/v1/assets", key).status_code == 200
    refused = call(limited, "GET", "/v1/assets", second)  # its own budget has 2 left
    assert refused.status_code == 429
    assert "tenant-reads budget of this tenant" in refused.json()["message"]
    _, limit = fields(refused)
    assert limit["tenant-reads"]["r"] == 0 and limit["reads"]["r"] == 2  # given back
    other = limited.new_key(f"t-{uuid.uuid4().hex[:10]}")  # another tenant is untouched
    assert call(limited, "GET", "/v1/assets", other).status_code == 200


def test_wrong_keys_answer_401_then_429_for_that_address(limited: InProcess) -> None:
    guesser = "203.0.113.7"
    for i in range(120):  # the default budget: at least 100 a minute
        wrong = call(limited, "GET", "/v1/assets", f"msk_wrong{i}", guesser)
        assert wrong.status_code == 401, (i, wrong.text)
        assert fields(wrong)[1]["auth-failures"]["r"] == 119 - i
    refused = call(limited, "GET", "/v1/assets", "msk_wrong-again", guesser)
    assert refused.status_code == 429 and refused.json()["code"] == 429
    assert 0 < int(refused.headers["retry-after"]) <= 60
    assert fields(refused)[0] == {"auth-failures": {"q": 120, "w": 60}}
    key = limited.new_key(f"t-{uuid.uuid4().hex[:10]}")
    # a right guess cannot be told from a wrong one now; other addresses are not affected
    assert call(limited, "GET", "/v1/assets", key, guesser).status_code == 429
    assert call(limited, "GET", "/v1/assets", key, "198.51.100.9").status_code == 200
    v6 = "2001:db8:1:2::"  # an IPv6 host's whole /64 is one address
    for i in range(120):
        assert call(limited, "GET", "/v1/assets", "msk_x", f"{v6}{i:x}").status_code == 401
    assert call(limited, "GET", "/v1/assets", "msk_x", f"{v6}ffff").status_code == 429
    assert call(limited, "GET", "/v1/assets", "msk_x", "2001:db8:1:3::1").status_code == 401


def test_wrong_keys_are_slowed_down_without_holding_up_others(guarded: InProcess) -> None:
    key = guarded.new_key(f"t-{uuid.uuid4().hex[:10]}")
    assert "ratelimit" not in call(guarded, "GET", "/v1/assets", key).headers  # no budgets
    spent = []
    for i in range(4):  # waits 0.1, 0.2, 0.3, 0.4 s: each failure longer than the last
        started = time.monotonic()
        assert call(guarded, "GET", "/v1/assets", f"msk_no{i}", "192.0.2.1").status_code == 401
        spent.append(time.monotonic() - started)
    assert spent[0] >= 0.1 and spent[3] >= 0.4 and sum(spent) >= 1.0

    async def together() -> tuple[list[str], int, int]:
        order: list[str] = []

        async def tagged(tag: str, key: str, address: str) -> int:
            reply = await _send(guarded, "GET", "/v1/assets", key, address)
            order.append(tag)
            return reply.status_code

        slow, fast = await asyncio.gather(tagged("wrong", "msk_no5", "192.0.2.1"),
                                          tagged("right", key, "192.0.2.2"))
        return order, slow, fast

    order, slow, fast = guarded.run(together)
    assert (slow, fast) == (401, 200) and order == ["right", "wrong"]  # the loop kept going
    assert call(guarded, "GET", "/v1/assets", "msk_no6", "192.0.2.1").status_code == 429
    missing = call(guarded, "GET", "/v1/assets", None, "192.0.2.3")  # no key is not a guess
    assert missing.status_code == 401 and "ratelimit" not in missing.headers
