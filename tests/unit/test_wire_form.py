"""The wire form's shortcuts write the bytes the plain way writes: timestamps from a day's
kept date, signatures from the key's kept HMAC state, and a kept asset's links signed again
for a new hour and spliced into its kept bytes, and a listed row written as the Asset decoded
from it would be."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from mediashelf.db.sql import AssetRow, postgresql, sqlite
from mediashelf.domain import (
    SYSTEM_TENANT_ID,
    Asset,
    AssetStatus,
    AssetType,
    ListQuery,
    Page,
)
from mediashelf.security import UrlSigner
from mediashelf.services.assets import Links
from mediashelf.services.replies import WireMemo
from mediashelf.services.wire import iso, row_to_wire, to_wire
from mediashelf.storage.local import LocalStorage

# quotes, backslashes and the very keys the memo looks for, inside names and URLs
tricky = st.lists(st.one_of(st.sampled_from(['"', "\\", ',"fileUrl":', ',"createdAt":', "é",
                                              "\u202e", "\x00", "\n"]),
                            st.characters(blacklist_categories=("Cs",))),
                  max_size=12).map("".join)
millis = st.integers(min_value=-62_135_596_800_000, max_value=253_402_300_799_999)  # 1-9999


@given(millis)
def test_iso_is_utc_to_the_millisecond(ms: int) -> None:
    at = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=ms)
    assert iso(ms) == (f"{at.year:04d}-{at.month:02d}-{at.day:02d}T{at.hour:02d}:"
                       f"{at.minute:02d}:{at.second:02d}.{at.microsecond // 1000:03d}Z")


@given(st.binary(min_size=1, max_size=100), st.lists(st.one_of(tricky, st.integers()),
                                                     min_size=1, max_size=5),
       st.binary(min_size=1, max_size=100))
def test_signature_is_keyed_blake2b_of_the_parts(secret: bytes, parts: list[str | int],
                                                other: bytes) -> None:
    msg = "\n".join(str(p) for p in parts).encode()
    key = secret if len(secret) <= 64 else hashlib.blake2b(secret).digest()
    want = hashlib.blake2b(msg, key=key, digest_size=20).hexdigest()
    signer = UrlSigner(secret)
    assert signer.sign(*parts) == want == signer.sign(*parts)  # the kept state is not spent
    assert signer.verify(want, *parts)
    # a link an earlier version signed (HMAC-SHA256, 40 hex digits) still verifies
    assert signer.verify(hmac.new(secret, msg, hashlib.sha256).hexdigest()[:40], *parts)
    assert not signer.verify(want, *parts, "more")
    if other != secret:
        assert not signer.verify(UrlSigner(other).sign(*parts), *parts)
        assert not signer.verify(hmac.new(other, msg, hashlib.sha256).hexdigest()[:40], *parts)


SQLITE, POSTGRES = sqlite.row_form(), postgresql.row_form()


def _sqlite_row(a: Asset) -> AssetRow:
    """The row SQLite returns for the asset: hex ids, 0/1 flags, JSON as text (the extra
    column as the stdlib's json.dumps writes it: SQLAlchemy's JSON type)."""
    return AssetRow(a.id.hex, a.tenant_id.hex, a.name, a.type.value, a.status.value,
                    a.created_ms, a.updated_ms, a.mime_type, a.size_bytes, a.sha256, a.width,
                    a.height, a.duration_ms, None if a.has_audio is None else int(a.has_audio),
                    a.failure_reason, a.blurhash, a.source_url, a.original_name, a.file_key,
                    a.thumb_key, a.thumb_mime, a.deleted_ms, json.dumps(a.extra),
                    int(a.declared_type), orjson.dumps(a.tags).decode())


def _postgres_row(a: Asset) -> AssetRow:
    """The row psycopg returns: ids and the jsonb column cast to text, booleans."""
    return _sqlite_row(a)._replace(id=str(a.id), tenant_id=str(a.tenant_id),
                                   has_audio=a.has_audio,
                                   declared_type=a.declared_type,
                                   extra=json.dumps(a.extra, separators=(", ", ": ")))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=8)
assets = st.builds(
    Asset, id=st.uuids(), tenant_id=st.one_of(st.uuids(), st.just(SYSTEM_TENANT_ID)),
    name=st.none() | tricky, type=st.sampled_from(AssetType),
    status=st.sampled_from(AssetStatus), created_ms=millis.filter(lambda m: m >= 0),
    updated_ms=millis.filter(lambda m: m >= 0), mime_type=st.none() | st.just("image/png"),
    size_bytes=st.none() | st.integers(0, 2**62), sha256=st.none() | st.just("ab" * 32),
    width=st.none() | st.integers(1, 10_000), height=st.none() | st.integers(1, 10_000),
    duration_ms=st.none() | st.integers(0, 2**40), has_audio=st.none() | st.booleans(),
    failure_reason=st.none() | tricky, blurhash=st.none() | st.just("LEHV6nWB2yk8"),
    extra=st.dictionaries(tricky, json_values, max_size=4),
    tags=st.lists(tricky.filter(bool), max_size=4, unique=True))


@settings(max_examples=200, deadline=None)
@given(asset=assets, postgres=st.booleans())
def test_a_row_goes_to_the_wire_as_its_asset_does(asset: Asset, postgres: bool) -> None:
    """row_to_wire() of the asset's stored row says what to_wire() of the asset says."""
    row, form = (_postgres_row(asset), POSTGRES) if postgres else (_sqlite_row(asset), SQLITE)
    links = Links("http://h/f?sig=1", None)
    plain = orjson.loads(orjson.dumps(to_wire(asset, links)))
    assert orjson.loads(orjson.dumps(row_to_wire(row, form, links))) == plain
    assert plain["id"] == str(asset.id) and plain["metadata"] == asset.extra


