"""deploy/nginx and deploy/caddy in front of the real server, as shipped but for the addresses
(and nginx's TLS lines): an image larger than nginx's default body limit uploads through the
proxy and is passed on while the client is still sending, turns READY, is listed, and its file
downloads through the proxy, whole and by Range."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from tests.support.server import Server, free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_UPSTREAM = "127.0.0.1:8000"
CHUNK = 256 * 1024


def _nginx(folder: Path, port: int, upstream: str) -> list[str]:
    site = (ROOT / "deploy" / "nginx" / "mediashelf.conf").read_text()
    for line in ("    listen [::]:443 ssl http2;\n",
                 "    ssl_certificate /etc/letsencrypt/live/media.example.com/fullchain.pem;\n",
                 "    ssl_certificate_key /etc/letsencrypt/live/media.example.com/privkey.pem;\n"):
        assert site.count(line) == 1, line
        site = site.replace(line, "")
    site = _swap(site, "listen 443 ssl http2;", f"listen 127.0.0.1:{port};")
    (folder / "site.conf").write_text(_swap(site, SHIPPED_UPSTREAM, upstream))
    (folder / "nginx.conf").write_text(f"""
daemon off;
master_process off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 128; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    include {folder}/site.conf;
}}
""")
    return ["nginx", "-p", str(folder), "-c", str(folder / "nginx.conf"),
            "-e", str(folder / "error.log")]


def _caddy(folder: Path, port: int, upstream: str) -> list[str]:
    site = (ROOT / "deploy" / "caddy" / "Caddyfile").read_text()
    site = _swap(site, "media.example.com {", f"http://127.0.0.1:{port} {{")
    # No admin endpoint: several test runs may share the machine.
    (folder / "Caddyfile").write_text("{\n\tadmin off\n}\n\n" + _swap(site, SHIPPED_UPSTREAM,
                                                                        upstream))
    return ["caddy", "run", "--config", str(folder / "Caddyfile"), "--adapter", "caddyfile"]


def _swap(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


PROXIES: dict[str, Callable[[Path, int, str], list[str]]] = {"nginx": _nginx, "caddy": _caddy}


@pytest.fixture(params=sorted(PROXIES))
def proxy(request: pytest.FixtureRequest, make_server: Callable[..., Server],
          tmp_path: Path) -> Iterator[tuple[str, Server]]:
    """The proxy's URL, and the server behind it (its public URL is the proxy's)."""
    name = request.param
    if shutil.which(name) is None:
        pytest.skip(f"{name} is not installed")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = make_server({"MEDIASHELF_PUBLIC_URL": url})
    folder = tmp_path / name
    folder.mkdir()
    argv = PROXIES[name](folder, port, f"127.0.0.1:{server.port}")
    env = {**os.environ, "HOME": str(folder), "XDG_CONFIG_HOME": str(folder),
           "XDG_DATA_HOME": str(folder)}
    with open(folder / "out.log", "wb") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(proc, url, folder)
        yield url, server
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_until_up(proc: subprocess.Popen[bytes], url: str, folder: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, (folder / "out.log").read_text()[-3000:]
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the proxy did not come up: " + (folder / "out.log").read_text())


def _noise_png(path: Path) -> Path:
    """About 3 MB that PNG cannot compress: past nginx's default 1 MB body limit."""
    pixels = np.random.default_rng(7).integers(0, 256, (1024, 1024, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, "PNG")
    return path


def _partial_files(server: Server) -> list[int]:
    """Sizes of the uploads the server is still receiving (local storage writes them here)."""
    scratch = server.data_dir / "files" / ".tmp"
    return [p.stat().st_size for p in scratch.iterdir() if p.is_file()] if scratch.is_dir() else []


def _body(image: Path, boundary: str, server: Server, seen: list[int]) -> Iterator[bytes]:
    """A multipart upload that, halfway, waits until the server holds what was sent so far:
    a proxy that buffers the request would pass on nothing before the last byte."""
    yield (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
           f'filename="{image.name}"\r\nContent-Type: image/png\r\n\r\n').encode()
    data = image.read_bytes()
    half = len(data) // 2
    for start in range(0, half, CHUNK):
        yield data[start:min(start + CHUNK, half)]
    if server.backend == "sqlite-local":  # S3 keeps the bytes in memory up to a whole part
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and max(_partial_files(server), default=0) < half // 2:
            time.sleep(0.1)
        seen.extend(_partial_files(server))
    for start in range(half, len(data), CHUNK):
        yield data[start:start + CHUNK]
    yield f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\n' \
          f'through the proxy\r\n--{boundary}--\r\n'.encode()


def test_a_large_upload_streams_through_the_proxy(proxy: tuple[str, Server],
                                                  tmp_path: Path) -> None:
    url, server = proxy
    image = _noise_png(tmp_path / "noise.png")
    boundary = uuid.uuid4().hex
    length = sum(len(part) for part in _body(image, boundary, server, []))
    seen: list[int] = []
    key = server.new_key("proxied")
    with httpx.Client(base_url=url, headers={"x-api-key": key}, timeout=60) as client:
        created = client.post("/v1/assets", content=_body(image, boundary, server, seen),
                              headers={"Content-Type": f"multipart/form-data; boundary={boundary}",
                                       "Content-Length": str(length)})
        assert created.status_code == 201, created.text
        if server.backend == "sqlite-local":
            assert max(seen, default=0) >= image.stat().st_size // 4, seen
        asset = wait_for(client, created.json()["id"], timeout=120)
        assert asset["status"] == "READY", asset["failureReason"]
        assert (asset["name"], asset["width"], asset["sizeBytes"]) == (
            "through the proxy", 1024, image.stat().st_size)
        listed = client.get("/v1/assets", params={"scope": "mine"})
        assert [a["id"] for a in listed.json()] == [asset["id"]]

    data = image.read_bytes()
    if server.backend == "sqlite-local":  # on S3 the links are the bucket's own
        assert asset["fileUrl"].startswith(url + "/")
    whole = httpx.get(asset["fileUrl"], timeout=60)
    assert whole.status_code == 200 and whole.content == data
    part = httpx.get(asset["fileUrl"], headers={"Range": "bytes=1000-1999"}, timeout=60)
    assert part.status_code == 206 and part.content == data[1000:2000]


def test_operations_md_shows_the_shipped_files() -> None:
    """The configurations printed in docs/operations.md are the ones tested here."""
    page = (ROOT / "docs" / "operations.md").read_text()
    for lang, path in (("nginx", "deploy/nginx/mediashelf.conf"),
                       ("caddy", "deploy/caddy/Caddyfile")):
        assert f"```{lang}\n{(ROOT / path).read_text()}```\n" in page, path
