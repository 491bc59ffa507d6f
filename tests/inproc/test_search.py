"""Search, tag filters and sort orders on GET /v1/assets: the words matched, every order paged
without repeats or gaps, hostile searches answered, totals equal to a plain count."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediashelf.db import listing
from mediashelf.domain import SYSTEM_TENANT_ID, Asset, AssetStatus, AssetType, now_ms
from mediashelf.words import fold, query_words, words
from tests.support.inproc import Api, both_ways
from tests.support.library import insert, make_asset, tenant_id_of

NAMES = ["Cafe Terrace.jpg", "café au lait.png", "Beach sunset.mp4", "BEACHES at dawn.mov",
         "IMG_0042.MOV", "Große Straße.png", "東京タワー night.mp4", "beachball", None]


def _fill(api: Api, key: str, names: list[str | None], tags: list[list[str]] | None = None,
          owner: uuid.UUID | None = None) -> list[Asset]:
    tenant = owner or tenant_id_of(api.services, key)
    base = now_ms() - 10_000_000
    kinds = [(AssetType.IMAGE, AssetStatus.READY), (AssetType.VIDEO, AssetStatus.READY),
             (AssetType.AUDIO, AssetStatus.READY), (AssetType.IMAGE, AssetStatus.FAILED)]
    made = []
    for i, name in enumerate(names):
        asset = make_asset(tenant, *kinds[i % len(kinds)], base + i * 1000 + (i * 7) % 3)
        asset.name = name
        asset.tags = sorted((tags or [])[i] if tags and i < len(tags) else [])
        asset.size_bytes = [500, None, 1000, 500, 20][i % 5]
        asset.duration_ms = [None, 3000, 3000, None, 10][i % 5]
        made.append(asset)
    insert(api.services, made)
    return made


def _names(res: httpx.Response) -> list[str | None]:
    assert res.status_code == 200, res.text
    return [a["name"] for a in res.json()]


def _search(client: httpx.Client, **params: Any) -> httpx.Response:
    return client.get("/v1/assets", params={"scope": "mine", "status": "READY,FAILED",
                                            "pageSize": 100, **params})


@both_ways
def test_words_match_by_prefix_whatever_the_case_and_accents(api: Api, api_key: str, plan: str,
                                                            client: httpx.Client) -> None:
    _fill(api, api_key, NAMES, [[], [], ["Sunset", "golden hour"], [], ["raw"], [], [], [], []])
    cases = {
        "café": {"Cafe Terrace.jpg", "café au lait.png"},
        "CAF": {"Cafe Terrace.jpg", "café au lait.png"},
        "beach": {"Beach sunset.mp4", "BEACHES at dawn.mov", "beachball"},
        "beach sun": {"Beach sunset.mp4"},  # several words: all must match
        "sun beach": {"Beach sunset.mp4"},
        "golden": {"Beach sunset.mp4"},  # a tag's words are searched too
        "raw img": {"IMG_0042.MOV"},
        "0042": {"IMG_0042.MOV"},
        "mov": {"IMG_0042.MOV", "BEACHES at dawn.mov"},
        "strasse": {"Große Straße.png"},
        "東京": {"東京タワー night.mp4"},
        "terrace.jpg": {"Cafe Terrace.jpg"},
        "each": set(),  # prefixes of words, not any substring
        "nothing-like-it": set(),
    }
    for q, expected in cases.items():
        res = _search(client, q=q)
        assert set(_names(res)) == expected, q
        assert res.headers["X-Total-Count"] == str(len(expected))
        assert res.headers["X-Total-Pages"] == ("0" if not expected else "1")
    # blank searches search nothing: everything is listed
    assert len(_names(_search(client, q="  "))) == len(NAMES)


def test_hostile_searches_are_answered(api: Api, api_key: str, client: httpx.Client) -> None:
    _fill(api, api_key, ["NEAR thing", "quote \" mark", "star*", "a-b", "OR AND NOT"])
    for q in ['"', '*', 'NEAR(', '-', '🎉', "' OR 1=1 --", "a:* & b", "\\", "NEAR", "NOT",
              'star"*', "^", "(", "{}", "%", "_", "\u0301", "ǅ", "x" * 256]:
        res = _search(client, q=q)
        assert res.status_code == 200, (q, res.text)
        expected = sum(1 for name in ["NEAR thing", "quote \" mark", "star*", "a-b",
                                      "OR AND NOT"] if _matches(name, [], q))
        assert int(res.headers["X-Total-Count"]) == expected == len(res.json()), q
    res = _search(client, q="x" * 257)
    assert res.status_code == 400 and res.json() == {
        "code": 400, "message": "parameter 'q' must be at most 256 characters"}
    for params in ({"sort": "size"}, {"sort": "-createdAt", "page": "x"}, {"tag": "x" * 65},
                   {"q": ["a", "b"]}):
        res = client.get("/v1/assets", params=params)
        assert res.status_code == 400, params
        assert set(res.json()) == {"code", "message"}
    assert "-durationMs" in client.get("/v1/assets?sort=big").json()["message"]


def _matches(name: str | None, tags: list[str], q: str) -> bool:
    doc = words(name or "") + [w for t in tags for w in words(t)]
    wanted = query_words(q)
    if not wanted:  # a search with no words in it (only punctuation, say) matches nothing
        return False
    return all(any(d.startswith(w) for d in doc) for w in wanted)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(q=st.text(max_size=12) | st.sampled_from(["caf", "beach s", "ß", "İ", "ﬁ", "①"]))
def test_any_search_is_answered_with_the_plain_count(api: Api, search_library: str,
                                                     q: str) -> None:
    with api.client(search_library) as client:
        res = _search(client, q=q)
    if len(q) > 256:
        assert res.status_code == 400
        return
    assert res.status_code == 200, res.text
    names = [n for n in NAMES]
    expected = [n for n in names if _matches(n, [], q)] if q.strip() else names
    assert sorted(map(str, _names(res))) == sorted(map(str, expected))
    assert int(res.headers["X-Total-Count"]) == len(expected)


@pytest.fixture
def search_library(api: Api) -> str:
    key = api.new_key(f"s-{uuid.uuid4().hex[:10]}")
    _fill(api, key, NAMES)
    return key


def test_tags_filter_and_combine(api: Api, api_key: str, plan: str,
                                 client: httpx.Client) -> None:
    names = [f"clip {i}" for i in range(12)]
    tags = [["beach", "drone"] if i % 3 == 0 else ["beach"] if i % 3 == 1 else ["city"]
            for i in range(12)]
    made = _fill(api, api_key, names, tags)
    beach = {a.name for a in made if "beach" in a.tags}
    both = {a.name for a in made if {"beach", "drone"} <= set(a.tags)}
    assert set(_names(_search(client, tag="beach"))) == beach
    assert set(_names(_search(client, tag=["beach", "drone"]))) == both
    assert set(_names(_search(client, tag=" Beach ,DRONE"))) == both  # trimmed, lower-cased
    assert _names(_search(client, tag=["beach", "city"])) == []
    assert set(_names(_search(client, tag="beach", q="clip 1"))) == {"clip 1", "clip 10"}
    images = {a.name for a in made if "beach" in a.tags and a.type is AssetType.IMAGE
              and a.status is AssetStatus.READY}
    res = client.get("/v1/assets", params={"scope": "mine", "tag": "beach", "type": "IMAGE"})
    assert set(_names(res)) == images
    assert res.headers["X-Total-Count"] == str(len(images))
    assert _names(client.get("/v1/assets", params={"scope": "system", "tag": "beach"})) == []
    paged = _search(client, tag="beach", pageSize=2, page=2)
    assert paged.headers["X-Total-Count"] == str(len(beach))
    assert paged.headers["X-Total-Pages"] == str(-(-len(beach) // 2))


_SORT_KEYS = {
    "-createdAt": lambda a: (-a.id.int,),
    "createdAt": lambda a: (a.id.int,),
    "name": lambda a: (fold(a.name or ""), a.id.int),
    "-name": lambda a: (_neg(fold(a.name or "")), -a.id.int),
    "-sizeBytes": lambda a: (a.size_bytes is None, -(a.size_bytes or 0), -a.id.int),
    "-durationMs": lambda a: (a.duration_ms is None, -(a.duration_ms or 0), -a.id.int),
}


def _neg(text: str) -> tuple[int, ...]:
    return (*(-ord(c) for c in text), 1)  # a longer name after its own prefix


@pytest.fixture(params=["index", "walk"])
def plan(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Filtered pages read through the text and tag indexes, or by walking the order's index
    (the app runs in this process: the listing picks by this factor)."""
    monkeypatch.setattr(listing, "WALK_FACTOR", 10**9 if request.param == "index" else 0)
    return str(request.param)


