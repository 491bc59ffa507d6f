"""`mediashelf upload` resumes a large file's upload that an earlier run left unfinished, from
the upload URL that run kept in the user's cache, instead of sending the file again."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from mediashelf_client import ResumeStore
from tests.support.server import Server
from tests.support.tus import create, offset, send

MiB = 2**20


def test_a_stopped_run_is_resumed(server: Server, api_key: str, tmp_path: Path) -> None:
    data = b"\x89PNG\r\n\x1a\n" + os.urandom(17 * MiB)  # above the 16 MB threshold
    path = tmp_path / "big.png"
    path.write_bytes(data)
    with server.client(api_key) as client:  # what the stopped run had sent
        url = create(client, len(data), filename=path.name)
        assert send(client, url, data[:8 * MiB], 0).status_code == 204
    store = ResumeStore(tmp_path / "cache" / "uploads.json")
    store.put(store.key(path, server.url), url)
    env = {**os.environ, "MEDIASHELF_URL": server.url, "MEDIASHELF_API_KEY": api_key,
           "MEDIASHELF_CACHE_DIR": str(tmp_path / "cache")}
    res = subprocess.run([sys.executable, "-m", "mediashelf_client", "upload", str(path),
                          "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    (row,) = json.loads(res.stdout)
    asset = row["asset"]
    assert asset["id"] == url.rsplit("/", 1)[1]  # the upload that was begun, not a new one
    assert asset["sizeBytes"] == len(data)
    assert asset["sha256"] == hashlib.sha256(data).hexdigest()
    with server.client(api_key) as client:
        assert offset(client, url) == len(data)
    assert store.get(store.key(path, server.url)) is None
