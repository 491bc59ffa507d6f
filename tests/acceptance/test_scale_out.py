"""Two API processes and three workers on one PostgreSQL and one S3 endpoint; one worker killed.

Every asset must end READY exactly once (one successful finish per asset, counted in the
workers' logs), with exactly its original and one thumbnail in the bucket, nothing else left
behind (no stray objects, no unfinished multipart uploads), and both APIs must list the same.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from PIL import Image
from tests.support import backends
from tests.support.backends import Backend
from tests.support.server import Server

pytestmark = pytest.mark.slow

UPLOADS = 300
COMMON = {"MEDIASHELF_SEED_MUSIC": "false", "MEDIASHELF_JOB_LEASE": "4s",
          "MEDIASHELF_POLL_INTERVAL": "0.2", "MEDIASHELF_WORKER_CONCURRENCY": "2",
          "MEDIASHELF_MEDIA_PROCESSES": "1", "MEDIASHELF_DB_POOL_SIZE": "4",
          "MEDIASHELF_DB_MAX_OVERFLOW": "4"}
READY_LINE = re.compile(r" asset\.ready asset_id=(\S+)")


class WorkerProcess:
    """`mediashelf worker` in its own process group (its decoder processes die with it)."""

    def __init__(self, tmp: Path, index: int, env: dict[str, str]) -> None:
        self.log_path = tmp / f"worker{index}.log"
        scratch = tmp / f"worker{index}-tmp"
        scratch.mkdir()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "mediashelf", "worker"], stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, **env, "TMPDIR": str(scratch),
                     "MEDIASHELF_DATA_DIR": str(tmp / f"worker{index}-data")})

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def terminate(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # stray decoder processes, if any
        return self.proc.returncode


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    if "postgres-s3" not in backends.selected():
        pytest.skip("the postgres-s3 backend is not selected (MEDIASHELF_TEST_BACKENDS)")
    b = Backend("postgres-s3", tmp_path_factory.mktemp("scale-out")).start()
    yield b
    b.stop()


def png(i: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (24 + i % 7, 16 + i % 5), ((i * 37) % 256, (i * 91) % 256, i % 256)) \
        .save(out, "PNG")
    return out.getvalue()


def sql(url: str, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query, args).fetchall()


def listing(client: httpx.Client) -> tuple[int, list[str]]:
    ids: list[str] = []
    total = -1
    for page in range(1, 100):
        res = client.get("/v1/assets", params={"status": "READY,PROCESSING,FAILED",
                                               "pageSize": 100, "page": page})
        assert res.status_code == 200, res.text
        total = int(res.headers["X-Total-Count"])
        if not res.json():
            break
        ids += [a["id"] for a in res.json()]
    return total, ids


def test_two_apis_three_workers_one_killed(remote: Backend, tmp_path: Path) -> None:
    with remote.provision() as env:
        env = {**env, **COMMON}
        db_url = env["MEDIASHELF_DATABASE_URL"]
        apis = [Server(tmp_path / f"api{i}", env, ("--no-worker",), backend=remote.name)
                for i in range(2)]
        workers: list[WorkerProcess] = []
        try:
            # everything starts at once: the migration and the system tenant must not race
            workers = [WorkerProcess(tmp_path, i, env) for i in range(3)]
            for api in apis:
                api.start()
            key = apis[0].new_key("scale")
            clients = [api.client(key) for api in apis]

            def send(i: int) -> str:
                res = clients[i % 2].post("/v1/assets",
                                          files={"file": (f"img{i}.png", png(i), "image/png")})
                assert res.status_code == 201, res.text
                return str(res.json()["id"])

            victim = workers[0]
            held: list[tuple[Any, ...]] = []
            with ThreadPoolExecutor(6) as pool:
                sent = pool.map(send, range(UPLOADS))
                # kill worker 0 with a job in hand, somewhere in the middle of the run
                deadline = time.monotonic() + 120
                while not held and time.monotonic() < deadline:
                    done = sql(db_url, "SELECT count(*) FROM assets WHERE status = 'READY'")[0][0]
                    if done >= UPLOADS // 4:
                        held = sql(db_url, "SELECT asset_id FROM jobs WHERE state = 'running' "
                                           "AND lease_owner LIKE %s", f"%:{victim.proc.pid}:%")
                    if not held:
                        time.sleep(0.02)
                assert held, f"worker 0 never held a job:\n{victim.log()[-3000:]}"
                victim.kill()
                ids = list(sent)
            assert len(set(ids)) == UPLOADS

            deadline = time.monotonic() + 150
            while sql(db_url, "SELECT count(*) FROM assets WHERE status <> 'READY'")[0][0] \
                    or sql(db_url, "SELECT count(*) FROM jobs")[0][0]:
                assert time.monotonic() < deadline, \
                    f"not all READY in time:\n{workers[1].log()[-3000:]}"
                time.sleep(0.25)

            # listing from either API agrees, and says all are READY
            listed = [listing(c) for c in clients]
            assert listed[0] == listed[1]
            assert listed[0][0] == UPLOADS and sorted(listed[0][1]) == sorted(ids)
            ready = clients[1].get("/v1/assets", params={"status": "READY", "pageSize": 1})
            assert ready.headers["X-Total-Count"] == str(UPLOADS)

            # one successful finish per asset, across every worker's log (the dead one too)
            finishes = Counter(m for w in workers for m in READY_LINE.findall(w.log()))
            assert [a for a, n in finishes.items() if n != 1] == []
            assert set(finishes) <= set(ids)
            # the only line that may be missing is one the dead worker committed but was
            # killed before it could log
            assert set(ids) - set(finishes) <= {str(a) for (a,) in held}

            # the bucket holds exactly an original and one thumbnail per asset, nothing more
            s3 = remote.moto.client()  # type: ignore[union-attr]
            bucket = env["MEDIASHELF_STORAGE_URL"].removeprefix("s3://").split("/")[0]
            by_asset: dict[str, list[str]] = defaultdict(list)
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for obj in page.get("Contents", []):
                    m = re.fullmatch(r"library/assets/([^/]+)/([^/]+)", obj["Key"])
                    assert m, f"stray object {obj['Key']}"
                    by_asset[m.group(1)].append(m.group(2))
            assert set(by_asset) == set(ids)
            assert {tuple(sorted(v)) for v in by_asset.values()} == {("original", "thumb.webp")}
            assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
            s3.close()

            # a picture fetched through either API's presigned URL is the one uploaded
            some = clients[0].get(f"/v1/assets/{ids[7]}").json()
            assert httpx.get(some["fileUrl"]).content == png(7)

            # graceful stop: the survivors finish or give back their jobs and exit cleanly
            for w in workers[1:]:
                assert w.terminate() == 0, w.log()[-3000:]
                assert "worker.stopped" in w.log()
        finally:
            for c in locals().get("clients", []):
                c.close()
            for w in workers:
                w.terminate(timeout=10)
            for api in apis:
                api.stop()
        for api in apis:
            assert "Traceback" not in api.log(), api.log()
