"""One tus upload, two API processes on the same library: either takes the next chunk; two
chunks at once at one offset cannot both land (the upload's lock)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import anyio

from tests.support.backends import Backend
from tests.support.inproc import InProcess
from tests.support.server import wait_for
from tests.support.tus import CHUNK, create, offset, send

KiB = 2**10


def test_two_processes_share_an_upload(backend: Backend, tmp_path: Path,
                                       media: dict[str, Path]) -> None:
    data = media["mp4"].read_bytes()
    with backend.provision() as env:
        first = InProcess(tmp_path / "data", env, backend=backend.name).start()
        second = InProcess(tmp_path / "data", env, backend=backend.name,
                           run_worker=False).start()
        try:
            key = first.new_key("tus-shared")
            half = len(data) // 2
            with first.client(key) as a, second.client(key) as b:
                url = create(a, len(data), filename="clip.mp4")
                assert send(a, url, data[:half], 0).status_code == 204
                assert offset(b, url) == half
                res = send(b, url, data[half:], half)  # reads the file back for its SHA-256
                assert res.status_code == 204, res.text
                ready = wait_for(a, res.headers["x-asset-id"])
                assert ready["status"] == "READY", ready["failureReason"]
                assert ready["sha256"] == hashlib.sha256(data).hexdigest()
        finally:
            second.stop()
            first.stop()


def test_concurrent_chunks_at_one_offset(make_app: Callable[..., InProcess]) -> None:
    app = make_app()
    key = app.new_key("tus-race")
    data = b"\x89PNG\r\n\x1a\n" + os.urandom(600 * KiB)
    with app.client(key) as client:
        url = create(client, len(data) + 100, filename="x.png")

    async def race() -> list[int]:
        async with app.async_client(headers={"x-api-key": key}) as c:
            results: list[int] = []

            async def one(chunk: bytes) -> None:
                res = await c.patch(url, content=chunk, headers={**CHUNK, "Upload-Offset": "0"})
                results.append(res.status_code)

            async with anyio.create_task_group() as tg:
                for chunk in (data[:300 * KiB], data[:400 * KiB], data[:500 * KiB]):
                    tg.start_soon(one, chunk)
            return results

    statuses = app.run(race)
    assert sorted(statuses)[0] == 204 and statuses.count(204) == 1, statuses
    assert set(statuses) <= {204, 409, 423}
    with app.client(key) as client:
        at = offset(client, url)
        assert at in (300 * KiB, 400 * KiB, 500 * KiB)
        res = send(client, url, data[at:] + b"\0" * 100, at)
        assert res.status_code == 204, res.text
        asset = client.get(f"/v1/assets/{res.headers['x-asset-id']}").json()
    assert asset["sha256"] == hashlib.sha256(data + b"\0" * 100).hexdigest()
