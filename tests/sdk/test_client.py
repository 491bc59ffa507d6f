"""The SDK against the real server: listing and its totals, paging, uploads, waiting, errors."""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path

import httpx
import pytest

from mediashelf_client import (
    Asset,
    AuthenticationError,
    BadRequestError,
    Client,
    MediashelfAPIError,
    NotFoundError,
    ProcessingFailedError,
)
from tests.support.server import Server

ALL = ["PROCESSING", "READY", "FAILED"]


class CountingTransport(httpx.HTTPTransport):
    """The real transport, counting the requests that go through it."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return super().handle_request(request)


def test_list_with_filters_and_the_four_totals(sdk: Client, media: dict[str, Path]) -> None:
    images = [sdk.wait_until_ready(sdk.upload(media[k]), timeout=60) for k in ("png", "jpeg")]
    video = sdk.wait_until_ready(sdk.upload(media["mp4"], name="clip"), timeout=60)
    broken = sdk.upload(media["corrupt"])
    with pytest.raises(ProcessingFailedError) as failed:
        sdk.wait_until_ready(broken, timeout=60)
    assert failed.value.asset.failure_reason and failed.value.asset.is_failed

    page = sdk.list(type="IMAGE", scope="mine", page_size=1)
    assert (page.total_count, page.page, page.page_size, page.total_pages) == (2, 1, 1, 2)
    assert page.has_next and len(page) == 1 and page.items[0].id == images[1].id  # newest first
    second = sdk.list(type=["image"], scope="mine", page=2, page_size=1)
    assert [a.id for a in second] == [images[0].id] and not second.has_next
    past = sdk.list(type="IMAGE", scope="mine", page=9, page_size=1)
    assert past.items == () and past.total_count == 2 and past.page == 9

    videos = sdk.list(type="VIDEO", status=["READY", "FAILED"], scope="mine")
    assert [a.id for a in videos] == [video.id]
    failed_only = sdk.list(status="FAILED")
    assert [a.id for a in failed_only] == [broken.id] and failed_only.total_pages == 1
    got = videos.items[0]
    assert got.name == "clip" and got.mime_type == "video/mp4" and got.duration_ms
    assert got.width and got.height and got.file_url and got.thumbnail_url
    assert got.size_bytes == media["mp4"].stat().st_size and got.created_at is not None
    assert got.raw["sizeBytes"] == got.size_bytes
    nothing = sdk.list(type="AUDIO", status="FAILED")
    assert (nothing.total_count, nothing.total_pages, nothing.items) == (0, 0, ())


def test_iter_assets_walks_every_page_once_and_lazily(server: Server, api_key: str,
                                                      media: dict[str, Path]) -> None:
    transport = CountingTransport()
    with Client(server.url, api_key, transport=transport) as c:
        made = {c.upload(io.BytesIO(media["png"].read_bytes()), name=f"n{i}", dedupe=False).id
                for i in range(5)}
        transport.seen.clear()
        walk = c.iter_assets(status=ALL, scope="mine", page_size=2)
        first = next(walk)
        assert len(transport.seen) == 1  # lazy: one page fetched so far
        rest = [a.id for a in walk]
    ids = [first.id, *rest]
    assert sorted(ids) == sorted(made) and len(ids) == 5
    pages = [r.url.params["page"] for r in transport.seen]
    assert pages == ["1", "2", "3"]
    assert all(r.headers["x-api-key"] == api_key for r in transport.seen)


def test_upload_streams_with_progress_reaching_the_total(sdk: Client, tmp_path: Path,
                                                        media: dict[str, Path]) -> None:
    big = tmp_path / "noise.mp4"
    big.write_bytes(os.urandom(300_000))
    calls: list[tuple[int, int | None]] = []
    asset = sdk.upload(big, type="video", progress=lambda sent, total: calls.append((sent, total)))
    assert asset.is_processing and asset.type == "VIDEO" and asset.name
    assert len(calls) >= 4 and calls[-1] == (300_000, 300_000)
    assert [s for s, _ in calls] == sorted(s for s, _ in calls)
    with pytest.raises(ProcessingFailedError):
        sdk.wait_until_ready(asset.id, timeout=60)

    with open(media["mp3"], "rb") as fh:
        song = sdk.upload(fh, name="song")
    ready = sdk.wait_until_ready(song, timeout=60)
    assert (ready.name, ready.type, ready.status) == ("song", "AUDIO", "READY")
    assert ready.duration_ms and ready.has_audio is True
    with httpx.Client() as anonymous:
        assert anonymous.get(ready.file_url or "").content == media["mp3"].read_bytes()


def test_get_delete_and_not_found(sdk: Client, media: dict[str, Path]) -> None:
    asset = sdk.upload(media["png"])
    assert sdk.get(asset.id).id == asset.id
    sdk.delete(asset)
    for call in (lambda: sdk.get(asset.id), lambda: sdk.delete(asset.id),
                 lambda: sdk.get(str(uuid.uuid4()))):
        with pytest.raises(NotFoundError) as err:
            call()
        assert err.value.code == 404 and err.value.message == "asset not found"
    with pytest.raises(NotFoundError):  # the id is quoted: it cannot climb out of /v1/assets/
        sdk.get("../keys")


def test_import_url_validation_comes_back_as_bad_request(sdk: Client) -> None:
    with pytest.raises(BadRequestError) as err:
        sdk.import_url("ftp://example.com/a.mp4", "clip", "VIDEO")
    assert err.value.code == 400 and "https://" in err.value.message
    with pytest.raises(BadRequestError) as err:
        sdk.import_url("https://example.com/a.mp4", "clip", "MOVIE")
    assert "allowed values are AUDIO, IMAGE, VIDEO" in err.value.message
    with pytest.raises(BadRequestError) as err:
        sdk.list(page_size=500)
    assert "pageSize" in err.value.message


def test_bad_key_and_environment_configuration(server: Server, api_key: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    with Client(server.url, "not-a-key") as c, pytest.raises(AuthenticationError) as err:
        c.list()
    assert err.value.code == 401 and isinstance(err.value, MediashelfAPIError)
    monkeypatch.setenv("MEDIASHELF_URL", server.url + "/v1/")
    monkeypatch.setenv("MEDIASHELF_API_KEY", api_key)
    with Client() as c:
        assert c.base_url == server.url
        assert c.list(status=ALL, scope="mine").total_count == 0


def test_asset_model_is_frozen_and_tolerant() -> None:
    seed_only = {"id": "a", "name": None, "type": "IMAGE", "status": "READY", "fileUrl": "u",
                 "thumbnailUrl": None, "createdAt": "2025-01-02T03:04:05.000Z", "new": 1}
    asset = Asset.from_wire(seed_only)
    assert asset.size_bytes is None and asset.metadata == {} and asset.raw["new"] == 1
    assert asset.created_at is not None and asset.created_at.year == 2025
    with pytest.raises(AttributeError):
        asset.name = "x"  # type: ignore[misc]