def _asset(name: str, ready: bool, ms: int, updated: int) -> Asset:
    return Asset(id=uuid.uuid4(), tenant_id=uuid.uuid4(), name=name, type=AssetType.IMAGE,
                 status=AssetStatus.READY if ready else AssetStatus.PROCESSING,
                 created_ms=ms, updated_ms=ms + updated, mime_type="image/png",
                 file_key=f"assets/{name[:3]}/original", thumb_key="assets/x/thumb.webp",
                 thumb_mime="image/webp", extra={"k": name}, tags=["a", name[:5]])


@settings(max_examples=40, deadline=None)
@given(names=st.lists(tricky.filter(bool), min_size=1, max_size=5), ready=st.booleans(),
       ms=st.integers(min_value=0, max_value=4_000_000_000_000),
       updated=st.sampled_from([0, 1, 86_400_000]))
def test_memo_answers_fresh_bytes_across_hours(names: list[str], ready: bool, ms: int,
                                               updated: int) -> None:
    storage = LocalStorage(Path("/nonexistent"), "http://h:1", UrlSigner(b"k" * 32))

    def links_at(hour: int) -> Callable[[Any], Links]:
        def links(asset: Any) -> Links:
            if asset.status != AssetStatus.READY or not asset.file_key:
                return Links(None, None)
            sign = storage.signed_url
            return Links(sign(asset.file_key, filename=asset.name or "",
                              content_type="image/png", expires_at=hour * 3600),
                         sign("assets/x/thumb.webp", filename="thumbnail.webp",
                              content_type="image/webp", expires_at=hour * 3600))
        return links

    assets = [_asset(n, ready, ms, updated) for n in names]
    rows = [_sqlite_row(a) for a in assets]
    page = Page(ListQuery(), len(assets), (), rows, SQLITE)
    memo = WireMemo(100, 1 << 20)
    for hour in (10, 10, 11, 13, 13):
        want = orjson.dumps([to_wire(a, links_at(hour)(a)) for a in assets])
        assert orjson.loads(memo.body(page, hour, links_at(hour))) == orjson.loads(want)


def test_memo_keeps_at_once_while_there_is_room_then_on_the_second_listing() -> None:
    """A doorkeeper once the memo is full: while there is room an asset is kept when first
    listed; after, only when listed again. A changed asset is written afresh, and the bytes
    are always those of to_wire()."""
    storage = LocalStorage(Path("/nonexistent"), "http://h:1", UrlSigner(b"k" * 32))

    def links(asset: Any) -> Links:
        return Links(storage.signed_url(asset.file_key, filename=asset.name or "",
                                        content_type="image/png", expires_at=7200), None)

    assets = [_asset(f"asset {i}", True, 1_700_000_000_000 + i, 0) for i in range(6)]
    memo = WireMemo(4, 1 << 20)

    def listed(shown: list[Asset]) -> list[bool]:
        rows = [_sqlite_row(a) for a in shown]
        page = Page(ListQuery(), len(shown), (), rows, SQLITE)
        want = orjson.dumps([to_wire(a, links(a)) for a in shown])
        assert orjson.loads(memo.body(page, 2, links)) == orjson.loads(want)
        return [row.id in memo for row in rows]

    assert listed(assets[:4]) == [True] * 4  # room: kept at once
    assert listed(assets[4:]) == [False, False]  # full: listed once, not kept
    assert listed(assets[4:]) == [True, True] and len(memo) == 4  # again: kept
    assets[4] = dataclasses.replace(assets[4], name="renamed", updated_ms=assets[4].updated_ms + 1)
    assert listed(assets[4:]) == [True, True]  # the changed one written and kept afresh
