"""Issue 15 whole: a tus upload of bytes the tenant holds ends as that asset (one copy of the
bytes, on local files and in the S3 bucket), and tus creation honours Idempotency-Key."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediashelf.db.schema import uploads
from tests.inproc.test_dedupe import fresh_png, originals
from tests.inproc.test_dedupe import send as post_asset
from tests.support.inproc import Api
from tests.support.multipart import assert_error
from tests.support.server import wait_for
from tests.support.tus import CHUNK, TUS, create, metadata, noise_png, send

MiB = 2**20


def tus_upload(client: httpx.Client, data: bytes, chunk: int, **meta: str) -> httpx.Response:
    """Create and send the whole file; the last PATCH's answer."""
    url = create(client, len(data), **meta)
    for at in range(0, len(data), chunk):
        res = send(client, url, data[at:at + chunk], at)
        assert res.status_code == 204, res.text
    return res


def open_multipart(api: Api) -> list[object]:
    storage = api.services.storage
    if not hasattr(storage, "bucket"):
        return []
    return list(storage.client.list_multipart_uploads(Bucket=storage.bucket).get("Uploads", []))


def test_a_tus_upload_of_held_bytes_ends_as_that_asset(api: Api, client: httpx.Client,
                                                       tmp_path: Path) -> None:
    # above 5 MiB, in two chunks: on S3 a real multipart upload plus a sub-part tail object
    data = noise_png(tmp_path / "big.png", 1400).read_bytes()
    assert len(data) > 5 * MiB
    first = post_asset(client, tmp_path / "big.png", name="first")
    assert first.status_code == 201, first.text
    held = first.json()["id"]
    before = originals(api)

    last = tus_upload(client, data, 5 * MiB + 123, filename="again.png", name="again")
    assert last.headers["x-asset-id"] == held
    assert last.headers["x-duplicate-of"] == held
    url = last.request.url.path
    head = client.head(url, headers=TUS)
    assert head.headers["x-asset-id"] == held and head.headers["x-duplicate-of"] == held
    assert originals(api) == before  # one copy of the bytes
    upload_id = url.rsplit("/", 1)[1]
    assert not list(api.services.storage.list_keys(f"assets/{upload_id}/"))
    assert open_multipart(api) == []
    assert client.get(f"/v1/assets/{upload_id}").status_code == 404
    listed = client.get("/v1/assets", params={"status": "PROCESSING,READY", "scope": "mine"})
    assert [a["id"] for a in listed.json()] == [held]
    assert wait_for(client, held)["name"] == "first"  # the asset as it was, not renamed


def test_dedupe_false_in_metadata_keeps_two(api: Api, client: httpx.Client,
                                            tmp_path: Path) -> None:
    path = fresh_png(tmp_path)
    data = path.read_bytes()
    one = tus_upload(client, data, len(data), filename="a.png")
    two = tus_upload(client, data, 7, filename="a.png", dedupe="false")
    assert "x-duplicate-of" not in one.headers and "x-duplicate-of" not in two.headers
    ids = {one.headers["x-asset-id"], two.headers["x-asset-id"]}
    assert len(ids) == 2 and ids <= originals(api)
    # the default is dedupe: a third upload finds the oldest
    three = tus_upload(client, data, len(data), filename="a.png", dedupe="true")
    assert three.headers["x-duplicate-of"] == one.headers["x-asset-id"]
    res = client.post("/v1/uploads", headers={**TUS, "Upload-Length": "5",
                                              "Upload-Metadata": metadata(dedupe="maybe")})
    assert_error(res, 400, "dedupe")


def _create(client: httpx.Client, key: str, length: int, body: bytes | None = None,
            **meta: str) -> httpx.Response:
    headers = {**(CHUNK if body is not None else TUS), "Idempotency-Key": key,
               "Upload-Length": str(length), "Upload-Metadata": metadata(**meta)}
    return client.post("/v1/uploads", headers=headers, content=body)


def _uploads_of(api: Api, client: httpx.Client) -> int:
    tenant = api.services.keys.resolve(client.headers["x-api-key"]).tenant_id
    return int(api.services.db.reading(lambda conn: conn.execute(
        sa.select(sa.func.count()).select_from(uploads).where(uploads.c.tenant_id == tenant)
    ).scalar_one()))


