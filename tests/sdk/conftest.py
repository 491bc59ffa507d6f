"""SDK fixtures: a Client on the session server with a fresh tenant, and a scripted HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from mediashelf_client import Client
from tests.support.server import Server

Reply = tuple[int, dict[str, str], Any]


@pytest.fixture
def sdk(server: Server, api_key: str) -> Iterator[Client]:
    with Client(server.url, api_key) as c:
        yield c


@dataclass
class Scripted:
    """A real loopback HTTP server answering from a script; it records every request it got."""

    url: str
    replies: list[Reply] = field(default_factory=list)
    fallback: Callable[[str, str], Reply] = lambda method, path: (404, {}, {"code": 404,
                                                                          "message": "nope"})
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def reply(self, method: str, path: str) -> Reply:
        return self.replies.pop(0) if self.replies else self.fallback(method, path)


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    state: list[Scripted] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            script = state[0]
            script.requests.append((self.command, self.path, dict(self.headers)))
            status, headers, body = script.reply(self.command, self.path)
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            for k, v in {"content-type": "application/json", **headers}.items():
                self.send_header(k, v)
            self.send_header("content-length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state.append(Scripted(f"http://127.0.0.1:{httpd.server_address[1]}"))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state[0]
    httpd.shutdown()
    httpd.server_close()
    thread.join()
