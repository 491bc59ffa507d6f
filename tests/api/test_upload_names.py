"""File names and multipart framing: every name back exactly as sent or a 400 naming the problem,
never a 500, and a refused upload leaves nothing in storage (temporary files, S3 multipart)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from email.message import Message
from email.utils import collapse_rfc2231_value
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from tests.support import samples
from tests.support.multipart import (
    BOUNDARY,
    assert_error,
    assert_nothing_left,
    asset_prefixes,
    body,
    field,
    file_part,
    part,
    post,
)
from tests.support.server import Server, wait_for

PNG = samples.png_bytes()
KEEP = field("dedupe", "false")  # for tests that upload PNG more than once: keep each copy
CONTROLS = "must not contain control characters"


def client_file_name(header: str) -> str:
    """The name a client saves a download under: filename* when given (RFC 6266, 4.3)."""
    message = Message()
    message["content-disposition"] = header
    params = message.get_params(header="content-disposition") or []
    extended = [v for k, v in params if k == "filename" and isinstance(v, tuple)]
    return collapse_rfc2231_value(extended[0] if extended else dict(params)["filename"])


def created_name(client: httpx.Client, res: httpx.Response) -> str | None:
    """The name the upload answered with, checked against a fresh GET."""
    assert res.status_code == 201, res.text
    got = client.get(f"/v1/assets/{res.json()['id']}").json()
    assert got["name"] == res.json()["name"]
    name: str | None = got["name"]
    return name


@pytest.mark.parametrize("name", [
    "東京.jpg", "🎬 clip 🎞️.png", "Präsentation.png", "e\u0301te\u0301.png",  # NFD kept as NFD
    "\u202eevil\u200f mark\u2066.png", "  spaced  .png", "100%.png", "a;b=c, d.png",
    "x" * 252 + ".png",
])
def test_raw_utf8_names_come_back_exactly(client: httpx.Client, name: str) -> None:
    """As curl, browsers and httpx send them: UTF-8 bytes inside the quoted filename."""
    res = post(client, body([file_part(name.encode(), PNG)]))
    assert created_name(client, res) == name


def test_httpx_and_the_sdk_encoding_reads_back(client: httpx.Client) -> None:
    name = 'say "hi" \\ 東京 🎬.png'  # httpx writes " as %22 and \ as \\
    res = client.post("/v1/assets", files={"file": (name, PNG)})
    assert created_name(client, res) == name


@pytest.mark.parametrize(("sent", "stored"), [
    (b"say %22hi%22.png", 'say "hi".png'),            # the HTML form encoding of "
    (b'say \\"hi\\".png', 'say "hi".png'),            # a quoted-pair
    (b"Pr\xe4sentation.png", "Präsentation.png"),     # Latin-1 bytes from an old client
    (b"\x80 price.png", "€ price.png"),               # Windows-1252 is what "Latin-1" means
    (b"C:\\Users\\me\\photo.png", "photo.png"),       # a full Windows path (old browsers)
    (b"folder/sub/photo.png", "photo.png"),           # a folder upload's relative path
    (b"back\\slash.png", "back\\slash.png"),          # a backslash alone is part of a name
])
def test_client_spellings_of_a_name(client: httpx.Client, sent: bytes, stored: str) -> None:
    res = post(client, body([file_part(sent, PNG)]))
    assert created_name(client, res) == stored


@pytest.mark.parametrize("charset", ["UTF-8", "utf-8"])
def test_filename_star_wins_over_the_fallback(client: httpx.Client, charset: str) -> None:
    name = "東京 🎬 \"q\".png"
    star = f"; filename*={charset}''{quote(name, safe='')}".encode()
    res = post(client, body([KEEP, file_part(b"fallback.png", PNG, star)]))
    assert created_name(client, res) == name
    only = part(b"form-data; name=\"file\"; filename*=ISO-8859-1'de'Pr%E4sentation.png", PNG)
    assert created_name(client, post(client, body([KEEP, only]))) == "Präsentation.png"


@pytest.mark.parametrize("value", [b"koi8-r''%E6", b"UTF-8''%FF%FE.png", b"UTF-8''%G1.png",
                                   b"%E6%9D%B1.png"])
def test_a_broken_filename_star_is_refused(client: httpx.Client, value: bytes) -> None:
    res = post(client, body([part(b'form-data; name="file"; filename*=' + value, PNG)]))
    assert_error(res, 400, "filename*")


@pytest.mark.parametrize("sent", [
    b"nul\x00byte.png", b"tab\there.png", b"del\x7f.png", "nel\x85.png".encode(),
    b"line%0Abreak.png", b"cr%0D.png", b"nul%00.png", "c1\u009b.png".encode(),
])
def test_control_characters_in_a_file_name_are_refused(server: Server, client: httpx.Client,
                                                       sent: bytes) -> None:
    before = asset_prefixes(server)
    res = post(client, body([file_part(sent, PNG)]))
    assert_error(res, 400, "the file name", CONTROLS)
    assert_nothing_left(server, before)


@pytest.mark.parametrize("name", ["nul\x00name", "line\nbreak", "bell\x07", "\x9fc1", "tab\t"])
def test_control_characters_in_a_name_are_refused_everywhere(client: httpx.Client,
                                                            name: str) -> None:
    before = client.get("/v1/assets", params={"status": "PROCESSING,READY,FAILED"})
    for name_first in (True, False):
        parts = [field("name", name), file_part(b"ok.png", PNG)]
        res = post(client, body(parts if name_first else parts[::-1]))
        assert_error(res, 400, "'name'", CONTROLS)
    res = client.post("/v1/assets", json={"name": name, "type": "IMAGE",
                                          "url": "https://example.com/a.png"})
    assert_error(res, 400, "'name'", CONTROLS)
    after = client.get("/v1/assets", params={"status": "PROCESSING,READY,FAILED"})
    assert after.headers["x-total-count"] == before.headers["x-total-count"]


def test_a_lone_surrogate_in_an_imported_name_is_refused(client: httpx.Client) -> None:
    raw = b'{"name": "half \\ud800 pair", "type": "IMAGE", "url": "https://example.com/a.png"}'
    res = client.post("/v1/assets", content=raw, headers={"content-type": "application/json"})
    assert_error(res, 400, "surrogate")  # the JSON reader refuses it before the name check


def test_bidi_and_format_characters_are_names_not_controls(client: httpx.Client) -> None:
    name = "\u202eevil\u200f\u200d\ufeff"
    res = post(client, body([field("name", name), file_part(b"a.png", PNG)]))
    assert created_name(client, res) == name
    res = client.post("/v1/assets", json={"name": name, "type": "IMAGE",
                                          "url": "https://example.com/a.png"})
    assert created_name(client, res) == name


def test_name_lengths(client: httpx.Client) -> None:
    assert created_name(client, post(client, body([KEEP, file_part(("é" * 256).encode(),
                                                                   PNG)]))) == "é" * 256
    assert_error(post(client, body([file_part(("é" * 257).encode(), PNG)])), 400, "256")
    assert_error(post(client, body([field("name", "🎬" * 257), file_part(b"a.png", PNG)])),
                 400, "'name'", "256")
    for empty in (b"", b".", b"..", b"dir/"):  # no usable name: the asset has none
        assert created_name(client, post(client, body([KEEP, file_part(empty, PNG)]))) is None


@pytest.mark.parametrize(("length", "status"), [(1, 201), (70, 201), (71, 400), (300, 400)])
def test_boundaries_longer_than_rfc_2046_allows_are_refused(client: httpx.Client, length: int,
                                                            status: int) -> None:
    boundary = (b"b'()+_,-./:=?" * 30)[:length]
    res = post(client, body([file_part(b"a.png", PNG)], boundary), boundary)
    if status == 201:
        assert res.status_code == 201, res.text
    else:
        assert_error(res, 400, "boundary", "70")


@pytest.mark.parametrize("second", [b"tiny", PNG * 300])
def test_a_second_file_part_is_refused(server: Server, client: httpx.Client,
                                       second: bytes) -> None:
    before = asset_prefixes(server)
    res = post(client, body([file_part(b"a.png", PNG), file_part(b"b.png", second)]))
    assert_error(res, 400, "more than one 'file' part")
    assert_nothing_left(server, before)


@pytest.mark.parametrize("twice", ["name", "type"])
def test_a_repeated_field_is_refused(client: httpx.Client, twice: str) -> None:
    value = "IMAGE" if twice == "type" else "x"
    res = post(client, body([field(twice, value), field(twice, value), file_part(b"a.png", PNG)]))
    assert_error(res, 400, f"'{twice}'", "more than once")
    res = post(client, body([part(b'form-data; name="file"; filename="a"; filename="b"', PNG)]))
    assert_error(res, 400, "'filename' twice")


def big_file_then(tail: bytes) -> Iterator[bytes]:
    """A file part past S3's first multipart chunk (8 MiB), then `tail` instead of its end."""
    yield b"--" + BOUNDARY + b"\r\n" + file_part(b"big.bin", b"")  # headers, no body yet
    block = bytes(range(256)) * 4096
    for _ in range(9):
        yield block
    yield tail


