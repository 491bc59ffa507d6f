"""The SDK's resumable uploads against the real server: files above the threshold go with tus,
a connection dropped before or after a chunk reached the server costs nothing, progress runs
across resumes, and a new client resumes from the URL an earlier, stopped one left."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
import pytest

from mediashelf_client import APIConnectionError, Client, Resume, ResumeStore
from tests.support.server import Server
from tests.support.tus import noise_png

KiB = 2**10


class Flaky(httpx.HTTPTransport):
    """The network between client and server: PATCH number n in `lost_reply` reaches the
    server but its answer is lost; in `refused` it never leaves; `down_after` ends it all."""

    def __init__(self, lost_reply: set[int], refused: set[int], down_after: int = 10**9) -> None:
        super().__init__()
        self.lost_reply, self.refused, self.down_after = lost_reply, refused, down_after
        self.patches = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            self.patches += 1
            if self.patches in self.refused or self.patches > self.down_after:
                raise httpx.ConnectError("connection refused", request=request)
            if self.patches in self.lost_reply:
                super().handle_request(request).close()
                raise httpx.ReadError("connection reset by peer", request=request)
        return super().handle_request(request)


def _file(tmp_path: Path) -> tuple[Path, bytes]:
    data = b"\x89PNG\r\n\x1a\n" + os.urandom(300 * KiB)  # not a decodable PNG: FAILED is fine
    path = tmp_path / "big.png"
    path.write_bytes(data)
    return path, data


def test_upload_resumes_after_dropped_connections(server: Server, api_key: str,
                                                  tmp_path: Path) -> None:
    path, data = _file(tmp_path)
    seen: list[int] = []
    net = Flaky(lost_reply={2, 5}, refused={3})
    with Client(server.url, api_key, transport=net, tus_threshold=100 * KiB,
                tus_chunk_size=64 * KiB, retry_backoff=0.01) as ms:
        asset = ms.upload(path, name="resumed", progress=lambda sent, _total: seen.append(sent))
    assert net.patches == 6  # five chunks, one sent twice (refused); lost replies had landed
    assert asset.name == "resumed" and asset.size_bytes == len(data)
    assert asset.raw["sha256"] == hashlib.sha256(data).hexdigest()
    assert seen[-1] == len(data) and max(seen) == len(data)


def test_a_new_client_resumes_where_a_stopped_one_left(server: Server, api_key: str,
                                                       tmp_path: Path) -> None:
    path, data = _file(tmp_path)
    store = ResumeStore(tmp_path / "cache" / "uploads.json")
    key = store.key(path, server.url)
    dead = Flaky(lost_reply=set(), refused=set(), down_after=2)
    with Client(server.url, api_key, transport=dead, tus_threshold=100 * KiB,
                tus_chunk_size=64 * KiB, retry_backoff=0.001) as ms, \
            pytest.raises(APIConnectionError):
        ms.upload(path, resume=Resume(store.get(key), lambda url: store.put(key, url)))
    url = store.get(key)
    assert url is not None and url.startswith("/v1/uploads/")
    seen: list[int] = []
    counting = Flaky(set(), set())
    with Client(server.url, api_key, transport=counting, tus_threshold=100 * KiB,
                tus_chunk_size=64 * KiB) as ms:
        asset = ms.upload(path, progress=lambda sent, _total: seen.append(sent),
                          resume=Resume(url, lambda u: store.put(key, u)))
    assert seen[0] == 128 * KiB  # the two chunks that got through are not sent again
    assert counting.patches == 3
    assert asset.raw["sha256"] == hashlib.sha256(data).hexdigest()
    assert store.get(key) is None  # done: nothing left to resume


def test_small_files_stay_multipart(server: Server, api_key: str, tmp_path: Path) -> None:
    path, _ = _file(tmp_path)
    net = Flaky(set(), set())
    with Client(server.url, api_key, transport=net) as ms:  # the 16 MB default threshold
        ms.upload(path)
    assert net.patches == 0


class Recording(httpx.HTTPTransport):
    """Keeps the headers of each tus creation sent."""

    def __init__(self) -> None:
        super().__init__()
        self.creations: list[httpx.Headers] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/v1/uploads":
            self.creations.append(request.headers)
        return super().handle_request(request)


def test_tus_upload_is_keyed_and_deduplicated(server: Server, api_key: str,
                                              tmp_path: Path) -> None:
    path = noise_png(tmp_path / "n.png", 200)  # a real PNG: its asset stays live
    with Client(server.url, api_key, tus_threshold=0) as plain:
        held = plain.upload(path)  # multipart
    net = Recording()
    with Client(server.url, api_key, transport=net, tus_threshold=10 * KiB,
                tus_chunk_size=64 * KiB) as ms:
        again = ms.upload(path)
        other = ms.upload(path, dedupe=False)
    assert again.id == held.id and other.id != held.id
    keys = [h.get("idempotency-key") for h in net.creations]
    assert len(keys) == 2 and all(keys) and keys[0] != keys[1]
    assert "dedupe" in net.creations[1]["upload-metadata"]
