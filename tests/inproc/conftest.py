"""API behaviour tests on the real app in-process (tests/support/inproc.py), on every backend.

`api` is the app under test: in-process, or the session's real server for the tests marked
`both_ways` (the smoke set of each area). `api_key` and `client` follow it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.support.backends import Backend
from tests.support.inproc import Api, InProcess


@pytest.fixture(scope="session")
def app(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcess]:
    """One app per backend for the session; tests keep to their own tenants."""
    with backend.provision() as env:
        started = InProcess(tmp_path_factory.mktemp("inproc") / "data", env,
                            backend=backend.name).start()
        yield started
        started.stop()


@pytest.fixture
def make_app(backend: Backend, tmp_path: Path) -> Iterator[Callable[..., InProcess]]:
    """Start a dedicated app on a fresh library of the backend."""
    with ExitStack() as stack:

        def make(run_worker: bool = True, env: dict[str, str] | None = None) -> InProcess:
            given = stack.enter_context(backend.provision())
            made = InProcess(tmp_path / f"data{uuid.uuid4().hex[:6]}", {**given, **(env or {})},
                             backend=backend.name, run_worker=run_worker).start()
            stack.callback(made.stop)
            return made

        yield make


@pytest.fixture
def api(request: pytest.FixtureRequest, backend: Backend) -> Api:
    """The app in-process, or the real server where a test is parametrized with "http"."""
    over_http = getattr(request, "param", "inproc") == "http"
    found: Api = request.getfixturevalue("server" if over_http else "app")
    assert found.backend == backend.name
    return found


@pytest.fixture
def api_key(api: Api) -> str:
    return api.new_key(f"t-{uuid.uuid4().hex[:10]}")


@pytest.fixture
def client(api: Api, api_key: str) -> Iterator[httpx.Client]:
    with api.client(api_key) as c:
        yield c
