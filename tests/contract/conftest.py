"""Each storage backend and each database, as fixture parameters for the contract suites."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from tests.support import backends
from tests.support.backends import AWS_ENV, MotoServer
from tests.support.server import free_port

from mediashelf.api import errors
from mediashelf.api import files as files_api
from mediashelf.db import migrate
from mediashelf.db.database import Database, open_database
from mediashelf.security import UrlSigner
from mediashelf.storage.base import Storage
from mediashelf.storage.local import LocalStorage
from mediashelf.storage.s3 import S3Storage

_REMOTE = "postgres-s3" in backends.selected()
STORAGES = ["local", *(["s3"] if _REMOTE else [])]
DATABASES = ["sqlite", *(["postgresql"] if _REMOTE else [])]


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    srv = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log").start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def files_server() -> Iterator[tuple[str, FastAPI]]:
    """The real /files route on loopback, serving whichever LocalStorage a test puts in it."""
    app = FastAPI()
    errors.install(app)
    app.include_router(files_api.router)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", app
    server.should_exit = True
    thread.join(10)


@pytest.fixture(params=STORAGES)
def storage(request: pytest.FixtureRequest, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Storage]:
    if request.param == "local":
        base, app = request.getfixturevalue("files_server")
        signer = UrlSigner(b"k" * 32)
        local = LocalStorage(tmp_path / "files", base, signer)
        app.state.storage, app.state.signer = local, signer
        yield local
        return
    moto: MotoServer = request.getfixturevalue("moto")
    for k, v in AWS_ENV.items():
        monkeypatch.setenv(k, v)
    with moto.bucket() as bucket:
        # 5 MiB parts (S3's minimum) so that a few MiB already make a multipart upload
        s3 = S3Storage.from_url(f"s3://{bucket}/lib", endpoint_url=moto.endpoint,
                                url_ttl=3600, part_size=5 * 2**20)
        yield s3
        s3.close()


@pytest.fixture(params=DATABASES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh database at the current schema, for the repository contract."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'test.db'}"
        else:
            url = stack.enter_context(backends.pg_database())
        db = open_database(url, pool_size=10, max_overflow=10)
        stack.callback(db.close)
        migrate.upgrade(db)
        yield db
