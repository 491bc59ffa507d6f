"""The tus 1.0 protocol on /v1/uploads, over raw HTTP: core, creation, creation-with-upload,
termination, expiration headers, checksum; errors in our shape; tenants apart."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.inproc import Api
from tests.support.server import wait_for
from tests.support.tus import CHUNK, TUS, create, metadata, offset, send


def _error(res: httpx.Response, status: int) -> None:
    assert res.status_code == status, res.text
    assert res.headers["tus-resumable"] == "1.0.0"
    if res.request.method != "HEAD":
        body = res.json()
        assert body["code"] == status and isinstance(body["message"], str) and body["message"]


def test_options_says_what_the_server_supports(client: httpx.Client) -> None:
    res = client.options("/v1/uploads")
    assert res.status_code == 204
    assert res.headers["tus-version"] == "1.0.0" and res.headers["tus-resumable"] == "1.0.0"
    assert set(res.headers["tus-extension"].split(",")) >= {
        "creation", "creation-with-upload", "termination", "expiration", "checksum"}
    assert "sha256" in res.headers["tus-checksum-algorithm"].split(",")
    assert int(res.headers["tus-max-size"]) == 2 * 10**9  # the largest type's limit: VIDEO


def test_chunks_make_an_asset_that_gets_ready(client: httpx.Client,
                                              media: dict[str, Path]) -> None:
    data = media["mp4"].read_bytes()
    url = create(client, len(data), filename="clip été.mp4", name="my clip")
    head = client.head(url, headers=TUS)
    assert head.headers["upload-offset"] == "0" and head.headers["upload-length"] == str(len(data))
    assert head.headers["upload-metadata"] == metadata(filename="clip été.mp4", name="my clip")
    assert "upload-expires" in head.headers and head.headers["cache-control"] == "no-store"
    third = len(data) // 3
    for at in (0, third, 2 * third):
        end = len(data) if at == 2 * third else at + third
        res = send(client, url, data[at:end], at)
        assert res.status_code == 204, res.text
        assert res.headers["upload-offset"] == str(end)
    asset_id = res.headers["x-asset-id"]
    assert client.head(url, headers=TUS).headers["x-asset-id"] == asset_id
    ready = wait_for(client, asset_id)
    assert ready["status"] == "READY", ready["failureReason"]
    assert ready["name"] == "my clip" and ready["type"] == "VIDEO"
    assert ready["sha256"] == hashlib.sha256(data).hexdigest()
    assert ready["sizeBytes"] == len(data)
    _error(send(client, url, b"x", len(data)), 409)  # finished: nothing more goes in


def test_creation_with_upload_and_checksums(client: httpx.Client,
                                            media: dict[str, Path]) -> None:
    data = media["png"].read_bytes()
    half = len(data) // 2
    res = client.post("/v1/uploads", content=data[:half], headers={
        **CHUNK, "Upload-Length": str(len(data)), "Upload-Metadata": metadata(filename="a.png")})
    assert res.status_code == 201 and res.headers["upload-offset"] == str(half)
    url = res.headers["location"]
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    _error(send(client, url, data[half:], half, **{"Upload-Checksum": f"sha256 {wrong}"}), 460)
    assert offset(client, url) == half  # the refused chunk added nothing
    _error(send(client, url, data[half:], half, **{"Upload-Checksum": "crc99 AAAA"}), 400)
    odd = send(client, url, data[half:], half, **{"Upload-Checksum": "Crc-Ü AAAA".encode()})
    _error(odd, 400)  # quoted as sent, not as its bytes read one by one ('Crc-Ã\x9c')
    assert odd.json()["message"].startswith("unsupported checksum algorithm 'Crc-Ü': use ")
    right = base64.b64encode(hashlib.sha256(data[half:]).digest()).decode()
    res = send(client, url, data[half:], half, **{"Upload-Checksum": f"sha256 {right}"})
    assert res.status_code == 204 and "x-asset-id" in res.headers
    assert wait_for(client, res.headers["x-asset-id"])["status"] == "READY"


def test_protocol_errors(client: httpx.Client, media: dict[str, Path]) -> None:
    data = media["png"].read_bytes()
    url = create(client, len(data), filename="a.png")
    _error(send(client, url, data[:10], 5), 409)  # the offset is 0
    res = send(client, url, data[:10], 5)
    assert res.headers["upload-offset"] == "0"
    _error(client.patch(url, content=data, headers={"Upload-Offset": "0",
                                                    "Content-Type": CHUNK["Content-Type"]}), 412)
    _error(client.patch(url, content=data, headers={**TUS, "Upload-Offset": "0",
                                                    "Content-Type": "image/png"}), 415)
    _error(client.patch(url, content=data, headers={**CHUNK}), 400)  # no Upload-Offset
    _error(client.patch(url, content=data, headers={**CHUNK, "Upload-Offset": "-1"}), 400)
    _error(send(client, url, data + b"more", 0), 413)  # past Upload-Length
    assert offset(client, url) == 0
    _error(client.head("/v1/uploads/0190b2c4-0000-7000-8000-000000000000", headers=TUS), 404)
    _error(client.head("/v1/uploads/not-an-id", headers=TUS), 404)
    _error(client.post("/v1/uploads", headers=TUS), 400)  # no Upload-Length
    _error(client.post("/v1/uploads", headers={**TUS, "Upload-Length": "0"}), 400)
    _error(client.post("/v1/uploads", headers={**TUS, "Upload-Length": "10",
                                               "Upload-Metadata": "filename ***"}), 400)
    _error(client.post("/v1/uploads", headers={**TUS, "Upload-Length": "10",
                                               "Upload-Defer-Length": "1"}), 400)
    _error(client.post("/v1/uploads", headers={"Upload-Length": "10"}), 412)


def test_the_size_limit_is_checked_on_upload_length(client: httpx.Client) -> None:
    too_big = {"IMAGE": 50 * 10**6 + 1, "AUDIO": 200 * 10**6 + 1, "VIDEO": 2 * 10**9 + 1}
    for kind, length in too_big.items():
        res = client.post("/v1/uploads", headers={
            **TUS, "Upload-Length": str(length),
            "Upload-Metadata": metadata(filename="x", type=kind)})
        _error(res, 413)
    # no declared type: the first bytes tell it, and the image limit applies then
    url = create(client, 60 * 10**6, filename="big.png")
    png_head = b"\x89PNG\r\n\x1a\n" + b"\0" * 56
    _error(send(client, url, png_head, 0), 413)


def test_termination(client: httpx.Client, media: dict[str, Path]) -> None:
    data = media["png"].read_bytes()
    url = create(client, len(data), filename="a.png")
    assert send(client, url, data[:100], 0).status_code == 204
    res = client.delete(url, headers=TUS)
    assert res.status_code == 204 and res.headers["tus-resumable"] == "1.0.0"
    _error(client.head(url, headers=TUS), 404)
    _error(send(client, url, data[100:], 100), 404)
    _error(client.delete(url, headers=TUS), 404)


def test_tenants_cannot_touch_each_others_uploads(api: Api, client: httpx.Client,
                                                  media: dict[str, Path]) -> None:
    data = media["png"].read_bytes()
    url = create(client, len(data), filename="a.png")
    assert send(client, url, data[:100], 0).status_code == 204
    with api.client(api.new_key("tus-other")) as other:
        _error(other.head(url, headers=TUS), 404)
        _error(send(other, url, data[100:], 100), 404)
        _error(other.delete(url, headers=TUS), 404)
    with api.client() as anonymous:
        _error(anonymous.head(url, headers=TUS), 401)
        _error(anonymous.post("/v1/uploads", headers={**TUS, "Upload-Length": "5"}), 401)
    assert offset(client, url) == 100


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(length=st.text(max_size=30), meta=st.text(max_size=200),
       at=st.text(max_size=30), checksum=st.text(max_size=60))
def test_hostile_headers_never_crash(client: httpx.Client, length: str, meta: str, at: str,
                                     checksum: str) -> None:
    def ascii_(text: str) -> bytes:  # what an HTTP header can carry
        return text.encode("latin-1", "replace").replace(b"\r", b" ").replace(b"\n", b" ") \
            .replace(b"\0", b" ").strip()

    res = client.post("/v1/uploads", headers={**TUS, "Upload-Length": ascii_(length),
                                              "Upload-Metadata": ascii_(meta)})
    assert res.status_code in (201, 400, 413), res.text
    url = res.headers["location"] if res.status_code == 201 else "/v1/uploads/x"
    res = client.patch(url, content=b"abc", headers={
        **CHUNK, "Upload-Offset": ascii_(at), "Upload-Checksum": ascii_(checksum)})
    assert res.status_code in (204, 400, 404, 409, 460), res.text
    assert res.status_code == 204 or res.json()["code"] == res.status_code
