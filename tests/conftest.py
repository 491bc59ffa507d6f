"""Shared fixtures: the real server over HTTP on a temporary data dir, keys, sample media."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.support import backends, samples
from tests.support.backends import Backend
from tests.support.server import Server


@pytest.fixture(scope="session", autouse=True)
def _client_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The client's file-digest cache (folder uploads) in a temporary folder, not the home's."""
    os.environ["MEDIASHELF_CACHE_DIR"] = str(tmp_path_factory.mktemp("client-cache"))


@pytest.fixture(scope="session", params=backends.selected())
def backend(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """The (database, storage) pair the servers run on; every server test runs on each."""
    b = Backend(request.param, tmp_path_factory.mktemp(request.param)).start()
    yield b
    b.stop()


@pytest.fixture(scope="session")
def server(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per backend for the session; tests keep to their own tenants."""
    with backend.provision() as env:
        srv = Server(tmp_path_factory.mktemp("shared") / "data", env,
                     backend=backend.name).start()
        yield srv
        srv.stop()


@pytest.fixture
def make_server(backend: Backend, tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start a dedicated server (on a fresh library of the backend) with extra variables."""
    started: list[Server] = []
    with ExitStack() as stack:

        def make(env: dict[str, str] | None = None, args: tuple[str, ...] = (),
                 start: bool = True) -> Server:
            provided = stack.enter_context(backend.provision())
            srv = Server(tmp_path / f"data{len(started)}", {**provided, **(env or {})}, args,
                         backend=backend.name)
            started.append(srv)
            return srv.start() if start else srv

        yield make
        for srv in started:
            srv.stop()


@pytest.fixture
def api_key(server: Server) -> str:
    return server.new_key(f"t-{uuid.uuid4().hex[:10]}")


@pytest.fixture
def client(server: Server, api_key: str) -> Iterator[httpx.Client]:
    with server.client(api_key) as c:
        yield c


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small real files: png, jpeg, mp4, mp3, and a corrupt one."""
    d = tmp_path_factory.mktemp("media")
    files = {
        "png": samples.png(d / "red.png"),
        "jpeg": samples.jpeg(d / "gradient.jpg"),
        "mp4": samples.mp4(d / "clip.mp4"),
        "mp3": samples.mp3(d / "tone.mp3"),
    }
    corrupt = d / "broken.png"
    corrupt.write_bytes(files["png"].read_bytes()[:40] + b"\x00garbage" * 20)
    files["corrupt"] = corrupt
    return files


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated media corpus (tests/media_corpus.py), built once per session."""
    from tests import media_corpus

    directory = tmp_path_factory.getbasetemp() / "media-corpus"
    media_corpus.build(directory)
    return directory
