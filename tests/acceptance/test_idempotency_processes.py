"""One Idempotency-Key across two API processes on one library: while the first request still
streams its body into process A, the same key on process B answers 409; once A has answered,
B replays A's answer, and another request under the key is a 422. One asset, one copy."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import sqlalchemy as sa
from tests.inproc.test_dedupe import fresh_png
from tests.support.multipart import BOUNDARY, assert_error, body, file_part
from tests.support.server import Server, wait_for

from mediashelf.db.schema import idempotency_keys

CTYPE = "multipart/form-data; boundary=" + BOUNDARY.decode()


def _running(server: Server, key: str) -> bool:
    with server.services.db.read() as conn:
        state = conn.execute(sa.select(idempotency_keys.c.state).where(
            idempotency_keys.c.key == key, idempotency_keys.c.state == "running")).scalar()
    return state == "running"


def _originals(server: Server) -> set[str]:
    return {k for k in server.services.storage.list_keys("assets/") if k.endswith("/original")}


def test_one_key_across_two_api_processes(server: Server, tmp_path: Path) -> None:
    data = fresh_png(tmp_path).read_bytes()
    whole = body([file_part(b"slow.png", data)])
    other = body([file_part(b"other.png", fresh_png(tmp_path).read_bytes())])
    release = threading.Event()

    def slowly() -> Iterator[bytes]:
        yield whole[: len(whole) // 2]
        release.wait(30)  # the rest only once process B has been turned away
        yield whole[len(whole) // 2:]

    # process A is the session's server; B a second one on the same library
    a = server
    b = Server(a.data_dir, {k: v for k, v in a.env.items() if k != "MEDIASHELF_PORT"},
               backend=a.backend)
    b.log_path = tmp_path / "b-server.log"
    try:
        b.start()
        api_key = a.new_key(f"two-{uuid.uuid4().hex[:8]}")
        before = _originals(a)
        key = f"k-{uuid.uuid4().hex}"
        headers = {"x-api-key": api_key, "content-type": CTYPE, "Idempotency-Key": key}
        with ThreadPoolExecutor(1) as pool, b.client(api_key) as bc:
            first = pool.submit(httpx.post, a.url + "/v1/assets", content=slowly(),
                                headers=headers, timeout=60)
            deadline = time.monotonic() + 20
            while not _running(a, key):
                assert time.monotonic() < deadline, "process A never took the key"
                time.sleep(0.05)
            busy = bc.post("/v1/assets", content=whole, headers=headers)
            assert_error(busy, 409, "Idempotency-Key")
            release.set()
            answer = first.result()
            assert answer.status_code == 201, answer.text
            replay = bc.post("/v1/assets", content=whole, headers=headers)
            assert replay.status_code == 201
            assert replay.headers["idempotent-replayed"] == "true"
            assert replay.json() == answer.json()
            assert replay.headers["location"] == answer.headers["location"]
            assert_error(bc.post("/v1/assets", content=other, headers=headers), 422)
            wait_for(bc, answer.json()["id"])
            listed = bc.get("/v1/assets", params={"status": "PROCESSING,READY,FAILED"})
            assert [x["id"] for x in listed.json()] == [answer.json()["id"]]
            assert _originals(a) - before == {f"assets/{answer.json()['id']}/original"}
    finally:
        release.set()
        b.stop()
