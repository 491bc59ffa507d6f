"""A server killed mid-upload leaves nothing behind once a worker has swept, while an upload in
progress on another live server sharing the storage goes on undisturbed."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

from tests.support.backends import Backend
from tests.support.server import Server
from tests.support.waiting import wait_until

MiB = 2**20
LEASE_S = 4


class SlowUpload:
    """A multipart upload sent by hand: the form's head and part of the file, then a stall."""

    def __init__(self, srv: Server, key: str, data: bytes) -> None:
        self.data, self.sent = data, 0
        boundary = uuid.uuid4().hex
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\nVIDEO\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"slow.mp4\"\r\nContent-Type: video/mp4\r\n\r\n").encode()
        self.tail = f"\r\n--{boundary}--\r\n".encode()
        self.conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=120)
        self.conn.putrequest("POST", "/v1/assets")
        for name, value in (("x-api-key", key),
                            ("content-type", f"multipart/form-data; boundary={boundary}"),
                            ("content-length", str(len(head) + len(data) + len(self.tail)))):
            self.conn.putheader(name, value)
        self.conn.endheaders(head)

    def send(self, upto: int) -> None:
        self.conn.send(self.data[self.sent:upto])
        self.sent = upto

    def finish(self) -> tuple[int, dict[str, Any]]:
        self.send(len(self.data))
        self.conn.send(self.tail)
        res = self.conn.getresponse()
        return res.status, json.loads(res.read())

    def close(self) -> None:
        self.conn.close()


class Leftovers:
    """What an upload in progress leaves in the shared storage: a scratch file in the local
    folder's .tmp, or a multipart upload (and its lease) in the bucket."""

    def __init__(self, backend: Backend, srv: Server) -> None:
        self.backend = backend
        if backend.is_s3:
            assert backend.moto is not None
            self.s3 = backend.moto.client()
            self.bucket = srv.env["MEDIASHELF_STORAGE_URL"].removeprefix("s3://").split("/")[0]
        else:
            self.tmp = srv.data_dir / "files" / ".tmp"

    def uploads(self) -> dict[str, int]:
        """In-progress uploads by name, with the bytes they hold so far."""
        if not self.backend.is_s3:
            return {p.name: p.stat().st_size for p in self.tmp.iterdir()} \
                if self.tmp.exists() else {}
        found = {}
        for up in self.s3.list_multipart_uploads(Bucket=self.bucket).get("Uploads", []):
            try:
                parts = self.s3.list_parts(Bucket=self.bucket, Key=up["Key"],
                                           UploadId=up["UploadId"])
            except self.s3.exceptions.NoSuchUpload:  # aborted since it was listed: gone
                continue
            found[up["Key"]] = sum(p["Size"] for p in parts.get("Parts", []))
        return found

    def leases(self) -> list[str]:
        if not self.backend.is_s3:
            return []
        listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="library/.uploads/")
        return [o["Key"] for o in listed.get("Contents", [])]

    def close(self) -> None:
        if self.backend.is_s3:
            self.s3.close()


def test_a_killed_upload_is_swept_and_a_live_one_on_another_server_is_not(
        backend: Backend, tmp_path: Path) -> None:
    data = [os.urandom(12 * MiB) for _ in range(2)]
    with backend.provision() as provided:
        env = {**provided, "MEDIASHELF_UPLOAD_LEASE": f"{LEASE_S}s"}
        victim_srv = Server(tmp_path / "a", env, ("--no-worker",), backend=backend.name)
        # local storage is shared by sharing the data dir; S3 by sharing database and bucket
        shared = victim_srv.data_dir if not backend.is_s3 else tmp_path / "b"
        other_srv = Server(shared, env, ("--no-worker",), backend=backend.name)
        try:
            with ThreadPoolExecutor(2) as pool:  # each takes seconds to start
                list(pool.map(Server.start, (victim_srv, other_srv)))
            key = victim_srv.new_key("crash")
            left = Leftovers(backend, victim_srv)
            with closing(left):
                survivor = SlowUpload(other_srv, key, data[0])
                survivor.send(9 * MiB)  # past one 8 MiB part: on S3 the upload now exists
                wait_until("the survivor's bytes are stored",
                           lambda: sum(left.uploads().values()) >= 8 * MiB)
                (survivor_name,) = left.uploads()
                victim = SlowUpload(victim_srv, key, data[1])
                victim.send(9 * MiB)
                wait_until("the victim's bytes are stored", lambda: len(left.uploads()) == 2
                           and min(left.uploads().values()) >= 8 * MiB)

                victim_srv.stop(signal.SIGKILL)
                victim.close()
                assert len(left.uploads()) == 2  # a killed process cleans up nothing itself
                victim_srv.args = ()  # back with a worker, which sweeps at start and then
                victim_srv.start()    # every half upload lease
                wait_until("the killed upload is swept", lambda: list(left.uploads()) ==
                           [survivor_name])
                for _ in range(3 * LEASE_S):  # sweeps come and go; the live upload stays
                    time.sleep(1)
                    assert list(left.uploads()) == [survivor_name]

                status, body = survivor.finish()
                survivor.close()
                assert status == 201, body
                assert body["sizeBytes"] == len(data[0])
                assert body["sha256"] == hashlib.sha256(data[0]).hexdigest()
                wait_until("nothing is left", lambda: not left.uploads() and not left.leases())
            if backend.is_s3:  # the local scratch copies of both servers' processes too
                for srv in (victim_srv, other_srv):
                    assert not any((srv.data_dir / "scratch").glob("*"))
        finally:
            victim_srv.stop()
            other_srv.stop()