@pytest.mark.parametrize("sort", list(_SORT_KEYS))
def test_every_order_pages_without_repeats_or_gaps(api: Api, api_key: str, plan: str,
                                                   client: httpx.Client, sort: str) -> None:
    names = ["b", "B", "a", "Á", "c", "b", "ab", None, "a", "zz", "Zz", "é", "e", "d"] * 2
    made = _fill(api, api_key, names, [["t"] if i % 2 else [] for i in range(len(names))])
    for params, chosen in (
            ({}, [a for a in made if a.status is AssetStatus.READY]),
            ({"status": "READY,FAILED", "type": "IMAGE,AUDIO"},
             [a for a in made if a.type is not AssetType.VIDEO]),
            ({"status": "READY,FAILED", "tag": "t"}, [a for a in made if a.tags]),
            ({"status": "READY,FAILED", "q": "b"}, [a for a in made if _matches(a.name, [], "b")])):
        expected = [str(a.id) for a in sorted(chosen, key=_SORT_KEYS[sort])]
        for size in (1, 3, 7, 100):
            seen: list[str] = []
            pages = -(-len(expected) // size)
            for page in range(1, pages + 2):
                res = client.get("/v1/assets", params={"scope": "mine", "sort": sort,
                                                       "pageSize": size, "page": page, **params})
                assert res.status_code == 200, res.text
                assert res.headers["X-Total-Count"] == str(len(expected))
                assert res.headers["X-Total-Pages"] == str(pages)
                seen += [a["id"] for a in res.json()]
            assert seen == expected, (sort, params, size)


def test_system_assets_are_searched_and_tagged_too(api: Api, api_key: str,
                                                   client: httpx.Client) -> None:
    word = f"sys{uuid.uuid4().hex[:8]}"
    _fill(api, api_key, [f"{word} mine"], [["theme"]])
    _fill(api, api_key, [f"{word} shared"], [["theme"]], owner=SYSTEM_TENANT_ID)
    assert set(_names(client.get("/v1/assets", params={"q": word}))) == {
        f"{word} mine", f"{word} shared"}
    assert _names(client.get("/v1/assets", params={"q": word, "scope": "system"})) == [
        f"{word} shared"]
    assert _names(client.get("/v1/assets", params={"q": word, "tag": "theme",
                                                   "scope": "mine"})) == [f"{word} mine"]