@pytest.mark.parametrize(("tail", "words"), [
    (b"\r\n--" + BOUNDARY + b"XX garbage", ("malformed multipart",)),  # a parse error
    (b"", ("ends before the closing boundary",)),                       # cut short
    (b"\r\n--" + BOUNDARY + b"\r\n" + file_part(b"b.png", PNG), ("more than one",)),
])
def test_a_refusal_after_the_file_started_leaves_nothing(server: Server, client: httpx.Client,
                                                         tail: bytes, words: tuple[str]) -> None:
    before = asset_prefixes(server)
    assert_error(post(client, big_file_then(tail)), 400, *words)
    assert_nothing_left(server, before)


def test_a_client_leaving_mid_file_leaves_nothing(server: Server, api_key: str,
                                                  client: httpx.Client) -> None:
    before, log_start = asset_prefixes(server), server.log_path.stat().st_size
    head = (f"POST /v1/assets HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: {api_key}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY.decode()}\r\n"
            f"Content-Length: {64 << 20}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(head)
        for chunk in big_file_then(b""):
            sock.sendall(chunk)
        time.sleep(0.5)  # the server has the bytes; then the connection drops
    assert_nothing_left(server, before)
    assert client.get("/healthz").status_code == 200
    with open(server.log_path, "rb") as log:
        log.seek(log_start)
        assert b"request.crashed" not in log.read()  # a client leaving is no server error


@pytest.mark.parametrize("name", ["東京 🎬.jpg", 'été "quoted" 100%.jpg', "plain.jpg"])
def test_downloads_carry_the_exact_name(client: httpx.Client, media: dict[str, Path],
                                        name: str) -> None:
    """RFC 6266: an ASCII fallback `filename`, and the exact name as `filename*` (RFC 8187)."""
    with open(media["jpeg"], "rb") as fh:
        created = client.post("/v1/assets", files={"file": (name, fh)}).json()
    ready = wait_for(client, created["id"])
    assert ready["status"] == "READY" and ready["name"] == name
    got = httpx.get(ready["fileUrl"])
    assert got.status_code == 200
    header = got.headers["content-disposition"]
    assert header.isascii() and header.startswith("inline; filename=\"")
    assert client_file_name(header) == name
    plain = Message()
    plain["content-disposition"] = header.split("; filename*=")[0]  # what older clients read
    fallback = plain.get_filename()
    assert fallback is not None and fallback.isascii() and fallback.endswith(".jpg")
    if name != "plain.jpg":
        assert f"filename*=UTF-8''{quote(name, safe='')}" in header


def test_a_typed_name_with_slashes_downloads_under_a_safe_name(client: httpx.Client,
                                                             media: dict[str, Path]) -> None:
    with open(media["jpeg"], "rb") as fh:
        created = client.post("/v1/assets", files={"file": ("x.jpg", fh)},
                              data={"name": "Beach / 東京 \u202egpj.exe"}).json()
    ready = wait_for(client, created["id"])
    header = httpx.get(ready["fileUrl"]).headers["content-disposition"]
    assert client_file_name(header) == "Beach _ 東京 gpj.exe.jpg"  # no bidi override to fool
