"""Retries, backoff, connection errors and Argil-shaped replies, on a scripted loopback server."""

from __future__ import annotations

import asyncio
import time

import pytest

from mediashelf_client import (
    APIConnectionError,
    AsyncClient,
    Client,
    RateLimitError,
    ServerError,
    WaitTimeoutError,
)
from tests.sdk.conftest import Scripted
from tests.support.server import free_port

ARGIL_ASSET = {"id": "6f1c2a4e-0000-4000-8000-000000000001", "name": "broll", "type": "VIDEO",
               "status": "READY", "fileUrl": "https://cdn.example/v.mp4", "thumbnailUrl": None,
               "createdAt": "2025-03-01T10:00:00.000Z"}
PAGE_HEADERS = {"X-Total-Count": "1", "X-Page": "1", "X-Page-Size": "20", "X-Total-Pages": "1"}
UNAVAILABLE = (503, {}, {"code": 503, "message": "database unavailable"})


def test_get_is_retried_on_5xx_until_it_succeeds(scripted: Scripted) -> None:
    scripted.replies = [UNAVAILABLE, (502, {}, b"<html>bad gateway</html>"),
                        (200, PAGE_HEADERS, [ARGIL_ASSET])]
    with Client(scripted.url + "/v1", "k", max_retries=3, retry_backoff=0.01) as c:
        page = c.list(type="VIDEO")
    assert [a.id for a in page] == [ARGIL_ASSET["id"]]
    assert [(m, p.split("?")[0]) for m, p, _ in scripted.requests] == [("GET", "/v1/assets")] * 3
    assert all(h["x-api-key"] == "k" for _, _, h in scripted.requests)


def test_retries_run_out_with_the_servers_message(scripted: Scripted) -> None:
    scripted.replies = [UNAVAILABLE] * 3
    with Client(scripted.url, "k", max_retries=2, retry_backoff=0.01) as c, \
            pytest.raises(ServerError) as err:
        c.get("x")
    assert (err.value.code, err.value.message) == (503, "database unavailable")
    assert len(scripted.requests) == 3


def test_posts_are_retried_under_one_idempotency_key(scripted: Scripted) -> None:
    scripted.replies = [UNAVAILABLE, (409, {}, {"code": 409, "message": "still running"}),
                        (201, {}, {**ARGIL_ASSET, "status": "PROCESSING"})]
    with Client(scripted.url, "k", retry_backoff=0.01) as c:
        assert c.import_url("https://example.com/v.mp4", "v", "VIDEO").is_processing
        keys = [headers.get("Idempotency-Key") for _, _, headers in scripted.requests]
        assert len(keys) == 3 and keys[0] and len(set(keys)) == 1  # one key, every retry
        scripted.replies = [(429, {"retry-after": "0"}, {"code": 429, "message": "slow down"}),
                            (201, {}, {**ARGIL_ASSET, "status": "PROCESSING"})]
        assert c.import_url("https://example.com/v.mp4", "v", "VIDEO").is_processing
        assert len(scripted.requests) == 5
        assert scripted.requests[3][2]["Idempotency-Key"] not in keys  # a new call, a new key
        scripted.replies = [UNAVAILABLE] * 4
        with pytest.raises(ServerError):
            c.import_url("https://example.com/v.mp4", "v", "VIDEO")
        scripted.replies = [(429, {}, {"code": 429, "message": "slow down"})] * 4
        with pytest.raises(RateLimitError) as err:
            c.list()
        assert err.value.message == "slow down"


def test_argil_shaped_assets_parse_without_our_extras(scripted: Scripted) -> None:
    scripted.replies = [(200, PAGE_HEADERS, [ARGIL_ASSET]), (200, {}, [ARGIL_ASSET])]
    with Client(scripted.url, "k") as c:
        asset = c.list().items[0]
        bare = c.list(page_size=5)
    assert asset.name == "broll" and asset.file_url == ARGIL_ASSET["fileUrl"]
    assert asset.size_bytes is None and asset.width is None and not asset.is_system
    assert (bare.total_count, bare.total_pages, bare.page_size) == (None, None, 5)
    assert not bare.has_next  # a short page ends the walk when a server sends no totals


def test_connection_refused_is_a_connection_error() -> None:
    with Client(f"http://127.0.0.1:{free_port()}", "k", max_retries=1,
                retry_backoff=0.01) as c, pytest.raises(APIConnectionError) as err:
        c.get("x")
    assert isinstance(err.value, ConnectionError) and "cannot reach" in err.value.message


def test_wait_until_ready_backs_off_and_times_out(scripted: Scripted) -> None:
    scripted.fallback = lambda method, path: (200, {}, {**ARGIL_ASSET, "status": "PROCESSING"})
    started = time.monotonic()
    with Client(scripted.url, "k") as c, pytest.raises(WaitTimeoutError) as err:
        c.wait_until_ready(ARGIL_ASSET["id"], timeout=1.0, poll_interval=0.1)
    assert 0.9 < time.monotonic() - started < 3
    assert isinstance(err.value, TimeoutError) and "still PROCESSING" in err.value.message
    assert 3 <= len(scripted.requests) <= 8  # intervals grow: 0.1, 0.15, 0.225 …


def test_async_client_retries_the_same_way(scripted: Scripted) -> None:
    scripted.replies = [UNAVAILABLE, (200, {}, ARGIL_ASSET)]

    async def go() -> str:
        async with AsyncClient(scripted.url, "k", retry_backoff=0.01) as c:
            return (await c.get(ARGIL_ASSET["id"])).id

    assert asyncio.run(go()) == ARGIL_ASSET["id"]
    assert len(scripted.requests) == 2


def test_non_ascii_digits_in_headers_are_not_numbers(scripted: Scripted) -> None:
    # "²".isdigit() is true but int("²") raises: such headers are ignored, never a crash
    scripted.replies = [(429, {"retry-after": "²"}, {"code": 429, "message": "slow down"}),
                        (200, {**PAGE_HEADERS, "X-Total-Count": "²"}, [ARGIL_ASSET])]
    with Client(scripted.url, "k", max_retries=2, retry_backoff=0.01) as c:
        page = c.list()
    assert [a.id for a in page] == [ARGIL_ASSET["id"]]
    assert len(scripted.requests) == 2


def test_find_existing_asks_in_batches_of_50(scripted: Scripted) -> None:
    import hashlib
    from urllib.parse import parse_qs, urlsplit

    digests = [hashlib.sha256(bytes([i])).hexdigest() for i in range(120)]
    held = {**ARGIL_ASSET, "sha256": digests[7]}
    scripted.fallback = lambda method, path: (200, PAGE_HEADERS, [held] if digests[7] in path
                                              else [])
    with Client(scripted.url, "k") as c:
        found = c.find_existing([d.upper() for d in digests])
    assert list(found) == [digests[7]] and found[digests[7]].id == ARGIL_ASSET["id"]
    asked = [parse_qs(urlsplit(path).query) for _, path, _ in scripted.requests]
    assert [len(q["sha256"][0].split(",")) for q in asked] == [50, 50, 20]
    assert all(q["status"] == ["PROCESSING,READY"] and q["scope"] == ["mine"] for q in asked)
