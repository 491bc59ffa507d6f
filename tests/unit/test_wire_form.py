"""The wire form's shortcuts write the bytes the plain way writes: timestamps from a day's
kept date, signatures from the key's kept HMAC state, and a kept asset's links signed again
for a new hour and spliced into its kept bytes."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from collections.abc import Callable
from pathlib import Path

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from mediashelf.db.sql import AssetRow
from mediashelf.domain import Asset, AssetStatus, AssetType, ListQuery, Page
from mediashelf.security import UrlSigner
from mediashelf.services.assets import Links
from mediashelf.services.replies import WireMemo
from mediashelf.services.wire import iso, to_wire
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


@given(st.binary(min_size=1, max_size=64), st.lists(st.one_of(tricky, st.integers()),
                                                    min_size=1, max_size=5))
def test_signature_is_hmac_sha256_of_the_parts(secret: bytes, parts: list[str | int]) -> None:
    msg = "\n".join(str(p) for p in parts).encode()
    want = hmac.new(secret, msg, hashlib.sha256).hexdigest()[:40]
    signer = UrlSigner(secret)
    assert signer.sign(*parts) == want == signer.sign(*parts)  # the kept state is not spent
    assert signer.verify(want, *parts)


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

    def links_at(hour: int) -> Callable[[Asset], Links]:
        def links(asset: Asset) -> Links:
            if asset.status is not AssetStatus.READY or not asset.file_key:
                return Links(None, None)
            sign = storage.signed_url
            return Links(sign(asset.file_key, filename=asset.name or "",
                              content_type="image/png", expires_at=hour * 3600),
                         sign("assets/x/thumb.webp", filename="thumbnail.webp",
                              content_type="image/webp", expires_at=hour * 3600))
        return links

    assets = [_asset(n, ready, ms, updated) for n in names]
    rows = [AssetRow(*[getattr(a, f) for f in AssetRow._fields]) for a in assets]
    page = Page(ListQuery(), len(assets), (), assets, rows)
    memo = WireMemo(100, 1 << 20)
    for hour in (10, 10, 11, 13, 13):
        want = orjson.dumps([to_wire(a, links_at(hour)(a)) for a in assets])
        assert memo.body(page, hour, links_at(hour)) == want
