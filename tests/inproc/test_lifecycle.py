"""Upload → PROCESSING → READY → download without a key → Range → delete → 404, per media type."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from mediashelf import priority
from tests.support import samples
from tests.support.inproc import Api, InProcess
from tests.support.server import upload, wait_for


@pytest.mark.parametrize(("api", "kind", "type_", "mime"), [
    ("inproc", "png", "IMAGE", "image/png"), ("inproc", "jpeg", "IMAGE", "image/jpeg"),
    ("inproc", "mp4", "VIDEO", "video/mp4"), ("inproc", "mp3", "AUDIO", "audio/mpeg"),
    ("http", "mp4", "VIDEO", "video/mp4"),  # the smoke over the real server
], indirect=["api"])
def test_full_lifecycle(api: Api, client: httpx.Client, media: dict[str, Path], kind: str,
                        type_: str, mime: str) -> None:
    path = media[kind]
    created = upload(client, path, name=f"my {kind}")
    assert created["status"] == "PROCESSING"
    assert created["fileUrl"] is None and created["thumbnailUrl"] is None
    assert created["type"] == type_ and created["name"] == f"my {kind}"

    ready = wait_for(client, created["id"])
    assert ready["status"] == "READY", ready["failureReason"]
    assert ready["mimeType"] == mime
    assert ready["sizeBytes"] == path.stat().st_size
    assert ready["createdAt"] == created["createdAt"]

    data = path.read_bytes()
    with api.client() as anonymous:  # signed URLs work without the API key
        got = anonymous.get(ready["fileUrl"])
        assert got.status_code == 200 and got.content == data
        assert got.headers["content-type"].startswith(mime)
        assert got.headers.get("etag")
        part = anonymous.get(ready["fileUrl"], headers={"Range": "bytes=10-29"})
        assert part.status_code == 206
        assert part.content == data[10:30]
        assert part.headers["content-range"] == f"bytes 10-29/{len(data)}"
        thumb = anonymous.get(ready["thumbnailUrl"])
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp"

        listed = client.get("/v1/assets", params={"type": type_}).json()
        assert created["id"] in [a["id"] for a in listed]

        gone = client.delete(f"/v1/assets/{created['id']}")
        assert gone.status_code == 200 and gone.json() == {"message": "Asset deleted"}
        assert client.get(f"/v1/assets/{created['id']}").status_code == 404
        assert client.delete(f"/v1/assets/{created['id']}").status_code == 404
        assert created["id"] not in [a["id"] for a in client.get("/v1/assets").json()]
        # S3 answers 403 for a missing key to callers that may not list the bucket
        gone_codes = {404} if api.backend == "sqlite-local" else {403, 404}
        assert anonymous.get(ready["fileUrl"]).status_code in gone_codes
        assert anonymous.get(ready["thumbnailUrl"]).status_code in gone_codes


@pytest.mark.parametrize("damage", ["garbage", "zeros"])
def test_corrupt_file_fails_with_reason_and_server_stays_healthy(
        client: httpx.Client, media: dict[str, Path], tmp_path: Path, damage: str) -> None:
    path = media["corrupt"]
    if damage == "zeros":  # a whole header, then the pixel data cut off and padded
        path = tmp_path / "cut.png"
        path.write_bytes(samples.png_bytes()[:60] + b"\0" * 200)
    created = upload(client, path)
    done = wait_for(client, created["id"])
    assert done["status"] == "FAILED"
    assert done["failureReason"].startswith("the image is corrupt")
    assert done["fileUrl"] is None and done["thumbnailUrl"] is None
    assert client.get("/healthz").status_code == 200
    failed = client.get("/v1/assets", params={"status": "FAILED"}).json()
    assert [a["id"] for a in failed] == [created["id"]]


def test_declared_type_must_match_content(client: httpx.Client, media: dict[str, Path]) -> None:
    created = upload(client, media["png"], type="VIDEO")
    assert created["type"] == "VIDEO"
    done = wait_for(client, created["id"])
    assert done["status"] == "FAILED"
    assert "declared VIDEO" in done["failureReason"]


def test_tampered_or_expired_signature_is_refused(api: Api, client: httpx.Client,
                                                  media: dict[str, Path]) -> None:
    if api.backend != "sqlite-local":
        pytest.skip("this reads local URLs; tests/contract/test_storage.py bends S3 ones")
    ready = wait_for(client, upload(client, media["png"])["id"])
    url = ready["fileUrl"]
    with api.client() as anonymous:
        assert anonymous.get(url).status_code == 200  # untouched, it works
        assert anonymous.get(url.replace("sig=", "sig=0")).status_code == 403
        assert anonymous.get(url.replace("ct=image%2Fpng", "ct=text%2Fhtml")).status_code == 403
        exp = url.split("exp=")[1].split("&")[0]
        assert anonymous.get(url.replace(f"exp={exp}", "exp=1000")).status_code == 403
        other = url.replace(ready["id"], "00000000-0000-7000-8000-000000000001")
        assert anonymous.get(other).status_code == 403


def test_listing_shows_each_asset_as_get_does(client: httpx.Client,
                                              media: dict[str, Path]) -> None:
    """Listings are built from remembered pieces; what they show is still every asset's state
    of the moment, field for field, before and after processing and after a delete."""

    def same(listed: dict[str, Any], got: dict[str, Any]) -> None:
        for field in ("fileUrl", "thumbnailUrl"):  # S3 signs each URL anew: compare the object
            assert (listed[field] or "").split("?")[0] == (got[field] or "").split("?")[0]
        strip = {"fileUrl", "thumbnailUrl"}
        assert {k: v for k, v in listed.items() if k not in strip} == \
            {k: v for k, v in got.items() if k not in strip}

    def check(settled: bool = True) -> list[dict[str, Any]]:
        listed = client.get("/v1/assets", params={"scope": "mine",
                                                  "status": "PROCESSING,READY,FAILED"}).json()
        for asset in listed:
            got = client.get(f"/v1/assets/{asset['id']}").json()
            if not settled and got["updatedAt"] > asset["updatedAt"]:
                continue  # processing moved it on between the two reads
            same(asset, got)
        return listed

    ids = [upload(client, media[k], name=f"listed {k}")["id"] for k in ("png", "mp3")]
    first = check(settled=False)
    assert {a["id"] for a in first} == set(ids)
    for asset_id in ids:
        wait_for(client, asset_id)
    after = check()
    assert [a["status"] for a in after] == ["READY", "READY"]
    assert all(a["fileUrl"] for a in after)
    assert client.delete(f"/v1/assets/{ids[0]}").status_code == 200
    assert [a["id"] for a in check()] == [ids[1]]


def test_an_api_process_with_job_threads_hands_the_gil_over_sooner(
        make_app: Callable[..., InProcess]) -> None:
    """With the worker embedded, a thread waits at most 0.5 ms for the GIL (Python's default
    is 5 ms), so that requests are not held up behind a job's Python work; an API alone
    leaves the interpreter as it is."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    try:
        make_app(run_worker=False)
        assert sys.getswitchinterval() == 0.005
        make_app(run_worker=True)
        assert sys.getswitchinterval() == priority.SHARED_SWITCH_S == 0.0005
    finally:
        sys.setswitchinterval(before)


def test_each_upload_wakes_a_job_thread_at_once(make_app: Callable[..., InProcess],
                                                media: dict[str, Path]) -> None:
    """Uploads made one after another are processed at once, not at the next poll (30 s
    here): each wakes a job thread of its own, which claims without waiting."""
    api = make_app(env={"MEDIASHELF_POLL_INTERVAL": "30"})
    with api.client(api.new_key("wake")) as client:
        began = time.monotonic()
        made = [upload(client, media["png"])["id"] for _ in range(4)]
        assert all(wait_for(client, i, timeout=20)["status"] == "READY" for i in made)
        assert time.monotonic() - began < 20
