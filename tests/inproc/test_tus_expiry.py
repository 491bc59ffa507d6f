"""An unfinished tus upload expires: the worker removes its bytes and any open S3 multipart
upload (with its tails and lease), and the upload answers 404 from then on."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.support.backends import Backend
from tests.support.inproc import InProcess
from tests.support.tus import TUS, create, send

MiB = 2**20


def test_an_expired_upload_leaves_nothing(backend: Backend, tmp_path: Path) -> None:
    data = b"\x89PNG\r\n\x1a\n" + os.urandom(9 * MiB)  # past one 8 MiB S3 part, and a tail
    with backend.provision() as env:
        app = InProcess(tmp_path / "data", {**env, "MEDIASHELF_UPLOAD_EXPIRY": "2s"},
                        backend=backend.name).start()
        try:
            with app.client(app.new_key("tus-expiry")) as client:
                url = create(client, len(data) + 10, filename="x.png")
                res = send(client, url, data, 0)
                assert res.status_code == 204 and "upload-expires" in res.headers
                upload_id = url.rsplit("/", 1)[1]
                storage = app.services.storage
                if backend.is_s3:  # the body came as one piece: one part, no tail
                    s3, bucket = storage.client, storage.bucket
                    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
                else:
                    assert list(storage.list_keys(f"assets/{upload_id}/"))  # the .part file
                deadline = time.monotonic() + 20
                while client.head(url, headers=TUS).status_code != 404:
                    assert time.monotonic() < deadline, "the upload was not removed"
                    time.sleep(0.2)
                assert client.patch(url, content=b"x", headers={
                    **TUS, "Content-Type": "application/offset+octet-stream",
                    "Upload-Offset": str(len(data))}).status_code == 404
                assert not list(storage.list_keys(f"assets/{upload_id}/"))
                if backend.is_s3:
                    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
                    leases = s3.list_objects_v2(Bucket=bucket, Prefix="library/.uploads/")
                    assert not leases.get("Contents")
        finally:
            app.stop()
