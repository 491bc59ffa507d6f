"""Budgets over real HTTP: two API processes on one library share every budget (it is not
doubled), and the SDK waits out a 429 as its Retry-After says, against the real limiter."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import http_sf
import httpx
import pytest
from PIL import Image
from tests.support.backends import Backend
from tests.support.server import Server

from mediashelf_client import Client

ENV = {"MEDIASHELF_RATE_LIMIT_READS": "20/day", "MEDIASHELF_RATE_LIMIT_WRITES": "2/second",
       "MEDIASHELF_AUTH_FAILURE_DELAY": "0",
       "MEDIASHELF_AUTH_FAILURE_LIMIT": "120/minute"}  # the default (the harness turns it off)


@pytest.fixture(scope="module")
def pair(backend: Backend, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[tuple[Server, Server]]:
    """Two API processes (two `serve --no-worker`) on one database."""
    data = tmp_path_factory.mktemp("limits-pair") / "lib"
    with backend.provision() as provided:
        env = {**provided, **ENV}
        one = Server(data, env, args=("--no-worker",), backend=backend.name).start()
        try:
            two = Server(data, env, args=("--no-worker",), backend=backend.name).start()
            try:
                yield one, two
            finally:
                two.stop()
        finally:
            one.stop()


def _remaining(reply: httpx.Response, policy: str) -> int:
    items = dict(http_sf.parse(reply.headers["ratelimit"].encode(), tltype="list"))
    return int(items[policy]["r"])


def test_two_processes_share_one_budget(pair: tuple[Server, Server]) -> None:
    key = pair[0].new_key(f"t-{uuid.uuid4().hex[:10]}")
    clients = [server.client(key) for server in pair]
    try:
        replies = [clients[i % 2].get("/v1/assets") for i in range(30)]
    finally:
        for c in clients:
            c.close()
    statuses = [r.status_code for r in replies]
    assert statuses == [200] * 20 + [429] * 10  # 20 in all, not 20 each
    # each process counts what the other spent: the remaining budget falls by one each time
    assert [_remaining(r, "reads") for r in replies[:20]] == list(range(19, -1, -1))
    assert all(int(r.headers["retry-after"]) >= 1 for r in replies[20:])


def test_two_processes_share_the_wrong_key_budget(pair: tuple[Server, Server]) -> None:
    # From loopback, which `serve` trusts as a proxy (uvicorn's FORWARDED_ALLOW_IPS default),
    # X-Forwarded-For names the client: 120 wrong keys a minute from it, between both servers.
    guesser = {"x-forwarded-for": "203.0.113.50"}
    clients = [server.client() for server in pair]
    try:
        statuses = [clients[i % 2].get("/v1/assets", headers={"x-api-key": f"msk_no{i}",
                                                              **guesser}).status_code
                    for i in range(122)]
    finally:
        for c in clients:
            c.close()
    assert statuses == [401] * 120 + [429] * 2
    key = pair[0].new_key(f"t-{uuid.uuid4().hex[:10]}")
    assert httpx.get(pair[1].url + "/v1/assets",
                     headers={"x-api-key": key, **guesser}).status_code == 429
    assert httpx.get(pair[1].url + "/v1/assets", headers={"x-api-key": key}).status_code == 200


def test_the_sdk_waits_out_a_429(pair: tuple[Server, Server], tmp_path: Path) -> None:
    key = pair[0].new_key(f"t-{uuid.uuid4().hex[:10]}")
    seen: list[tuple[float, int, str]] = []

    class Recording(httpx.HTTPTransport):
        """The real transport, noting when each answer came and its status."""

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            reply = super().handle_request(request)
            seen.append((time.monotonic(), reply.status_code,
                         reply.headers.get("retry-after", "")))
            return reply

    files = []
    for i in range(5):  # different bytes, so no upload is a duplicate of another
        path = tmp_path / f"dot{i}.png"
        Image.new("RGB", (4, 4), (i * 40, 10, 200)).save(path)
        files.append(path)
    with Client(pair[0].url, api_key=key, transport=Recording()) as ms:
        made = [ms.upload(path) for path in files]  # 2 writes a second
    assert len({a.id for a in made}) == 5
    refused = [i for i, (_, status, _) in enumerate(seen) if status == 429]
    assert refused and [s for _, s, _ in seen].count(201) == 5
    for i in refused:  # the next try came no sooner than Retry-After said
        at, _, after = seen[i]
        assert seen[i + 1][0] - at >= int(after) - 0.05
