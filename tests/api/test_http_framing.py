"""Requests broken at the HTTP level, sent byte by byte: each is refused as {"code", "message"}
with the right status, the connection is closed when its framing can no longer be trusted,
and the server goes on serving. Arbitrary query strings at the list route never get a 5xx.
"""

from __future__ import annotations

import json
import math
import string
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.rawhttp import Connection, Reply, exchange, request
from tests.support.server import Server, upload, wait_for

from mediashelf.api.protocol import MAX_HEADER_BYTES, MAX_HEADERS, MAX_QUERY_PARAMS, MAX_URL_BYTES


def _error(reply: Reply, status: int, words: str) -> None:
    assert reply.status == status, reply
    assert reply.headers["content-type"] == "application/json", reply
    body = reply.json()
    assert body == {"code": status, "message": body["message"]}, body
    assert words in body["message"], body


def _refused(port: int, raw: bytes | list[bytes], status: int, words: str) -> None:
    """The request is refused in JSON and its connection closed at once."""
    with Connection(port) as conn:
        conn.send(raw)
        reply = conn.reply()
        _error(reply, status, words)
        assert reply.headers["connection"] == "close" and conn.closed_by_server()


def _still_serving(server: Server, key: str) -> None:
    assert httpx.get(server.url + "/healthz").status_code == 200
    assert httpx.get(server.url + "/v1/assets", headers={"x-api-key": key}).status_code == 200


def _headers(count: int, size: int = 1) -> bytes:
    return b"".join(b"x-filler-%d: %s\r\n" % (i, b"v" * size) for i in range(count))


