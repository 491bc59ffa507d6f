"""JSON bodies (a URL import, an edit, a bulk action): read under a size cap, parsed strictly,
checked member by member.

An import must be one object of the members `name`, `type` and `url`, each a string, an
optional `tags` array and an optional `dedupe` boolean, each given once, in UTF-8; other bodies
name their own members. orjson does the parsing: it refuses invalid UTF-8, lone surrogates, NaN
and Infinity, numbers beyond a double and nesting deeper than 1,024 levels, without recursing in
Python. Anything else that is not such an object is a 400 saying what is wrong; a body over the
cap is a 413.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request

from mediashelf.digits import ascii_int
from mediashelf.domain import AssetType
from mediashelf.errors import BadRequest, PayloadTooLarge, shown
from mediashelf.words import check_tags

MAX_BYTES = 64 * 1024
MEMBERS = ("name", "type", "url")
_SHAPE = ("a JSON object with the string members name, type and url (and a tags array, a "
          "dedupe boolean)")
_TOO_LARGE = f"the JSON body is larger than {MAX_BYTES // 1024} KiB"
_KINDS = {type(None): "null", bool: "a boolean", int: "a number", float: "a number",
          list: "an array", dict: "an object"}


async def read_import(request: Request, dedupe: bool = True
                      ) -> tuple[str, AssetType, str, list[str], bool]:
    """The name (as sent), type, url (stripped), tags and dedupe flag of an import's body (the
    flag `dedupe` when the body has none)."""
    data = parse(await _read(request))
    try:
        type_ = AssetType(data["type"])
    except ValueError:
        raise BadRequest(f"invalid value '{shown(data['type'])}' for 'type': allowed values "
                         "are AUDIO, IMAGE, VIDEO") from None
    return (data["name"], type_, data["url"].strip(), check_tags(data.get("tags", [])),
            data.get("dedupe", dedupe))


async def read_object(request: Request, shape: str, members: tuple[str, ...]) -> dict[str, Any]:
    """A body that must be `shape`: one JSON object of at most these members, each once."""
    return load_object(await _read(request), shape, members)


def load_object(raw: bytes, shape: str, members: tuple[str, ...]) -> dict[str, Any]:
    """The object in raw, or BadRequest naming the first thing wrong with its syntax, its
    kind, a member it does not take or one it repeats."""
    if not raw.strip():
        raise BadRequest(f"the body is empty: send {shape}")
    try:
        data: Any = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(_syntax_problem(raw, exc)) from None
    if not isinstance(data, dict):
        raise BadRequest(f"the body must be {shape}, not {kind(data)}")
    unknown = [name for name in data if name not in members]
    if unknown:
        raise BadRequest(f"unknown member '{shown(unknown[0])}': the body takes only "
                         f"{', '.join(members)}")
    _refuse_repeats(raw)
    return data


def parse(raw: bytes) -> dict[str, Any]:
    """The import object in raw, or BadRequest naming the first thing wrong with it."""
    data = load_object(raw, _SHAPE, (*MEMBERS, "tags", "dedupe"))
    if "dedupe" in data and not isinstance(data["dedupe"], bool):
        raise BadRequest(f"'dedupe' must be true or false, not {kind(data['dedupe'])}")
    for name in MEMBERS:
        if name not in data:
            raise BadRequest(f"'{name}' is required (name, type and url must all be given)")
        value = data[name]
        if not isinstance(value, str):
            raise BadRequest(f"'{name}' must be a string, not {kind(value)}")
        if not value.strip():
            raise BadRequest(f"'{name}' must not be empty")
    return data


def _refuse_repeats(raw: bytes) -> None:
    """orjson keeps the last of repeated members; the standard parser shows them all."""
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        names = [name for name, _ in items]
        for name in names:
            if names.count(name) > 1:
                raise BadRequest(f"member '{shown(name)}' is given more than once")
        return dict(items)

    try:
        json.loads(raw, object_pairs_hook=pairs)
    except RecursionError:
        # orjson left only three strings, so deep nesting was in a member given again later.
        raise BadRequest("a member is given more than once") from None


def _syntax_problem(raw: bytes, exc: orjson.JSONDecodeError) -> str:
    """Our own words for why orjson refused the body (its text is not shown to clients)."""
    where = f"(line {exc.lineno}, column {exc.colno})"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"the body is not UTF-8: invalid byte at offset {bad.start}"
    reason = exc.msg.lower()
    if raw.startswith(b"\xef\xbb\xbf"):
        return "the body starts with a byte order mark: send UTF-8 without one"
    if "depth" in reason or "recursion" in reason:
        return f"the body is nested too deeply {where}"
    if "surrogate" in reason:
        return f"the body holds a lone UTF-16 surrogate escape (\\ud800-\\udfff) {where}"
    if "infinity" in reason:
        return f"a number in the body is out of range {where}"
    token = raw[exc.pos:exc.pos + 9].lstrip(b"-")
    if token.startswith((b"NaN", b"Infinity")):
        return f"NaN and Infinity are not JSON numbers {where}"
    return f"the body is not valid JSON {where}"


def kind(value: Any) -> str:
    """How a message names a JSON value's kind."""
    return "a string" if isinstance(value, str) else _KINDS.get(type(value), "another value")


async def _read(request: Request) -> bytes:
    """The body, refused with 413 as soon as it is known to be over the cap."""
    declared = ascii_int(request.headers.get("content-length", ""))
    if declared is not None and declared > MAX_BYTES:
        raise PayloadTooLarge(_TOO_LARGE)  # before reading (and before any 100 Continue)
    raw = bytearray()
    try:
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_BYTES:
                raise PayloadTooLarge(_TOO_LARGE)
    except ClientDisconnect:
        raise BadRequest("the body ended early: the connection was closed") from None
    return bytes(raw)
