"""uvicorn's HTTP/1.1 protocol with our request limits, refusing in JSON like the rest of the API.

uvicorn answers a request its parser gives up on by itself, before the app sees anything, with a
plain-text 400. This subclass keeps uvicorn's parsing and connection handling (httptools) and only
enforces the limits below while the request head arrives, and writes every refusal as
{"code", "message"} followed by closing the connection, as uvicorn does. `serve` hands it to
uvicorn's Config (`http=`), in one process or several.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

log = logging.getLogger("mediashelf.http")

MAX_URL_BYTES = 8 * 1024  # the request target, path and query: 414 beyond
MAX_HEADERS = 100  # header fields: 431 beyond
MAX_HEADER_BYTES = 32 * 1024  # names and values together: 431 beyond
MAX_QUERY_PARAMS = 256  # '&'-separated parts of the query: 400 beyond


class Refused(Exception):
    """A request refused while its head is read; raised in a parser callback."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class JsonErrorsProtocol(HttpToolsProtocol):
    """httptools' protocol, refusing over-limit and malformed requests in JSON."""

    # The limits are checked once a head is complete, in a few comparisons; while one is still
    # arriving, only the reads that bring nothing else are counted. httptools holds a header's
    # value until it is whole, so that count is what bounds a head that never ends.

    def __init__(self, *args: Any, head_timeout: float, body_timeout: float,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A connection that says nothing, sends its head a byte at a time or stops in the
        # middle of a body would be held for ever (uvicorn times out only idle connections
        # between requests): one such client per file descriptor stops the server. The limits
        # are MEDIASHELF_HEAD_TIMEOUT and MEDIASHELF_BODY_TIMEOUT (seconds; 0 turns one off).
        self._head_timeout, self._body_timeout = head_timeout, body_timeout
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._body_due = False  # a head is complete and its body is not
        self._body_seen = 0.0  # loop time of the last bytes read while a body was due
        self._heads = 0  # request heads begun on this connection
        self._in_head = False  # the last one begun is not complete
        self._read = 0  # bytes of the read being parsed
        self._first = 0  # bytes of the read in which the current head began
        self._whole = 0  # bytes of the reads since, until the one that completes it

    def data_received(self, data: bytes) -> None:
        heads, in_head = self._heads, self._in_head
        self._read = len(data)
        super().data_received(data)
        if in_head and self._in_head and heads == self._heads:
            self._whole += len(data)
            if len(self.url) > MAX_URL_BYTES:
                self._write_error(414, _URL_TOO_LONG)
            elif self._whole > MAX_URL_BYTES + MAX_HEADER_BYTES:
                self._write_error(431, _HEADERS_TOO_LARGE)
        if self._body_due:  # the time of a read, not a timer moved on every chunk
            self._body_seen = self.loop.time()
            if self._body_timer is None and self._body_timeout > 0:
                self._body_timer = self.loop.call_later(self._body_timeout, self._body_idle)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        self._body_due = False
        if self._body_timer is not None:
            self._body_timer.cancel()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._heads += 1
        self._in_head, self._first, self._whole = True, self._read, 0
        if self._head_timer is None:
            self._await_head()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._stop_waiting()
        self._body_due = True  # until on_message_complete, within this read for a GET
        url = self.url
        if (len(url) > MAX_URL_BYTES or len(self.headers) > MAX_HEADERS
                or self._first + self._whole + self._read > MAX_HEADER_BYTES  # the most it was
                or url.count(b"&") >= MAX_QUERY_PARAMS):
            self._check_head()
        super().on_headers_complete()

    def _check_head(self) -> None:
        """Refused if the complete head is over a limit (measured exactly, so only when it
        may be)."""
        if len(self.url) > MAX_URL_BYTES:
            raise Refused(414, _URL_TOO_LONG)
        if len(self.headers) > MAX_HEADERS:
            raise Refused(431, f"the request has more than {MAX_HEADERS} header fields")
        if sum(len(name) + len(value) for name, value in self.headers) > MAX_HEADER_BYTES:
            raise Refused(431, _HEADERS_TOO_LARGE)
        if self.url.partition(b"?")[2].count(b"&") >= MAX_QUERY_PARAMS:
            raise Refused(400, f"the URL has more than {MAX_QUERY_PARAMS} query parameters")

    def on_message_complete(self) -> None:
        self._body_due = False
        super().on_message_complete()

    def _body_idle(self) -> None:
        self._body_timer = None
        if not self._body_due or self.transport.is_closing():
            return
        now = self.loop.time()
        if self.flow.read_paused:  # we stopped reading (the app is behind): not the client
            self._body_seen = now
        wait = self._body_seen + self._body_timeout - now
        if wait > 0:
            self._body_timer = self.loop.call_later(wait, self._body_idle)
            return
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()  # the reply has begun: nothing else can be said
            return
        self._write_error(408, f"the request body stopped arriving: nothing came for "
                               f"{self._body_timeout:g} s")

    def _await_head(self) -> None:
        if self._head_timeout > 0:
            self._head_timer = self.loop.call_later(self._head_timeout, self._head_too_slow)

    def _stop_waiting(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            self._await_head()  # a reply is still being written: the 408 would cut into it
            return
        self._write_error(408, f"the request head did not arrive within "
                               f"{self._head_timeout:g} s")

    def send_400_response(self, msg: str) -> None:
        """uvicorn calls this while handling the parser's error: answer for that error."""
        error = sys.exception()
        status, message = _refusal(error)
        self._write_error(status, message, str(error.__context__ or error) if error else msg)

    def _write_error(self, status: int, message: str, why: str = "") -> None:
        if self.transport.is_closing():
            return
        log.info("http.refused", extra={"status": status, "why": why or message,
                                        "client": self.client and self.client[0]})
        body = orjson.dumps({"code": status, "message": message})
        head = [STATUS_LINE[status]]
        head += [b"%s: %s\r\n" % pair for pair in self.server_state.default_headers]
        head.append(b"content-type: application/json\r\ncontent-length: %d\r\n"
                    b"connection: close\r\n\r\n" % len(body))
        self.transport.write(b"".join(head) + body)
        self.transport.close()

    def _unsupported_upgrade_warning(self) -> None:
        """An Upgrade we do not speak (WebSocket, h2c) is served as plain HTTP/1.1: no log."""


_URL_TOO_LONG = f"the URL is longer than {MAX_URL_BYTES // 1024} KiB"
_HEADERS_TOO_LARGE = f"the request headers are larger than {MAX_HEADER_BYTES // 1024} KiB"
_BAD_TARGET = "the URL is not valid: characters outside ASCII must be percent-encoded"
_BAD_LINE = ("the request line is not valid: an unknown method, or bytes left over from a "
             "body longer than its Content-Length")
_BAD_REQUEST = ("the request is not valid HTTP/1.1: check the request line, the header fields "
                "and that the body matches Content-Length or its chunked framing")


def _refusal(exc: BaseException | None) -> tuple[int, str]:
    """The status and our message for a parser error (its own text stays in the log)."""
    cause = exc.__context__ if isinstance(exc, httptools.HttpParserCallbackError) else exc
    if isinstance(cause, Refused):
        return cause.status, cause.message
    if isinstance(cause, httptools.HttpParserInvalidURLError | UnicodeDecodeError):
        return 400, _BAD_TARGET
    if isinstance(cause, httptools.HttpParserInvalidMethodError):
        return 400, _BAD_LINE
    return 400, _BAD_REQUEST

