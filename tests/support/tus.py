"""Raw tus requests for the tests, and a file large enough to cross S3's 5 MiB parts."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = {**TUS, "Content-Type": "application/offset+octet-stream"}


def metadata(**pairs: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


def noise_png(path: Path, side: int) -> Path:
    """A real PNG of random pixels: it does not compress, so about 3 bytes a pixel."""
    rng = np.random.default_rng(int.from_bytes(os.urandom(4), "big"))
    Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(
        path, "PNG", compress_level=0)
    return path


def create(client: httpx.Client, length: int, **meta: str) -> str:
    res = client.post("/v1/uploads", headers={**TUS, "Upload-Length": str(length),
                                              "Upload-Metadata": metadata(**meta)})
    assert res.status_code == 201, res.text
    return res.headers["location"]


def offset(client: httpx.Client, url: str) -> int:
    res = client.head(url, headers=TUS)
    assert res.status_code == 200, res.headers
    return int(res.headers["upload-offset"])


def send(client: httpx.Client, url: str, data: bytes, at: int, **headers: str) -> httpx.Response:
    return client.patch(url, content=data, headers={**CHUNK, "Upload-Offset": str(at), **headers})