# Requests the parser cannot take, or that are over a limit: refused, connection closed.
BROKEN: dict[str, tuple[Callable[[str], bytes], int, str]] = {
    "1 MB URL": (lambda k: request("GET", "/v1/assets?q=" + "a" * 1_000_000,
                                    {"x-api-key": k}), 414, "URL is longer than 8 KiB"),
    "10,000 query parameters": (lambda k: request(
        "GET", "/v1/assets?" + "&".join(f"p{i}=1" for i in range(10_000)),
        {"x-api-key": k}), 414, "URL is longer"),
    "too many query parameters in a short URL": (lambda k: request(
        "GET", "/v1/assets?" + "&".join(["type=IMAGE"] * (MAX_QUERY_PARAMS + 1)),
        {"x-api-key": k}), 400, f"more than {MAX_QUERY_PARAMS} query parameters"),
    "a 200 KB header": (lambda k: request("GET", "/healthz", extra=b"x-big: " + b"a" * 200_000
                                          + b"\r\n"), 431, "headers are larger than 32 KiB"),
    "headers over 32 KiB in all": (lambda k: request(
        "GET", "/healthz", extra=_headers(40, 1000)), 431, "larger than 32 KiB"),
    "too many header fields": (lambda k: request(
        "GET", "/healthz", extra=_headers(MAX_HEADERS + 1)), 431,
        f"more than {MAX_HEADERS} header fields"),
    "10,000 header fields": (lambda k: request("GET", "/healthz", extra=_headers(10_000)),
                             431, "header"),
    "Content-Length shorter than the body": (lambda k: request(
        "POST", "/v1/assets", {"x-api-key": k, "content-type": "application/json",
                               "content-length": "2"},
        ) + b'{"name": "a", "type": "IMAGE", "url": "https://example.com/a.png"}', 400,
        "longer than its Content-Length"),
    "raw bytes outside ASCII in the path": (lambda k: request("GET", b"/v1/assets/\xff"),
                                            400, "percent-encoded"),
    "raw bytes outside ASCII in the query": (lambda k: request("GET", b"/v1/assets?type=\xe9"),
                                             400, "percent-encoded"),
    "an unknown method": (lambda k: request("BREW", "/v1/assets"), 400, "method"),
    "a control character in a header": (lambda k: request(
        "GET", "/healthz", extra=b"x-api-key: a\x01b\r\n"), 400, "not valid HTTP/1.1"),
    "Content-Length and chunked together": (lambda k: request(
        "POST", "/v1/assets", {"content-length": "3", "transfer-encoding": "chunked"},
    ) + b"0\r\n\r\n", 400, "not valid HTTP/1.1"),
    "a Content-Length that is not a number": (lambda k: request(
        "POST", "/v1/assets", {"content-length": "ten"}), 400, "not valid HTTP/1.1"),
    "a broken chunk size": (lambda k: request(
        "POST", "/v1/assets", {"x-api-key": k, "content-type": "application/json",
                               "transfer-encoding": "chunked"}) + b"zz\r\n{}\r\n0\r\n\r\n",
        400, "chunked"),
    "an unknown HTTP version": (lambda k: b"GET /healthz HTTP/7.1\r\nHost: x\r\n\r\n", 400,
                                "not valid HTTP/1.1"),
    "TLS to the plain port": (lambda k: bytes.fromhex("160301020001000100fc0303") + b"\0" * 64,
                              400, "request line"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_broken_requests_are_refused_in_json(server: Server, api_key: str, case: str) -> None:
    make, status, words = BROKEN[case]
    _refused(server.port, make(api_key), status, words)
    _still_serving(server, api_key)


def test_a_huge_header_sent_slowly_is_cut_off(server: Server) -> None:
    """httptools keeps a header value until it ends: one that never ends is refused anyway."""
    piece = b"a" * 4096
    pieces = [b"GET /healthz HTTP/1.1\r\nHost: x\r\nx-slow: ", *([piece] * 64)]
    with Connection(server.port) as conn:
        conn.send(pieces, pause=0.002)
        _error(conn.reply(), 431, "larger than 32 KiB")
        assert conn.closed_by_server()


def test_a_head_or_body_that_does_not_arrive_in_time_is_a_408(
        make_server: Callable[..., Server]) -> None:
    """A connection that says nothing, sends its head a line at a time or stops in the middle
    of a body was held for ever: one such client per file descriptor stops a server."""
    srv = make_server({"MEDIASHELF_HEAD_TIMEOUT": "2s", "MEDIASHELF_BODY_TIMEOUT": "2s"})
    key = srv.new_key("slow-heads")
    for first, drip in ((b"", b""), (b"GET /healthz HTTP/1.1\r\nHost: x\r\n", b"x-a: b\r\n")):
        with Connection(srv.port) as conn:
            started = time.monotonic()
            conn.send([first, *[drip] * 12], pause=0.5)  # 6 s of drip; cut off after 2
            _error(conn.reply(), 408, "the request head did not arrive within 2 s")
            assert conn.closed_by_server()
            assert 1.5 < time.monotonic() - started < 8
    # The limit is on the head alone: a slow body, and a second request after a pause on a
    # kept-alive connection, are served.
    body = json.dumps({"name": "slow body", "type": "IMAGE",
                       "url": "https://media.example.invalid/slow.png"}).encode()
    raw = request("POST", "/v1/assets", {"x-api-key": key, "content-type": "application/json"},
                  body)
    at = raw.index(b"\r\n\r\n") + 4
    with Connection(srv.port) as conn:
        conn.send([raw[:at], *[body[i:i + 10] for i in range(0, len(body), 10)]], pause=0.4)
        assert conn.reply().status == 201
        time.sleep(2.5)
        conn.send(request("GET", "/healthz"))
        assert conn.reply().status == 200
    # A body that stops: 408, the connection closed, and nothing kept of it.
    upload = (b"--b\r\ncontent-disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n"
              b"content-type: image/png\r\n\r\n" + b"\x89PNG" + b"x" * 200_000)
    raw = request("POST", "/v1/assets", {"x-api-key": key,
                                          "content-type": "multipart/form-data; boundary=b",
                                          "content-length": str(len(upload) + 1_000_000)})
    with Connection(srv.port) as conn:
        started = time.monotonic()
        conn.send([raw, upload])
        _error(conn.reply(), 408, "the request body stopped arriving: nothing came for 2 s")
        assert conn.closed_by_server()
        assert 1.5 < time.monotonic() - started < 8
    everything = {"status": "READY,PROCESSING,FAILED"}
    with srv.client(key) as client:
        listed = client.get("/v1/assets", params=everything).json()
    assert [a["name"] for a in listed] == ["slow body"]


def test_just_within_the_limits_is_served(server: Server, api_key: str) -> None:
    target = "/v1/assets?pageSize=5&note=" + "a" * (MAX_URL_BYTES - 40)
    extra = _headers(MAX_HEADERS - 4, 200)  # with Host, x-api-key and a few of ours
    assert len(target) <= MAX_URL_BYTES and len(extra) < MAX_HEADER_BYTES
    with Connection(server.port) as conn:
        conn.send(request("GET", target, {"x-api-key": api_key}, extra=extra))
        assert conn.reply().json() == []
        params = "&".join(["type=IMAGE"] * (MAX_QUERY_PARAMS - 1))
        conn.send(request("GET", f"/v1/assets?{params}", {"x-api-key": api_key}))
        assert conn.reply().status == 200


def test_a_head_in_small_pieces_is_served(server: Server, api_key: str) -> None:
    raw = request("GET", "/v1/assets?type=IMAGE", {"x-api-key": api_key})
    with Connection(server.port) as conn:
        conn.send([raw[i:i + 7] for i in range(0, len(raw), 7)])
        assert conn.reply().status == 200
        conn.send(raw)  # and the connection goes on
        assert conn.reply().status == 200


def test_pipelined_requests_are_all_answered(server: Server, api_key: str) -> None:
    """Many requests in one write (over the head limit in all) are each answered in order."""
    one = request("GET", "/healthz", extra=_headers(3, 60))
    burst = one * (2 * (MAX_URL_BYTES + MAX_HEADER_BYTES) // len(one))
    count = burst.count(b"GET ")
    with Connection(server.port) as conn:
        conn.send(burst + request("GET", "/v1/assets/%ff", {"x-api-key": api_key}))
        for _ in range(count):
            assert conn.reply().status == 200
        _error(conn.reply(), 404, "not found")
        assert not conn.closed_by_server(wait=0.5)


def test_app_errors_keep_the_connection(server: Server, api_key: str) -> None:
    """A 400 from the app itself leaves the connection in a known state: it is reused."""
    headers = {"x-api-key": api_key, "content-type": "application/json"}
    with Connection(server.port) as conn:
        conn.send(request("POST", "/v1/assets", headers, b"[" * 1000 + b"]" * 1000))
        _error(conn.reply(), 400, "JSON object")
        conn.send(request("GET", "/v1/assets?type=%ff", {"x-api-key": api_key}))
        _error(conn.reply(), 400, "'type'")
        conn.send(request("GET", "/healthz"))
        assert conn.reply().status == 200


def test_a_body_announced_over_the_cap_is_refused_before_it_is_sent(server: Server,
                                                                    api_key: str) -> None:
    headers = {"x-api-key": api_key, "content-type": "application/json",
               "content-length": "999999999", "expect": "100-continue"}
    with Connection(server.port) as conn:
        conn.send(request("POST", "/v1/assets", headers))
        _error(conn.reply(), 413, "larger than 64 KiB")  # no 100 Continue first


PREFLIGHT = {"origin": "https://a.example", "access-control-request-method": "GET"}


@pytest.mark.parametrize(("method", "target", "headers", "status", "words"), [
    ("GET", "/v1/assets?type=%ff&status=%zz", {}, 400, "'type'"),
    ("GET", "/v1/assets?page=%D9%A1", {}, 400, "'page'"),  # an Arabic-Indic digit one
    ("GET", "/v1/assets?scope=" + "x" * 5000, {}, 400, "'scope'"),
    ("GET", "/v1/assets/%ff", {}, 404, "not found"),
    ("GET", "/files/assets/%ff/original?exp=%ff&sig=%zz", {}, 403, "signature"),
    ("GET", "/web/%ff%fe", {}, 404, "no route"),
    ("GET", "/web/%00/" + "a" * 5000, {}, 404, "no route"),
    ("DELETE", "/healthz/" + "a" * 5000, {}, 404, "no route"),
    ("TRACE", "/v1/assets", {}, 405, "TRACE"),
    ("PROPFIND", "/v1/assets", {}, 405, "PROPFIND"),
    ("POST", "/v1/assets", {"content-type": "\xe9\xff; ;; boundary=="}, 415, "multipart"),
    ("OPTIONS", "/v1/assets", {**PREFLIGHT, "access-control-request-method": "PROPFIND"},
     400, "CORS preflight refused"),
    ("OPTIONS", "/v1/assets", {**PREFLIGHT, "access-control-request-private-network": "true"},
     400, "CORS preflight refused"),
])
def test_odd_but_well_formed_requests_get_json(server: Server, api_key: str, method: str,
                                               target: str, headers: dict[str, str],
                                               status: int, words: str) -> None:
    reply = exchange(server.port, request(method, target, {"x-api-key": api_key, **headers},
                                          b"x" if method == "POST" else b""))
    _error(reply, status, words)
    assert len(reply.json()["message"]) < 200  # what the client sent is quoted, cut short


def test_an_allowed_preflight_still_passes(server: Server) -> None:
    reply = exchange(server.port, request("OPTIONS", "/v1/assets", PREFLIGHT))
    assert reply.status == 200 and reply.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("value", [b"\xe9\xff\xfe", b"msk_\x80\x81", b"\xa0" * 300])
def test_keys_outside_ascii_are_a_401(server: Server, value: bytes) -> None:
    for extra in (b"x-api-key: " + value, b"Authorization: Bearer " + value,
                  b"Authorization: ApiKey " + value):
        reply = exchange(server.port, request("GET", "/v1/assets", extra=extra + b"\r\n"))
        _error(reply, 401, "key")


def test_upgrade_requests_are_plain_http(server: Server, api_key: str) -> None:
    websocket = {"connection": "Upgrade", "upgrade": "websocket",
                 "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ=="}
    _error(exchange(server.port, request("GET", "/v1/assets", websocket)), 401, "API key")
    reply = exchange(server.port, request("GET", "/v1/assets",
                                          {**websocket, "x-api-key": api_key}))
    assert reply.status == 200 and reply.json() == []


def test_a_body_on_get_is_ignored(server: Server, api_key: str) -> None:
    with Connection(server.port) as conn:
        conn.send(request("GET", "/v1/assets", {"x-api-key": api_key}, b'{"type": "VIDEO"}'))
        assert conn.reply().json() == []
        conn.send(request("GET", "/healthz"))
        assert conn.reply().status == 200


@pytest.mark.parametrize("query", [
    "exp=%C2%B2&sig=0",  # a superscript two: a digit to str.isdigit(), not to int()
    "exp=" + "9" * 5000 + "&sig=0",  # more digits than int() reads
    "exp=1&sig=%C3%A9%F0%9F%8E%AC",  # a signature outside ASCII
])
def test_hostile_file_link_queries_are_a_403(server: Server, query: str) -> None:
    reply = exchange(server.port, request("GET", f"/files/assets/x/original?{query}"))
    _error(reply, 403, "signature")


@pytest.mark.parametrize(("range_", "status", "words"), [
    ("bytes=5-1", 400, "invalid Range header"),
    ("bytes=", 400, "invalid Range header"),
    ("pages=1-2", 400, "invalid Range header"),
    ("\xe9\xff", 400, "invalid Range header"),
    ("bytes=99999999-", 416, "past the end of the file"),
])
def test_bad_ranges_on_file_links_get_json(server: Server, client: httpx.Client,
                                           media: dict[str, Path], range_: str, status: int,
                                           words: str) -> None:
    if server.backend != "sqlite-local":
        pytest.skip("S3 serves its own presigned links")
    url = wait_for(client, upload(client, media["png"])["id"])["fileUrl"]
    target = url.split(str(server.port), 1)[1]
    reply = exchange(server.port, request("GET", target, {"range": range_}))
    _error(reply, status, words)
    if status == 416:
        assert reply.headers["content-range"] == f"bytes */{media['png'].stat().st_size}"
    reply = exchange(server.port, request("GET", target, {"range": "bytes=0-3"}))
    assert reply.status == 206 and reply.body == media["png"].read_bytes()[:4]


# --- property-based: arbitrary query strings at the list route -------------------------------

query_bytes = st.lists(
    st.sampled_from(["type", "status", "page", "pageSize", "scope", "x"]).map(str.encode)
    | st.binary(max_size=6).map(lambda b: urllib.parse.quote_from_bytes(b).encode()), max_size=6)
values = (st.sampled_from(["IMAGE", "VIDEO,AUDIO", "READY", "FAILED", "1", "100", "0", "-1",
                           "mine", "system", "", "%ff", "%zz", "%", "9" * 30, "1e3", "%D9%A1"])
          | st.text(string.ascii_letters + string.digits + string.punctuation, max_size=12)
          | st.binary(max_size=8).map(urllib.parse.quote_from_bytes)
          | st.binary(min_size=1, max_size=4).map(  # raw bytes outside ASCII: not a valid URL
              lambda b: bytes(x | 0x80 for x in b).decode("latin-1")))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(names=query_bytes, vals=st.lists(values, min_size=6, max_size=6),
       separators=st.lists(st.sampled_from([b"&", b"&&", b";", b"="]), min_size=6, max_size=6))
def test_arbitrary_query_strings_are_never_a_server_error(server: Server, api_key: str,
                                                          names: list[bytes], vals: list[str],
                                                          separators: list[bytes]) -> None:
    parts = [name + b"=" + value.encode("latin-1").replace(b"#", b"%23")
             for name, value in zip(names, vals, strict=False)]
    query = b"".join(part + sep for part, sep in zip(parts, separators, strict=False))
    reply = exchange(server.port, request("GET", b"/v1/assets?" + query,
                                          {"x-api-key": api_key}))
    assert reply.status in (200, 400), (query, reply)
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    if reply.status == 200:
        assert isinstance(body, list)
        size = int(reply.headers["x-page-size"])
        assert 1 <= size <= 100 and len(body) <= size
        assert int(reply.headers["x-total-pages"]) == math.ceil(
            int(reply.headers["x-total-count"]) / size)
    else:
        assert body == {"code": 400, "message": body["message"]} and len(body["message"]) < 300
        assert "parameter" in body["message"] or "URL" in body["message"]


@pytest.mark.parametrize("target", [
    "/healthz", "/readyz", "/metrics", "/", "/docs", "/v1/assets", "/v1/assets?pageSize=2",
    "/v1/assets?status=bogus", "/v1/assets/00000000-0000-0000-0000-000000000000", "/v1/trash",
    "/v1/webhooks", "/v1/assets/not-an-id",
])
@pytest.mark.parametrize("keyed", [True, False])
def test_head_answers_as_get_does_without_a_body(server: Server, api_key: str, target: str,
                                                 keyed: bool) -> None:
    """curl -I and uptime monitors send HEAD: FastAPI answered 405 wherever GET was taken."""
    headers = {"x-api-key": api_key} if keyed else {}
    with httpx.Client(base_url=server.url, headers=headers) as client:
        got, head = client.get(target), client.head(target)
    assert head.status_code == got.status_code, (target, head.status_code, got.text)
    assert head.content == b""
    skip = {"date", "content-length"} if target == "/metrics" else {"date"}  # counts move
    assert ({k: v for k, v in head.headers.items() if k not in skip}
            == {k: v for k, v in got.headers.items() if k not in skip})


def test_head_on_the_event_stream_is_refused(server: Server, api_key: str) -> None:
    """Its GET never ends; HEAD is a 405 that names GET (not a stream left open)."""
    res = httpx.head(server.url + "/v1/events", headers={"x-api-key": api_key}, timeout=10)
    assert res.status_code == 405 and res.headers["allow"] == "GET"
