"""A webhook receiver for tests: a real HTTP(S) server on a loopback address that keeps every
POST (headers and body exactly as received) and answers what the test scripts."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from standardwebhooks import Webhook

from tests.support.http_servers import TlsHttpServer


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]  # lower-cased names
    body: bytes
    at: float  # time.monotonic()
    path: str = "/"
    wall: float = 0.0  # time.time(), to compare with the timestamps in payloads
    peer: tuple[str, int] = ("", 0)  # the sender's address and port: its connection

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def verify(self, secret: str) -> Any:
        """The payload, checked by the reference library (raises if no signature matches)."""
        return Webhook(secret).verify(self.body, self.headers)


class _Handler(BaseHTTPRequestHandler):
    server: TlsHttpServer
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        got = Received({k.lower(): v for k, v in self.headers.items()}, body, time.monotonic(),
                       self.path, time.time(), tuple(self.client_address[:2]))
        with owner.lock:
            status = owner.statuses.pop(0) if owner.statuses else owner.default
            owner.received.append(got)
        if owner.delay:
            time.sleep(owner.delay)
        reply = owner.reply.encode()
        self.send_response(status)
        self.send_header("content-length", str(len(reply)))
        if not owner.keep_alive:
            self.send_header("connection", "close")
        self.end_headers()
        self.wfile.write(reply)
        self.close_connection = not owner.keep_alive

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Receiver:
    """statuses: the answers to the next POSTs in order, then `default` for every other."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.received: list[Received] = []
        self.statuses: list[int] = []
        self.default = 200
        self.delay = 0.0
        self.reply = "ok"
        self.keep_alive = False  # True: connections stay open between POSTs, as most servers do
        self.ssl_context = ssl_context
        self.lock = threading.Lock()
        self.host = host
        self._httpd = TlsHttpServer((host, port), _Handler)
        self._httpd.owner = self
        self.port: int = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def url(self, path: str = "/hook", host: str | None = None) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{host or self.host}:{self.port}{path}"

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def wait(self, check: Callable[[list[Received]], bool], timeout: float = 60,
             what: str = "deliveries") -> list[Received]:
        return wait_for(self.snapshot, check, timeout, what)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


def wait_for(snapshot: Callable[[], list[Received]], check: Callable[[list[Received]], bool],
             timeout: float = 60, what: str = "deliveries") -> list[Received]:
    """snapshot() once check() accepts it; AssertionError after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = snapshot()
        if check(got):
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not there after {timeout} s ({len(got)} received)")
        time.sleep(0.05)


@contextmanager
def receiver(host: str = "127.0.0.1", port: int = 0,
             ssl_context: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    r = Receiver(host, port, ssl_context)
    try:
        yield r
    finally:
        r.close()
