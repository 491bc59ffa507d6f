"""One contract for every Storage backend: local folder and S3 (moto's server on loopback)."""

from __future__ import annotations

import calendar
import os
import time
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediashelf.storage.base import Storage
from mediashelf.storage.s3 import MAX_PRESIGN_S, S3Storage

MiB = 2**20


def leftovers(storage: Storage) -> list[str]:
    """Everything in the store, plus unfinished multipart uploads on S3."""
    keys = list(storage.list_keys(""))
    if isinstance(storage, S3Storage):
        uploads = storage.client.list_multipart_uploads(Bucket=storage.bucket)
        keys += [f"upload:{u['Key']}" for u in uploads.get("Uploads", [])]
    return keys


def test_put_open_exists_size(storage: Storage) -> None:
    storage.put_bytes("assets/a/thumb.webp", b"RIFF....WEBP", "image/webp")
    assert storage.exists("assets/a/thumb.webp")
    assert not storage.exists("assets/a/other")
    assert storage.size("assets/a/thumb.webp") == 12
    with storage.open("assets/a/thumb.webp") as fh:
        assert fh.read() == b"RIFF....WEBP"
    with pytest.raises(FileNotFoundError):
        storage.open("assets/a/missing")
    with pytest.raises(FileNotFoundError):
        storage.size("assets/a/missing")


@pytest.mark.parametrize("size", [0, 1000, 11 * MiB + 7], ids=["empty", "small", "multipart"])
def test_streamed_write_is_invisible_until_commit(storage: Storage, size: int) -> None:
    data = os.urandom(size)
    writer = storage.writer("assets/b/original", "video/mp4")
    for i in range(0, size, 256 * 1024):
        writer.write(data[i:i + 256 * 1024])
    assert not storage.exists("assets/b/original")
    writer.commit()
    assert storage.size("assets/b/original") == size
    with storage.open("assets/b/original") as fh:
        assert fh.read() == data
    assert leftovers(storage) == ["assets/b/original"]


@pytest.mark.parametrize("size", [1000, 11 * MiB], ids=["small", "multipart"])
def test_aborted_write_leaves_nothing(storage: Storage, size: int) -> None:
    writer = storage.writer("assets/c/original")
    data = os.urandom(size)
    for i in range(0, size, MiB):
        writer.write(data[i:i + MiB])
    writer.abort()
    writer.abort()  # twice is harmless
    assert leftovers(storage) == []


def test_local_path_holds_the_bytes_and_goes_away(storage: Storage) -> None:
    data = os.urandom(300_000)
    storage.put_bytes("assets/d/original", data)
    with storage.local_path("assets/d/original") as path:
        assert path.read_bytes() == data
    if isinstance(storage, S3Storage):
        assert not path.exists()
    with pytest.raises(FileNotFoundError), storage.local_path("assets/d/missing"):
        pass


def test_move_and_delete_prefix(storage: Storage) -> None:
    storage.put_bytes("assets/e/original", b"one")
    storage.put_bytes("assets/e/thumb.webp", b"two")
    storage.put_bytes("assets/ee/original", b"neighbour")
    storage.move_prefix("assets/e/", "trash/e/")
    assert sorted(storage.list_keys("trash/e/")) == ["trash/e/original", "trash/e/thumb.webp"]
    assert list(storage.list_keys("assets/e/")) == []
    assert storage.exists("assets/ee/original")
    with storage.open("trash/e/thumb.webp") as fh:
        assert fh.read() == b"two"
    storage.move_prefix("trash/e/", "assets/e/")
    assert sorted(storage.list_keys("assets/e/")) == ["assets/e/original", "assets/e/thumb.webp"]
    storage.move_prefix("trash/nothing/", "assets/nothing/")  # absent is fine
    storage.delete_prefix("assets/e/")
    storage.delete_prefix("assets/e/")  # absent is fine
    assert sorted(storage.list_keys("")) == ["assets/ee/original"]


def test_invalid_keys_are_refused(storage: Storage) -> None:
    for key in ("", "/abs", "a/../b", "a//b"):
        with pytest.raises(ValueError):
            storage.put_bytes(key, b"x")


def test_signed_url_serves_bytes_type_and_range(storage: Storage) -> None:
    data = os.urandom(5000)
    storage.put_bytes("assets/f/original", data, "image/png")
    url = storage.signed_url("assets/f/original", filename="red-dot.png",
                             content_type="image/png", expires_at=int(time.time()) + 600)
    with httpx.Client() as anonymous:
        got = anonymous.get(url)
        assert got.status_code == 200 and got.content == data
        assert got.headers["content-type"] == "image/png"
        assert got.headers["content-disposition"].startswith("inline")
        assert "red-dot.png" in got.headers["content-disposition"]
        part = anonymous.get(url, headers={"Range": "bytes=100-199"})
        assert part.status_code == 206 and part.content == data[100:200]
        assert part.headers["content-range"] == "bytes 100-199/5000"
        storage.move_prefix("assets/f/", "trash/f/")
        assert anonymous.get(url).status_code in (403, 404)


