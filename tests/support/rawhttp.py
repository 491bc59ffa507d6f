"""HTTP/1.1 written byte by byte over a socket, for the requests httpx refuses to send."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Connection:
    """One client connection; `send` writes raw bytes, `reply` reads one whole response."""

    def __init__(self, port: int, timeout: float = 15) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self._buffer = b""

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *_: object) -> None:
        self.sock.close()

    def send(self, data: bytes | Iterable[bytes], pause: float = 0.0) -> None:
        """Write data (pieces apart by `pause` seconds); the server may stop reading and close
        first, which is not an error here: the reply it wrote is still there to read."""
        pieces = [data] if isinstance(data, bytes) else data
        try:
            for piece in pieces:
                self.sock.sendall(piece)
                if pause:
                    time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def reply(self, head_only: bool = False) -> Reply:
        head = self._read_until(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if head_only or status in (100, 204, 304):
            return Reply(status, headers, b"")
        if headers.get("transfer-encoding") == "chunked":
            body = b""
            while size := int(self._read_until(b"\r\n"), 16):
                body += self._read_exactly(size)
                self._read_until(b"\r\n")
            self._read_until(b"\r\n")
            return Reply(status, headers, body)
        return Reply(status, headers, self._read_exactly(int(headers["content-length"])))

    def closed_by_server(self, wait: float = 5) -> bool:
        """Whether the server ends the connection (EOF or reset) within `wait` seconds."""
        self.sock.settimeout(wait)
        try:
            return self._buffer == b"" and self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False

    def _fill(self) -> None:
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise ConnectionError(f"connection ended; unread: {self._buffer[:200]!r}")
        self._buffer += chunk

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self._buffer:
            self._fill()
        found, _, self._buffer = self._buffer.partition(marker)
        return found

    def _read_exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._fill()
        found, self._buffer = self._buffer[:size], self._buffer[size:]
        return found


def exchange(port: int, data: bytes | Iterable[bytes], pause: float = 0.0) -> Reply:
    """Send one raw request on a new connection and read its reply."""
    with Connection(port) as conn:
        conn.send(data, pause)
        return conn.reply()


def request(method: str, target: str | bytes, headers: dict[str, str] | None = None,
            body: bytes = b"", *, extra: bytes = b"") -> bytes:
    """A request's bytes: Content-Length is added for a body; `extra` goes in as header lines."""
    raw_target = target if isinstance(target, bytes) else target.encode("latin-1")
    head = b"%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n" % (method.encode(), raw_target)
    for name, value in (headers or {}).items():
        head += f"{name}: {value}\r\n".encode("latin-1")
    if body:
        head += b"content-length: %d\r\n" % len(body)
    return head + extra + b"\r\n" + body
