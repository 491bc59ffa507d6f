"""Resumable uploads against the real server, on every backend: with the official tuspy client
and by hand, stopped between chunks, cut off mid-chunk, and with the server SIGKILLed and
started again; the upload resumes and the asset ends READY with the file's SHA-256."""

from __future__ import annotations

import hashlib
import http.client
import signal
import time
from pathlib import Path

import httpx
from tests.support.backends import Backend
from tests.support.server import Server, wait_for
from tests.support.tus import TUS, noise_png, offset
from tests.support.waiting import wait_until
from tusclient import client as tus

MiB = 2**20


def _cut_off(srv: Server, key: str, url: str, data: bytes, at: int, sent: int) -> None:
    """A PATCH of the rest of the file whose connection drops after `sent` bytes."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    conn.putrequest("PATCH", url)
    for name, value in (("x-api-key", key), ("tus-resumable", "1.0.0"),
                        ("content-type", "application/offset+octet-stream"),
                        ("upload-offset", str(at)), ("content-length", str(len(data) - at))):
        conn.putheader(name, value)
    conn.endheaders()
    conn.send(data[at:at + sent])
    time.sleep(0.3)  # the server has read them
    conn.close()


def test_an_interrupted_upload_resumes_to_ready(backend: Backend, tmp_path: Path) -> None:
    path = noise_png(tmp_path / "noise été.png", 1900)  # ~10.3 MiB: past S3's 8 MiB part
    data = path.read_bytes()
    with backend.provision() as env:
        srv = Server(tmp_path / "data", {**env, "MEDIASHELF_UPLOAD_LOCK": "2s"},
                     backend=backend.name).start()
        try:
            key = srv.new_key("tus-resume")
            maker = tus.TusClient(srv.url + "/v1/uploads", headers={"x-api-key": key})
            with open(path, "rb") as fh:  # tuspy leaves the files it opens itself open
                first = maker.uploader(file_stream=fh, chunk_size=MiB, metadata={
                    "filename": path.name, "name": "noise"})
                first.upload(stop_at=3 * MiB)  # stopped between chunks
            url = first.url
            assert url is not None and url.startswith(srv.url + "/v1/uploads/")
            rel = url.removeprefix(srv.url)
            with srv.client(key) as client:
                assert offset(client, rel) == 3 * MiB

                _cut_off(srv, key, rel, data, 3 * MiB, MiB + 12345)  # mid-chunk
                wait_until("the bytes before the cut are kept",
                           lambda: offset(client, rel) == 4 * MiB + 12345, 30)

                with open(path, "rb") as fh:
                    second = maker.uploader(file_stream=fh, url=url, chunk_size=2 * MiB)
                    assert second.offset == 4 * MiB + 12345
                    second.upload(stop_at=6 * MiB)

                at = offset(client, rel)
                conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
                conn.putrequest("PATCH", rel)
                for name, value in (("x-api-key", key), ("tus-resumable", "1.0.0"),
                                    ("content-type", "application/offset+octet-stream"),
                                    ("upload-offset", str(at)),
                                    ("content-length", str(len(data) - at))):
                    conn.putheader(name, value)
                conn.endheaders()
                conn.send(data[at:at + MiB])
                time.sleep(0.3)
                srv.stop(signal.SIGKILL)  # mid-chunk, the upload's lock held
                conn.close()
            srv.start()
            with srv.client(key) as client:
                assert offset(client, rel) == at  # nothing of the killed request counts
                with open(path, "rb") as fh:  # 423 until the dead request's lock runs out
                    third = maker.uploader(file_stream=fh, url=url, chunk_size=3 * MiB,
                                           retries=10, retry_delay=1)
                    third.upload()
                head = client.head(rel, headers=TUS)
                assert head.headers["upload-offset"] == str(len(data))
                ready = wait_for(client, head.headers["x-asset-id"])
                assert ready["status"] == "READY", ready["failureReason"]
                assert ready["sha256"] == hashlib.sha256(data).hexdigest()
                assert ready["sizeBytes"] == len(data) and ready["name"] == "noise"
                got = httpx.get(ready["fileUrl"], timeout=30)
                assert hashlib.sha256(got.content).hexdigest() == ready["sha256"]
            if backend.is_s3:  # the multipart upload, its tails and its lease are gone
                assert backend.moto is not None
                s3 = backend.moto.client()
                bucket = env["MEDIASHELF_STORAGE_URL"].removeprefix("s3://").split("/")[0]
                assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
                keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
                assert not [k for k in keys if ".tail-" in k or "/.uploads/" in k], keys
                s3.close()
            else:
                assert not list((srv.data_dir / "files").rglob("*.part"))
        finally:
            srv.stop()