def test_signed_url_cannot_be_bent_or_outlive_its_expiry(storage: Storage) -> None:
    storage.put_bytes("assets/h/original", b"mine", "image/png")
    storage.put_bytes("assets/i/original", b"theirs", "image/png")
    url = storage.signed_url("assets/h/original", filename="h.png", content_type="image/png",
                             expires_at=int(time.time()) + 600)
    sig_name = "X-Amz-Signature=" if isinstance(storage, S3Storage) else "sig="
    ct_value = "image%2Fpng"
    assert httpx.get(url).status_code == 200
    for forged in (url.replace("assets/h/", "assets/i/"),
                   url.replace(sig_name, sig_name + "0"),
                   url.replace(ct_value, "text%2Fhtml")):
        assert forged != url
        assert httpx.get(forged).status_code == 403, forged
    short = storage.signed_url("assets/h/original", filename="h.png", content_type="image/png",
                               expires_at=int(time.time()) + 1)
    time.sleep(2.2)
    assert httpx.get(short).status_code == 403


def test_presigned_lifetime_follows_expires_at_and_is_clamped(storage: Storage) -> None:
    if not isinstance(storage, S3Storage):
        pytest.skip("local URLs carry their expiry themselves (see test_lifecycle)")
    storage.put_bytes("assets/g/original", b"x")
    now = int(time.time())

    def lifetime(expires_at: int) -> tuple[int, int]:
        url = storage.signed_url("assets/g/original", filename="ünïcode ✓.png",
                                 content_type="image/png", expires_at=expires_at)
        query = parse_qs(urlparse(url).query)
        assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
        # signed at the start of the hour (one URL per hour), valid until expires_at
        signed_at = calendar.timegm(time.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ"))
        assert signed_at % 3600 == 0 and now - 3600 < signed_at <= now
        return signed_at, int(query["X-Amz-Expires"][0])

    signed_at, expires = lifetime(now + 86400)
    assert signed_at + expires == now + 86400
    assert lifetime(now + 30 * 86400) == (signed_at, MAX_PRESIGN_S)
    url = storage.signed_url("assets/g/original", filename="ünïcode ✓.png",
                             content_type="image/png", expires_at=now + 60)
    got = httpx.get(url)
    assert got.status_code == 200
    assert "filename*=UTF-8''%C3%BCn%C3%AFcode%20%E2%9C%93.png" in \
        got.headers["content-disposition"]


def test_ping(storage: Storage) -> None:
    storage.ping()
    if isinstance(storage, S3Storage):
        gone = S3Storage(storage.client, "no-such-bucket-here", "", url_ttl=60)
        with pytest.raises(Exception):  # noqa: B017 - any botocore error will do
            gone.ping()


def test_presigned_urls_are_one_per_hour_and_any_key(storage: Storage) -> None:
    """Two processes' storages give the same URL for the same object within the hour (so
    browsers reuse what they fetched), and S3 accepts our own signatures for any key, name
    and type, non-ASCII ones included."""
    if not isinstance(storage, S3Storage):
        pytest.skip("local URLs are signed by security.UrlSigner (tests/unit/test_signed_urls)")
    other = S3Storage.from_url(f"s3://{storage.bucket}/{storage.prefix}",
                               endpoint_url=storage.client.meta.endpoint_url, url_ttl=3600)
    expires_at = (int(time.time()) // 3600 + 1) * 3600 + 3600
    cases = [("assets/été ✓/original", "Café ☕ été.mp4", "video/mp4"),
             ("assets/日本語 + 100%/thumb.webp", "サムネイル~.webp", "image/webp"),
             ("assets/a?b#c&d=e/original", 'quote " and \\ back', "text/plain; charset=utf-8")]
    try:
        for key, name, ctype in cases:
            storage.put_bytes(key, key.encode(), ctype)
            url = storage.signed_url(key, filename=name, content_type=ctype,
                                     expires_at=expires_at)
            assert other.signed_url(key, filename=name, content_type=ctype,
                                    expires_at=expires_at) == url
            got = httpx.get(url)
            assert got.status_code == 200, got.text
            assert got.content == key.encode() and got.headers["content-type"] == ctype
    finally:
        other.close()


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.from_regex(r"assets/[a-z0-9]{1,8}/(original|thumb\.webp|t ✓%\?#)", fullmatch=True),
       name=st.text(min_size=1, max_size=20).filter(lambda n: "\x00" not in n),
       ctype=st.sampled_from(["image/webp", "image/jpeg", "text/plain; charset=utf-8"]))
def test_a_fixed_signer_signs_as_signed_url_does(storage: Storage, key: str, name: str,
                                                 ctype: str) -> None:
    """Thumbnails' links (one name and type for many keys) are the links signed_url makes."""
    expires = int(time.time()) + 3600
    assert storage.fixed_signer(expires, name, ctype)(key) == \
        storage.signed_url(key, filename=name, content_type=ctype, expires_at=expires)
