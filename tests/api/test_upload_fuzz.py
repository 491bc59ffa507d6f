"""Arbitrary file names, form fields and multipart framings thrown at the upload route: never a
5xx, every error {code, message}, every accepted name stored exactly, and nothing left in
storage by a refused request."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support import samples
from tests.support.multipart import (
    assert_error,
    assert_nothing_left,
    asset_prefixes,
    body,
    field,
    file_part,
    part,
    post,
)
from tests.support.server import Server

PNG = samples.png_bytes((8, 8))
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
FUZZ = settings(max_examples=50, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])

# ordinary text, and the characters that broke or could break a name
SPICE = st.sampled_from(["東", "京", "🎬", "é", "\u0301", "\u202e", "\u200f", "\u2066", "\ufeff",
                         "\x00", "\n", "\r", "\t", "\x7f", "\x85", "\x9b", '"', "'", ";", "=",
                         " ", "ß", "Ä", "€", "\U0010fffd"])
NAME_TEXT = st.text(st.one_of(st.characters(codec="utf-8", exclude_characters="%/\\"), SPICE),
                    max_size=270)


def stored_file_name(name: str) -> str | int | None:
    """What the server keeps of a file name: the name, None (no name), or 400."""
    if name in ("", ".", ".."):
        return None
    if CONTROL.search(name) or len(name) > 256:
        return 400
    return name


def stored_name(value: str) -> str | int | None:
    """What the server keeps of a `name` field: trimmed, or 400; empty means none given."""
    if value == "":
        return "a.png"
    if CONTROL.search(value) or not 1 <= len(value.strip()) <= 256:
        return 400
    return value.strip()


def latin1(name: str) -> bytes | None:
    """The name in Latin-1 bytes, when that is not also valid UTF-8 (else it reads as UTF-8)."""
    try:
        raw = name.encode("cp1252")
        raw.decode("utf-8")
    except UnicodeEncodeError:
        return None
    except UnicodeDecodeError:
        return raw.replace(b'"', b"%22").replace(b"\r", b"%0D").replace(b"\n", b"%0A")
    return None


# Every example uploads the same bytes: keep each one (else the first asset, and its name,
# would answer them all).
KEEP = field("dedupe", "false")


def send_file_name(client: httpx.Client, name: str, how: str) -> httpx.Response | None:
    if how == "httpx":  # raw UTF-8, with the HTML form encoding's escapes
        return client.post("/v1/assets", files={"file": (name, PNG)}, data={"dedupe": "false"})
    if how == "filename*":
        star = f"; filename*=UTF-8''{quote(name, safe='')}".encode()
        return post(client, body([KEEP, file_part(b"ignored.png", PNG, star)]))
    raw = latin1(name)
    return None if raw is None else post(client, body([KEEP, file_part(raw, PNG)]))


def check_reply(client: httpx.Client, res: httpx.Response, expected: str | int | None,
                accepted: list[str]) -> None:
    """A 400 when one is expected; else 201, and GET gives the expected name."""
    if expected == 400:
        assert_error(res, 400)
        return
    assert res.status_code == 201, res.text
    accepted.append(res.json()["id"])
    assert client.get(f"/v1/assets/{res.json()['id']}").json()["name"] == expected


def test_any_file_name_is_stored_exactly_or_refused(server: Server,
                                                    client: httpx.Client) -> None:
    before, accepted = asset_prefixes(server), list[str]()

    @FUZZ
    @given(name=NAME_TEXT, how=st.sampled_from(["httpx", "filename*", "latin-1"]))
    def one(name: str, how: str) -> None:
        res = send_file_name(client, name, how)
        if res is not None:
            check_reply(client, res, stored_file_name(name), accepted)

    one()
    assert_nothing_left(server, before, accepted)


def test_any_name_field_is_stored_trimmed_or_refused(server: Server,
                                                     client: httpx.Client) -> None:
    before, accepted = asset_prefixes(server), list[str]()

    @FUZZ
    @given(value=NAME_TEXT, first=st.booleans())
    def one(value: str, first: bool) -> None:
        parts = [KEEP, field("name", value), file_part(b"a.png", PNG)]
        res = post(client, body(parts if first else parts[::-1]))
        check_reply(client, res, stored_name(value), accepted)

    one()
    assert_nothing_left(server, before, accepted)


BCHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? "


@st.composite
def framings(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """A boundary and a body: a valid form, then damaged in one of several ways."""
    boundary = draw(st.text(BCHARS, min_size=1, max_size=90)).rstrip().encode() or b"b"
    parts = [file_part(draw(st.binary(max_size=40)).replace(b'"', b""), PNG)]
    for _ in range(draw(st.integers(0, 3))):
        parts.insert(draw(st.integers(0, len(parts))), draw(st.one_of(
            st.builds(field, st.sampled_from(["name", "type", "other", "file", ""]),
                      st.binary(max_size=300)),
            st.builds(part, st.binary(max_size=120), st.binary(max_size=200)),
            st.builds(file_part, st.binary(max_size=40), st.binary(max_size=6000)))))
    raw = body(parts, boundary, close=draw(st.booleans()))
    damage = draw(st.sampled_from(["none", "cut", "insert", "flip"]))
    if damage != "none" and raw:
        at = draw(st.integers(0, len(raw) - 1))
        junk = draw(st.one_of(st.binary(min_size=1, max_size=16),
                              st.sampled_from([b"\r\n", b"--", b"--" + boundary, b"\r\n\r\n"])))
        raw = {"cut": raw[:at], "insert": raw[:at] + junk + raw[at:],
               "flip": raw[:at] + bytes([raw[at] ^ 0x20]) + raw[at + 1:]}[damage]
    return boundary, raw


def test_any_framing_answers_without_a_5xx(server: Server, client: httpx.Client) -> None:
    before, accepted = asset_prefixes(server), list[str]()

    @FUZZ
    @given(framing=framings(), declared=st.sampled_from(
        ["multipart/form-data; boundary={}", 'multipart/form-data; boundary="{}"',
         "multipart/form-data;boundary={};charset=utf-8", "multipart/form-data"]))
    def one(framing: tuple[bytes, bytes], declared: str) -> None:
        boundary, raw = framing
        res = client.post("/v1/assets", content=raw, headers={
            "content-type": declared.format(boundary.decode("latin-1"))})
        assert res.status_code < 500, res.text
        if res.status_code in (200, 201):  # 200: the bytes of an asset already accepted
            accepted.append(res.json()["id"])
        else:
            assert_error(res, res.status_code)
            assert res.status_code in (400, 413)

    one()
    assert_nothing_left(server, before, accepted)


def test_well_formed_forms_with_a_boundary_up_to_70_are_accepted(client: httpx.Client) -> None:
    @FUZZ
    @given(boundary=st.text(BCHARS.replace(" ", ""), min_size=1, max_size=70))
    def one(boundary: str) -> None:
        raw = body([field("type", "IMAGE"), file_part(b"a.png", PNG)], boundary.encode())
        assert post(client, raw, boundary.encode()).status_code in (200, 201)  # 200: a copy

    one()
