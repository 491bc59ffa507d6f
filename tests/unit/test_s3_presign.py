"""Our SigV4 presigner makes the very URL botocore's presigner makes at the same time: same
endpoint and addressing, same escaping of keys and response parameters, same signature."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import closing
from typing import Any
from unittest import mock
from urllib.parse import quote

import boto3
import pytest
from botocore.config import Config
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediashelf.names import inline_disposition
from mediashelf.storage import s3_presign
from mediashelf.storage.s3_presign import WINDOW_S, Presigner

# (endpoint_url, region, addressing style): a local endpoint (as with moto or MinIO), AWS in
# us-east-1 and elsewhere, path and virtual-host addressing
ENDPOINTS = [("http://127.0.0.1:9000", "us-east-1", "path"),
             ("https://s3.example.net:443", "eu-central-1", "path"),
             (None, "us-east-1", "auto"), (None, "eu-west-3", "virtual"),
             (None, "ap-southeast-2", "path")]
TOKENS = [None, "FwoGZXIvYXdzEJr//////////wEaDH+/token="]

# any Unicode but lone surrogates, with URL-minded punctuation made common
chars = st.one_of(st.sampled_from(list("~-_. %+=&;:'\"*!()@$,?#[]é✓日")),
                  st.characters(blacklist_categories=("Cs",)))
segment = st.text(chars, min_size=1, max_size=12).filter(
    lambda s: s not in (".", "..") and "/" not in s)
keys = st.lists(segment, min_size=1, max_size=4).map("/".join)
texts = st.text(chars, max_size=40)
content_types = st.one_of(st.sampled_from(["image/webp", "video/mp4", "audio/mp4",
                                           "application/octet-stream"]), texts)
dispositions = st.one_of(texts.map(inline_disposition), texts)
times = st.integers(min_value=1_600_000_000, max_value=2_000_000_000)


@pytest.fixture(params=[(e, t) for e in ENDPOINTS for t in TOKENS],
                ids=lambda p: f"{p[0][0] or 'aws'}-{p[0][1]}-{p[0][2]}-{bool(p[1])}")
def pair(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Presigner, str]]:
    (endpoint, region, style), token = request.param
    client = boto3.client("s3", endpoint_url=endpoint, region_name=region,
                          aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="wJalr/K7+=",
                          aws_session_token=token,
                          config=Config(signature_version="s3v4", s3={"addressing_style": style}))
    with closing(client):
        yield client, Presigner(client, "media-bucket", Credentials(
            "AKIDEXAMPLE", "wJalr/K7+=", token)), "media-bucket"


def botocore_url(client: Any, bucket: str, key: str, content_type: str, disposition: str,
                 at: int, expires_in: int) -> str:
    frozen = dt.datetime.fromtimestamp(at, dt.UTC).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=frozen):
        url: str = client.generate_presigned_url(
            "get_object", ExpiresIn=expires_in,
            Params={"Bucket": bucket, "Key": key, "ResponseContentType": content_type,
                    "ResponseContentDisposition": disposition})
    return url


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=keys, content_type=content_types, disposition=dispositions, at=times,
       expires_in=st.integers(min_value=1, max_value=7 * 86400))
def test_equal_to_botocore(pair: tuple[Any, Presigner, str], key: str, content_type: str,
                           disposition: str, at: int, expires_in: int) -> None:
    client, ours, bucket = pair
    assert ours.url_at(key, content_type=content_type, disposition=disposition, signed_at=at,
                       expires_in=expires_in) == \
        botocore_url(client, bucket, key, content_type, disposition, at, expires_in)


def test_one_url_per_window(pair: tuple[Any, Presigner, str]) -> None:
    """Signed at the window's start and expiring at expires_at, whenever in the window it is
    asked for: botocore's URL for that start and lifetime."""
    client, ours, bucket = pair
    start = 1_750_000_000 // WINDOW_S * WINDOW_S
    expires_at = start + 2 * WINDOW_S + 86400
    made = {ours.url("assets/x/original", content_type="video/mp4",
                     disposition='inline; filename="x.mp4"', expires_at=expires_at, now=now)
            for now in (start, start + 1, start + WINDOW_S - 1)}
    assert made == {botocore_url(client, bucket, "assets/x/original", "video/mp4",
                                 'inline; filename="x.mp4"', start, expires_at - start)}
    later = ours.url("assets/x/original", content_type="video/mp4",
                     disposition='inline; filename="x.mp4"', expires_at=expires_at,
                     now=start + WINDOW_S)
    assert later not in made
    week = ours.url("k", content_type="a/b", disposition="inline", expires_at=start + 10**7,
                    now=start + 5)
    assert "X-Amz-Expires=604800&" in week


@given(st.one_of(texts.map(inline_disposition), texts,
                 st.text("abcXYZ019 _.~-", max_size=30).map(inline_disposition)))
def test_a_response_parameter_is_escaped_as_quote_does(value: str) -> None:
    """The hand-escaped plain dispositions and quote() agree on every value."""
    assert s3_presign._quoted(value) == quote(value, safe="-_.~")
