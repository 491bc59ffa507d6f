"""The JSON body of POST /v1/assets (a URL import) against hostile input: a 400 (or 413) naming
the problem, in our error shape, never a 5xx."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tests.support.rawhttp import exchange, request
from tests.support.server import Server

# .invalid never resolves: the worker fails these imports at once, whatever the network.
GOOD = {"name": "Logo", "type": "IMAGE", "url": "https://logo.example.invalid/logo.png"}
JSON = {"content-type": "application/json"}


def _import(client: httpx.Client, body: bytes, headers: dict[str, str] | None = None
            ) -> httpx.Response:
    return client.post("/v1/assets", content=body, headers=headers or JSON)


def _check_error(res: httpx.Response) -> dict[str, Any]:
    assert res.status_code < 500, res.text
    assert res.headers["content-type"] == "application/json", res.text
    body: dict[str, Any] = res.json()
    if res.status_code >= 400:
        assert body == {"code": res.status_code, "message": body["message"]}
        assert isinstance(body["message"], str) and 0 < len(body["message"]) < 300
    return body


def _body(**members: Any) -> bytes:
    return json.dumps({**GOOD, **members}).encode()


@pytest.mark.parametrize(("raw", "status", "words"), [
    (b"[" * 1000 + b"]" * 1000, 400, "not an array"),
    (b'{"a":' * 1000 + b"1" + b"}" * 1000, 400, "unknown member 'a'"),
    (b"[" * 5000 + b"]" * 5000, 400, "nested too deeply"),
    (b'{"name": "\xff\xfe", "type": "IMAGE", "url": "https://e.com/a"}', 400, "not UTF-8"),
    (b"\xef\xbb\xbf" + _body(), 400, "byte order mark"),
    (_body(name="\ud800"), 400, "lone UTF-16 surrogate"),
    (_body(name="a\udfffb"), 400, "surrogate"),
    (b'{"name": NaN, "type": "IMAGE", "url": "https://e.com/a"}', 400, "NaN and Infinity"),
    (b'{"name": -Infinity, "type": "IMAGE", "url": "https://e.com/a"}', 400, "NaN"),
    (b'{"name": 1' + b"0" * 5000 + b', "type": "IMAGE", "url": "https://e.com/a"}', 400,
     "out of range"),
    (b'{"name": 1e999, "type": "IMAGE", "url": "https://e.com/a"}', 400, "out of range"),
    (b'{"name": "a", "name": "b", "type": "IMAGE", "url": "https://e.com/a"}', 400,
     "'name' is given more than once"),
    (b'{"name": ' + b"[" * 1010 + b"]" * 1010 + b', "name": "b", "type": "IMAGE", '
     b'"url": "https://e.com/a"}', 400, "more than once"),
    (_body(name=5), 400, "'name' must be a string, not a number"),
    (_body(url=["x"]), 400, "'url' must be a string, not an array"),
    (_body(type=None), 400, "'type' must be a string, not null"),
    (_body(type=True), 400, "not a boolean"),
    (_body(url={"href": "x"}), 400, "not an object"),
    (_body(type="PDF"), 400, "AUDIO, IMAGE, VIDEO"),
    (_body(type="P" * 10_000), 400, "'type'"),
    (_body(name="   "), 400, "'name' must not be empty"),
    (_body(extra=1), 400, "unknown member 'extra'"),
    (_body(**{"x" * 5000: 1}), 400, "unknown member"),
    (json.dumps({"name": "a", "type": "IMAGE"}).encode(), 400, "'url' is required"),
    (b"", 400, "the body is empty"),
    (b" \r\n\t ", 400, "the body is empty"),
    (b"null", 400, "not null"),
    (b"[]", 400, "not an array"),
    (b'"str"', 400, "not a string"),
    (b"12", 400, "not a number"),
    (b"{not json", 400, "not valid JSON (line 1, column 2)"),
    (_body() + b" trailing", 400, "not valid JSON"),
    (b'{"name": "a\x01b", "type": "IMAGE", "url": "https://e.com/a"}', 400, "not valid JSON"),
    (b'{"name": "' + b"a" * 70_000 + b'"}', 413, "larger than 64 KiB"),
])
def test_bad_json_bodies(client: httpx.Client, raw: bytes, status: int, words: str) -> None:
    res = _import(client, raw)
    assert res.status_code == status, res.text
    assert words in _check_error(res)["message"]


def test_a_good_body_still_imports(client: httpx.Client) -> None:
    res = _import(client, _body(), {"content-type": "application/json; charset=utf-8"})
    assert res.status_code == 201 and res.json()["name"] == "Logo", res.text
    # the same URL again: kept as another asset (dedupe false), to show the name it was sent
    utf8 = json.dumps({**GOOD, "name": "Fête ☀ 🎬", "dedupe": False}, ensure_ascii=False
                      ).encode()
    for raw in (utf8, _body(name="Fête ☀ 🎬", dedupe=False)):  # as UTF-8, and as \u escapes
        res = _import(client, raw, {"content-type": "text/x+json"})
        assert res.status_code == 201 and res.json()["name"] == "Fête ☀ 🎬", res.text


def test_chunked_bodies(client: httpx.Client) -> None:
    """A body without Content-Length is read as it comes, and cut off at the cap."""
    def pieces(data: bytes, size: int) -> Iterator[bytes]:
        yield from (data[i:i + size] for i in range(0, len(data), size))

    res = client.post("/v1/assets", content=pieces(_body(), 7), headers=JSON)
    assert res.status_code == 201, res.text
    res = client.post("/v1/assets", content=pieces(b" " * 200_000, 16_384), headers=JSON)
    assert res.status_code == 413 and "64 KiB" in _check_error(res)["message"]


def test_a_body_over_the_cap_with_a_content_length(server: Server, api_key: str) -> None:
    raw = request("POST", "/v1/assets", {"x-api-key": api_key, **JSON}, b" " * 70_000)
    reply = exchange(server.port, raw)
    assert reply.status == 413 and reply.json() == {
        "code": 413, "message": "the JSON body is larger than 64 KiB"}


# --- property-based: arbitrary JSON at the import route --------------------------------------

# NaN and Infinity are not JSON (json.dumps writes them anyway): they have cases of their own.
scalars = (st.none() | st.booleans() | st.integers()
           | st.floats(allow_nan=False, allow_infinity=False) | st.text())
any_json = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)
# Any text, lone surrogates (Cs) and control characters (Cc) included.
wild_text = st.text(st.characters(codec=None, categories=["L", "N", "P", "S", "Z", "Cc", "Cs"]),
                    max_size=40)
member = wild_text | scalars | any_json
import_like = st.fixed_dictionaries(
    {}, optional={"name": member, "type": st.sampled_from(["IMAGE", "VIDEO", "AUDIO"]) | member,
                  "url": st.just("https://example.com/a.png") | member, "extra": member})
documents = any_json | import_like | st.lists(import_like, max_size=2)


def _encoded(doc: Any, ascii_only: bool) -> bytes:
    text = json.dumps(doc, ensure_ascii=ascii_only)  # \ud800 escapes when ascii_only
    return text.encode("utf-8", "surrogatepass")  # raw (invalid) surrogate bytes otherwise


@pytest.fixture(scope="module")
def hypo_key(server: Server) -> str:
    return server.new_key(f"hypo-{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def hypo_client(server: Server, hypo_key: str) -> Iterator[httpx.Client]:
    with server.client(hypo_key) as client:
        yield client


def _lone_surrogate(doc: Any) -> bool:
    """Whether a string anywhere in the document (a key too) holds a lone surrogate."""
    if isinstance(doc, str):
        return any("\ud800" <= c <= "\udfff" for c in doc)
    if isinstance(doc, dict):
        return any(_lone_surrogate(k) or _lone_surrogate(v) for k, v in doc.items())
    if isinstance(doc, list):
        return any(_lone_surrogate(v) for v in doc)
    return False


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(doc=documents, ascii_only=st.booleans())
@example(doc={"extra": "\ud800"}, ascii_only=False)  # an unknown member in a body not UTF-8
@example(doc={"name": None, "extra": "\ud800"}, ascii_only=True)  # ... escaped: \\ud800
def test_arbitrary_json_is_never_a_server_error(hypo_client: httpx.Client, doc: Any,
                                                ascii_only: bool) -> None:
    raw = _encoded(doc, ascii_only)
    res = _import(hypo_client, raw)
    body = _check_error(res)
    if res.status_code == 201:  # only a flat object of three good strings gets this far
        assert isinstance(doc, dict) and set(doc) == {"name", "type", "url"}
        assert doc["type"] in ("IMAGE", "VIDEO", "AUDIO") and body["status"] == "PROCESSING"
        assert all(isinstance(v, str) for v in doc.values())
    else:
        assert res.status_code == 400, res.text  # names with control characters may be too
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:  # a raw lone surrogate: the encoding is refused first
            assert "not UTF-8" in body["message"]
            return
        if _lone_surrogate(doc):  # escaped (ASCII only): the body is refused before its members
            assert "lone UTF-16 surrogate" in body["message"]
            return
        if isinstance(doc, dict) and set(doc) - {"name", "type", "url"}:
            assert "unknown member" in body["message"]
