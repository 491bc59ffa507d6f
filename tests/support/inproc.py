"""The real app in the test process: `create_app(settings)`, its lifespan, and httpx clients.

The app lives on one event loop (an anyio blocking portal's thread) from start to stop, as it
does under uvicorn: its PostgreSQL key batcher is bound to the loop it first ran on. Requests from
the tests' synchronous `httpx.Client`s are handed to that loop and go through httpx's
`ASGITransport`; the lifespan is the app's own (`app.router.lifespan_context`), so the embedded
worker runs and uploads reach READY.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

_HOST = "testserver"
BASE_URL = f"http://{_HOST}"  # fileUrl and thumbnailUrl of local storage point here too
T = TypeVar("T")

# Run a test over the real server as well as in-process: the smoke set of each area.
both_ways = pytest.mark.parametrize("api", ["inproc", "http"], indirect=True)


class Api(Protocol):
    """What API tests use of the app under test: `InProcess` here, or the real `Server`."""

    backend: str

    @property
    def services(self) -> Any: ...

    def client(self, key: str | None = None, **kwargs: Any) -> httpx.Client: ...

    def new_key(self, tenant: str) -> str: ...


class _AppTransport(httpx.BaseTransport):
    """Hands requests for BASE_URL to the app on its loop, through httpx's ASGITransport; any
    other URL (S3's signed ones) goes to the network."""

    def __init__(self, app: Any, portal: BlockingPortal) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self._portal = portal
        self._network: httpx.HTTPTransport | None = None  # made on first use: it costs ~40 ms

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host != _HOST:
            self._network = self._network or httpx.HTTPTransport()
            return self._network.handle_request(request)
        body = request.read()

        async def send() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            res = await self._asgi.handle_async_request(httpx.Request(
                request.method, request.url, headers=request.headers, content=body))
            raw = b"".join([chunk async for chunk in res.aiter_raw()])
            return res.status_code, res.headers.raw, raw

        status, headers, raw = self._portal.call(send)
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(raw),
                              request=request)

    def close(self) -> None:
        if self._network is not None:
            self._network.close()


class InProcess:
    """The app as `serve` builds it (schema brought up to date, worker embedded), no socket."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None,
                 backend: str = "sqlite-local", run_worker: bool = True) -> None:
        from mediashelf.settings import load_settings

        given = {k[len("MEDIASHELF_"):].lower(): v for k, v in (env or {}).items()
                 if k.startswith("MEDIASHELF_")}
        # wrong keys not counted unless a test asks (as tests/support/server.py)
        self.settings = load_settings(**{"data_dir": data_dir, "seed_music": False,
                                         "poll_interval": 0.2, "public_url": BASE_URL,
                                         "auth_failure_limit": "off", **given})
        self.backend = backend
        self.run_worker = run_worker
        self.app: Any = None
        self._stack = ExitStack()
        self._portal: BlockingPortal | None = None
        self._services: Any = None

    def start(self) -> InProcess:
        from mediashelf.app import create_app
        from mediashelf.cli.base import prepare  # what `serve` runs before it builds the app

        services = prepare(self.settings, with_worker=self.run_worker, seed=False)
        try:
            self.app = create_app(self.settings, run_worker=self.run_worker, services=services)
            self._portal = self._stack.enter_context(start_blocking_portal())
            self._stack.enter_context(self._portal.wrap_async_context_manager(
                self.app.router.lifespan_context(self.app)))
        except BaseException:
            self._stack.close()
            services.close()
            raise
        return self

    def stop(self) -> None:
        """Run the lifespan's shutdown (worker, decoder pool, database), then the loop's end."""
        self._stack.close()
        self._portal = None
        if self.app is not None:  # a server process lets its exit close S3's pooled sockets
            _close_storage(self.app.state.services)
        if self._services is not None:
            self._services.close()
            _close_storage(self._services)
            self._services = None

    @property
    def services(self) -> Any:
        """Services of their own on the same database and storage, as another process has."""
        if self._services is None:
            from mediashelf.app import build_services

            self._services = build_services(self.settings, with_worker=False)
        return self._services

    def client(self, key: str | None = None, **kwargs: Any) -> httpx.Client:
        """A client whose requests to BASE_URL reach the app; other URLs (S3's) the network."""
        assert self._portal is not None, "app not started"
        headers = {"x-api-key": key} if key else {}
        return httpx.Client(base_url=BASE_URL, headers=headers, timeout=30,
                            transport=_AppTransport(self.app, self._portal), **kwargs)

    def transport(self) -> httpx.BaseTransport:
        """What `client` sends through, for other clients (the SDK's) to use."""
        assert self._portal is not None, "app not started"
        return _AppTransport(self.app, self._portal)

    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """For use inside `run`: requests in flight together on the app's own loop."""
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=BASE_URL,
                                 timeout=30, **kwargs)

    def run(self, func: Callable[[], Awaitable[T]]) -> T:
        """Await `func()` on the app's loop and return its result."""
        assert self._portal is not None, "app not started"
        return self._portal.call(func)

    def new_key(self, tenant: str) -> str:
        plain, _ = self.services.keys.create(tenant)
        return str(plain)


def _close_storage(services: Any) -> None:
    getattr(services.storage, "close", lambda: None)()
