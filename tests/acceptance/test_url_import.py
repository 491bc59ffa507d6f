"""URL import through the real server: hostile URLs answer 400 at once, honest ones end READY."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support.http_servers import (
    Canary,
    ScriptedServer,
    body,
    canary,
    endless,
    redirect,
    scripted_server,
    status,
)
from tests.support.server import Server, wait_for


@pytest.fixture(scope="module")
def private_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server for closed networks: http and loopback allowed, a small image limit."""
    srv = Server(tmp_path_factory.mktemp("urlimport") / "data",
                 {"MEDIASHELF_ALLOW_PRIVATE_URLS": "true", "MEDIASHELF_MAX_IMAGE_BYTES": "100kB"})
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def origin(media: dict[str, Path]) -> Iterator[ScriptedServer]:
    """The loopback site the imports come from."""
    routes = {
        "/files/red.png": body(media["png"].read_bytes(), "image/png"),
        "/files/clip.mp4": body(media["mp4"].read_bytes(), "video/mp4"),
        "/files/tone.mp3": body(media["mp3"].read_bytes(), "audio/mpeg"),
        "/download": body(media["mp3"].read_bytes(), "audio/mpeg"),
        "/moved": redirect("/files/red.png", 301),
        "/missing.png": status(404),
        "/huge.png": endless(),
    }
    with scripted_server(routes) as srv:
        yield srv


@pytest.fixture
def trap() -> Iterator[Canary]:
    with canary() as c:
        yield c


def _import(client: httpx.Client, url: str, type_: str = "IMAGE") -> httpx.Response:
    return client.post("/v1/assets", json={"name": "imported", "type": type_, "url": url})


ALLOW_PRIVATE = " (a server allows these with MEDIASHELF_ALLOW_PRIVATE_URLS=true)"
ALLOW_PORT = " (only 443 unless the server lists it in MEDIASHELF_ALLOWED_PORTS)"
PRIVATE = "url points to a private address" + ALLOW_PRIVATE


@pytest.mark.parametrize(("template", "why"), [
    ("http://127.0.0.1:{port}/a.png", "only https:// urls are allowed" + ALLOW_PRIVATE),
    ("https://127.0.0.1:{port}/a.png", PRIVATE),
    ("https://2130706433:{port}/a.png", PRIVATE),
    ("https://0x7f.1:{port}/a.png", PRIVATE),
    ("https://[::ffff:127.0.0.1]:{port}/a.png", PRIVATE),
    ("https://169.254.169.254/latest/meta-data/", PRIVATE),
    ("https://localhost:{port}/a.png", "url points to a local host name" + ALLOW_PRIVATE),
    ("https://good.com@127.0.0.1:{port}/a.png", "url must not contain a user name or password"),
    ("https://example.com:{port}/a.png", "url port {port} is not allowed" + ALLOW_PORT),
    ("file:///etc/passwd", "url scheme file: is not allowed; use https://"),
    ("gopher://127.0.0.1:{port}/_x", "url scheme gopher: is not allowed; use https://"),
    ("not a url", "url must not contain spaces, control characters or backslashes"),
])
def test_hostile_url_answers_400_and_touches_nothing(
        client: httpx.Client, trap: Canary, template: str, why: str) -> None:
    url = template.replace("{port}", str(trap.port))
    res = _import(client, url)
    assert res.status_code == 400, res.text
    assert res.json() == {"code": 400, "message": why.replace("{port}", str(trap.port))}
    assert trap.hits == 0
    listed = client.get("/v1/assets", params={"status": ["PROCESSING", "FAILED"]}).json()
    assert listed == []


@pytest.mark.parametrize(("path", "type_", "kind", "mime"), [
    ("/files/red.png", "IMAGE", "png", "image/png"),
    ("/files/clip.mp4", "VIDEO", "mp4", "video/mp4"),
    ("/files/tone.mp3", "AUDIO", "mp3", "audio/mpeg"),
    ("/moved", "IMAGE", "png", "image/png"),
    ("/download", "AUDIO", "mp3", "audio/mpeg"),
])
def test_honest_import_ends_ready_with_the_same_bytes(
        private_server: Server, origin: ScriptedServer, media: dict[str, Path],
        path: str, type_: str, kind: str, mime: str) -> None:
    with private_server.client(private_server.new_key("importer")) as client:
        created = _import(client, origin.url(path), type_)
        assert created.status_code == 201, created.text
        assert created.json()["status"] == "PROCESSING"
        ready = wait_for(client, created.json()["id"])
    assert ready["status"] == "READY", ready["failureReason"]
    assert ready["type"] == type_ and ready["mimeType"] == mime
    data = media[kind].read_bytes()
    assert ready["sizeBytes"] == len(data)
    got = httpx.get(ready["fileUrl"])
    assert got.status_code == 200 and got.content == data


@pytest.mark.parametrize(("path", "reason"), [
    ("/missing.png", "server answered 404"),
    ("/huge.png", "download larger than 100 kB"),
])
def test_failed_download_ends_failed_with_a_reason(
        private_server: Server, origin: ScriptedServer, path: str, reason: str) -> None:
    with private_server.client(private_server.new_key("importer")) as client:
        created = _import(client, origin.url(path))
        assert created.status_code == 201, created.text
        done = wait_for(client, created.json()["id"])
    assert done["status"] == "FAILED"
    assert done["failureReason"] == reason
    assert done["fileUrl"] is None


def test_declared_type_that_the_content_contradicts_fails(
        private_server: Server, origin: ScriptedServer) -> None:
    with private_server.client(private_server.new_key("importer")) as client:
        created = _import(client, origin.url("/files/red.png"), "VIDEO")
        assert created.status_code == 201, created.text
        done = wait_for(client, created.json()["id"])
    assert done["status"] == "FAILED" and done["failureReason"]
