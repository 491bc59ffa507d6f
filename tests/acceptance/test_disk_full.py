"""A data dir on a small volume: uploads stop at the reserve with 507, and everything else keeps
working (deletes, listings, health, the purge); uploads resume once space is freed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.backends import Backend
from tests.support.server import Server
from tests.support.volumes import fill, free_bytes, small_volume
from tests.support.waiting import wait_until

MiB = 2**20
FULL = {"code": 507,
        "message": "the storage is full: uploads and imports are refused until space is freed"}


@contextmanager
def server_on(volume: Path, backend: Backend, env: dict[str, str]) -> Iterator[Server]:
    """A server whose whole data dir is the volume (its log is written beside it)."""
    with backend.provision() as provided:
        srv = Server(volume, {**provided, "MEDIASHELF_PURGE_AFTER": "1s",
                              "MEDIASHELF_JOB_LEASE": "3s", **env}, backend=backend.name)
        try:
            yield srv.start()
        finally:
            srv.stop()


def _upload(client: httpx.Client, size: int) -> httpx.Response:
    # random bytes declared as a video: stored whole, then FAILED by the decoder (no matter here)
    files = {"file": ("clip.mp4", os.urandom(size), "video/mp4")}
    return client.post("/v1/assets", files=files, data={"type": "VIDEO"})


def _scratch(srv: Server) -> list[str]:
    folder = srv.data_dir / ("scratch" if srv.backend == "postgres-s3" else "files/.tmp")
    return os.listdir(folder) if folder.exists() else []


def _ready(srv: Server) -> dict[str, Any]:
    res = httpx.get(srv.url + "/readyz", timeout=30)
    assert res.status_code == 200, res.text
    body: dict[str, Any] = res.json()
    return body


def test_uploads_stop_at_the_reserve_and_resume_after_the_purge(
        backend: Backend, tmp_path: Path) -> None:
    if backend.is_s3:
        pytest.skip("the files are in the bucket: the local volume holds only scratch copies "
                    "(test_the_reserve_guards_s3_scratch_space)")
    with small_volume(tmp_path / "vol", "64m") as vol, \
            server_on(vol, backend, {"MEDIASHELF_MIN_FREE_SPACE": "16MB"}) as srv, \
            srv.client(srv.new_key("full")) as client:
        accepted = []
        for _ in range(40):
            res = _upload(client, 3 * MiB)
            if res.status_code == 507:
                break
            assert res.status_code == 201, res.text
            accepted.append(res.json()["id"])
        assert res.json() == FULL
        assert 8 <= len(accepted) <= 16
        assert _scratch(srv) == []
        # A refusal mid-stream gives its bytes back and may leave the volume just above the
        # reserve; small uploads (checked only before they start) take it below for good.
        for _ in range(64):
            if client.get("/readyz").json().get("space") == "low":
                break
            small = _upload(client, 256 << 10)
            assert small.status_code in (201, 507), small.text
            if small.status_code == 201:
                accepted.append(small.json()["id"])
        assert client.get("/readyz").json()["space"] == "low"
        assert client.post("/v1/assets", json={"name": "x", "type": "IMAGE",
                                               "url": "https://example.com/a.png"}).json() == FULL
        ready = _ready(srv)
        assert ready["space"] == "low" and ready["freeBytes"] < ready["reserveBytes"]
        assert httpx.get(srv.url + "/healthz").status_code == 200
        listed = client.get("/v1/assets", params={"status": "PROCESSING,READY,FAILED",
                                                  "scope": "mine"})
        assert listed.status_code == 200 and listed.headers["X-Total-Count"] == str(len(accepted))

        for aid in accepted:
            res = client.delete(f"/v1/assets/{aid}")
            assert res.status_code == 200, res.text
        wait_until("the purge frees the space", lambda: free_bytes(vol) > 40 * MiB)
        assert _ready(srv)["space"] == "ok"
        res = _upload(client, 3 * MiB)
        assert res.status_code == 201, res.text
        assert _scratch(srv) == []


def test_a_disk_that_truly_fills_answers_507_and_recovers(backend: Backend,
                                                          tmp_path: Path) -> None:
    """No reserve: the disk fills for real, the database's writes included; every answer is
    still {code, message}, and all works again once space is freed."""
    if backend.is_s3:
        pytest.skip("the files are in the bucket: the local volume holds only scratch copies")
    with small_volume(tmp_path / "vol", "48m") as vol, \
            server_on(vol, backend, {"MEDIASHELF_MIN_FREE_SPACE": "0"}) as srv, \
            srv.client(srv.new_key("brim")) as client:
        first = _upload(client, MiB)
        assert first.status_code == 201, first.text
        filler = fill(vol, leave=2 * MiB)
        answers = [_upload(client, MiB) for _ in range(4)]
        assert {r.status_code for r in answers} <= {201, 507}
        assert answers[-1].json() == FULL
        assert _scratch(srv) == []
        fill(vol, leave=0)
        for res in (client.delete(f"/v1/assets/{first.json()['id']}"),
                    client.get("/v1/assets"), client.get(f"/v1/assets/{first.json()['id']}"),
                    _upload(client, 4096), httpx.get(srv.url + "/readyz"),
                    httpx.get(srv.url + "/healthz")):
            assert res.status_code in (200, 404, 507), res.text
            if res.status_code == 507:
                assert res.json() == FULL
        assert _ready(srv)["space"] == "low"

        filler.unlink()
        res = _upload(client, MiB)
        assert res.status_code == 201, res.text
        deleted = client.delete(f"/v1/assets/{res.json()['id']}")
        assert deleted.status_code == 200, deleted.text
        wait_until("no scratch is left", lambda: _scratch(srv) == [])


def test_the_reserve_guards_s3_scratch_space(backend: Backend, tmp_path: Path) -> None:
    """On S3 the files go to the bucket; the reserve keeps room for the local scratch copies."""
    if not backend.is_s3:
        pytest.skip("on local storage the reserve guards the files themselves (above)")
    with small_volume(tmp_path / "vol", "32m") as vol, \
            server_on(vol, backend, {"MEDIASHELF_MIN_FREE_SPACE": "8MB"}) as srv, \
            srv.client(srv.new_key("s3full")) as client:
        assert _upload(client, MiB).status_code == 201
        filler = fill(vol, leave=4 * MiB)
        assert _upload(client, MiB).json() == FULL
        assert _ready(srv)["space"] == "low"
        assert client.get("/v1/assets").status_code == 200
        filler.unlink()
        assert _upload(client, MiB).status_code == 201
        assert _ready(srv)["space"] == "ok"
