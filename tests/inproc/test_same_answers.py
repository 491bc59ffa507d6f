"""The app in-process answers exactly as the real server does: the same library served both ways,
the same requests (valid, invalid, unauthenticated), the same status, headers and body. This is
what lets the API behaviour tests run in-process."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediashelf.domain import AssetStatus, AssetType, now_ms
from tests.support.inproc import InProcess
from tests.support.library import insert, make_asset, tenant_id_of
from tests.support.server import Server


@dataclass
class Both:
    inproc: httpx.Client
    real: httpx.Client
    key: str
    ids: list[str]


@pytest.fixture(scope="module")
def both(server: Server) -> Iterator[Both]:
    """The session's real server, and the app in-process on the same library and URL base."""
    app = InProcess(server.data_dir, {**server.env, "MEDIASHELF_PUBLIC_URL": server.url},
                    backend=server.backend, run_worker=False).start()
    try:
        key = app.new_key(f"same-{uuid.uuid4().hex[:8]}")
        tid = tenant_id_of(app.services, key)
        base = now_ms() - 1_000_000
        made = [make_asset(tid, t, s, base + i * 500) for i, (t, s) in enumerate(
            (t, s) for t in AssetType for s in AssetStatus for _ in range(4))]
        insert(app.services, made)
        with app.client() as inproc, server.client() as real:
            yield Both(inproc, real, key, [str(a.id) for a in made])
    finally:
        app.stop()


values = st.one_of(
    st.sampled_from(["AUDIO", "IMAGE", "VIDEO", "IMAGE,VIDEO", "PROCESSING", "READY", "FAILED",
                     "READY,FAILED", "mine", "system", "1", "2", "3", "20", "100", "101", "0",
                     "-1", "1e2", "", "video", "IMAGE,"]),
    st.text(alphabet="AEIOUDGRSYV0123456789,-. ", max_size=8))
query = st.lists(st.tuples(st.sampled_from(["type", "status", "page", "pageSize", "scope", "x"]),
                           values), max_size=5)
credentials = st.sampled_from(["x-api-key", "Bearer", "ApiKey", "none", "unknown"])


def _request(client: httpx.Client, key: str, method: str, path: str,
             params: list[tuple[str, str]], how: str) -> httpx.Response:
    headers = {"none": {}, "unknown": {"x-api-key": "msk_unknown"},
               "x-api-key": {"x-api-key": key}}.get(how, {"Authorization": f"{how} {key}"})
    return client.request(method, path, params=params, headers=headers)


def _answer(res: httpx.Response) -> tuple[int, dict[str, str], Any]:
    """Status, headers (but the date) and body; a signed URL compared without its signature,
    which S3 makes anew for every request."""
    headers = {k: v for k, v in res.headers.items() if k != "date"}
    body = res.json() if res.headers.get("content-type") == "application/json" else res.content
    for item in body if isinstance(body, list) else [body] if isinstance(body, dict) else []:
        for field in ("fileUrl", "thumbnailUrl"):
            if item.get(field):
                item[field] = urlsplit(item[field])._replace(query="").geturl()
    if isinstance(body, dict) and isinstance(body.get("queue"), dict):
        # /readyz: read at the moment of asking; the disk's free bytes move with every write
        body["queue"].pop("oldestQueuedSeconds", None)
        assert isinstance(body.pop("freeBytes", 0), int)
    if isinstance(body, (list, dict)):
        headers.pop("content-length")  # the URLs' signatures differ in length on S3
    return res.status_code, headers, body


@settings(max_examples=30, deadline=None)
@given(params=query, how=credentials, target=st.sampled_from(["list", "one", "none", "junk"]))
def test_every_answer_is_the_real_servers(both: Both, params: list[tuple[str, str]], how: str,
                                          target: str) -> None:
    path = {"list": "/v1/assets", "one": f"/v1/assets/{both.ids[len(params) % len(both.ids)]}",
            "none": "/v1/assets/00000000-0000-7000-8000-000000000001",
            "junk": "/v1/assets/not-an-id"}[target]
    for method in ("GET", "DELETE") if target in ("none", "junk") else ("GET",):
        got = _answer(_request(both.inproc, both.key, method, path, params, how))
        assert got == _answer(_request(both.real, both.key, method, path, params, how))


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/nope"), ("PUT", "/v1/assets"),
    ("GET", "/files/assets/x/original"), ("OPTIONS", "/v1/assets"), ("GET", "/openapi.json"),
])
def test_other_routes_answer_the_same(both: Both, method: str, path: str) -> None:
    cors = {"Origin": "https://app.example", "Access-Control-Request-Method": "GET"}
    got = _answer(both.inproc.request(method, path, headers=cors))
    assert got == _answer(both.real.request(method, path, headers=cors))