def test_tus_creation_replays_under_its_key(api: Api, client: httpx.Client,
                                            tmp_path: Path) -> None:
    key = str(uuid.uuid4())
    first = _create(client, key, 1000, filename="a.png")
    assert first.status_code == 201 and first.content == b""
    assert "content-type" not in first.headers and "idempotent-replayed" not in first.headers
    count = _uploads_of(api, client)
    again = _create(client, key, 1000, filename="a.png")
    assert again.status_code == 201 and again.content == b""
    assert "content-type" not in again.headers  # faithful: tus's 201 has no body
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["tus-resumable"] == "1.0.0"
    for name in ("location", "upload-offset", "upload-expires"):
        assert again.headers[name] == first.headers[name]
    assert _uploads_of(api, client) == count  # no second upload
    for other in (_create(client, key, 1001, filename="a.png"),
                  _create(client, key, 1000, filename="b.png"),
                  _create(client, key, 1000, b"\x89PNG", filename="a.png")):
        assert_error(other, 422, "Idempotency-Key")
        assert other.headers["tus-resumable"] == "1.0.0"
    assert _uploads_of(api, client) == count


def test_creation_with_upload_replays_and_its_body_counts(api: Api, client: httpx.Client,
                                                          tmp_path: Path) -> None:
    data = fresh_png(tmp_path).read_bytes()
    key = str(uuid.uuid4())
    first = _create(client, key, len(data), data, filename="whole.png")
    assert first.status_code == 201, first.text
    asset_id = first.headers["x-asset-id"]
    assert wait_for(client, asset_id)["sha256"] == hashlib.sha256(data).hexdigest()
    count = _uploads_of(api, client)
    again = _create(client, key, len(data), data, filename="whole.png")
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.headers["x-asset-id"] == asset_id and again.content == b""
    changed = bytearray(data)
    changed[-1] ^= 1
    assert_error(_create(client, key, len(data), bytes(changed), filename="whole.png"), 422,
                 "Idempotency-Key")
    assert _uploads_of(api, client) == count
    # a refused first answer (a body larger than Upload-Length) is kept and replayed too
    bad = str(uuid.uuid4())
    refused = _create(client, bad, 4, b"\x89PNG\r\n", filename="x.png")
    assert_error(refused, 413, "Upload-Length")
    replay = _create(client, bad, 4, b"\x89PNG\r\n", filename="x.png")
    assert replay.status_code == 413 and replay.content == refused.content
    assert replay.headers["content-type"] == "application/json"
    assert _uploads_of(api, client) == count


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(name=st.text(min_size=1, max_size=40).filter(lambda s: s.strip() and "\x00" not in s),
       length=st.integers(min_value=1, max_value=10**6))
def test_any_creation_replays_as_it_was(client: httpx.Client, name: str, length: int) -> None:
    key = str(uuid.uuid4())
    first = _create(client, key, length, name=name, filename="f.bin")
    again = _create(client, key, length, name=name, filename="f.bin")
    assert again.status_code == first.status_code
    assert again.content == first.content
    assert again.headers.get("content-type") == first.headers.get("content-type")
    assert again.headers.get("location") == first.headers.get("location")


def test_openapi_shows_the_key_on_both_creation_routes(api: Api) -> None:
    with api.client() as anonymous:
        doc = anonymous.get("/openapi.json").json()
    for path in ("/v1/assets", "/v1/uploads"):
        create = doc["paths"][path]["post"]
        header = next(p for p in create["parameters"] if p["name"] == "Idempotency-Key")
        assert header["in"] == "header" and not header["required"]
        for status in ("409", "422"):
            assert create["responses"][status]["content"]["application/json"]["schema"][
                "$ref"].endswith("/Error")
    tus = doc["paths"]["/v1/uploads"]["post"]["responses"]["201"]["headers"]
    assert {"Location", "Idempotent-Replayed", "X-Duplicate-Of"} <= set(tus)
    patch = doc["paths"]["/v1/uploads/{upload_id}"]["patch"]["responses"]["204"]["headers"]
    assert "X-Duplicate-Of" in patch
