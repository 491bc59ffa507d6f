"""GET /v1/assets to the letter of the seed: parameters, defaults, limits, headers, order.

This module's app has a library of its own: the system assets it adds show in every tenant's
listing. The smoke set (`both_ways`) runs on the session's real server too, with no system assets.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediashelf.domain import SYSTEM_TENANT_ID, Asset, AssetStatus, AssetType, now_ms
from tests.support.backends import Backend
from tests.support.inproc import Api, InProcess, both_ways
from tests.support.library import insert, make_asset, tenant_id_of

TYPES = [t.value for t in AssetType]
STATUSES = [s.value for s in AssetStatus]


@pytest.fixture(scope="module")
def app(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcess]:
    """This module's own library (nothing here uploads: no worker)."""
    with backend.provision() as env:
        started = InProcess(tmp_path_factory.mktemp("listing") / "data", env,
                            backend=backend.name, run_worker=False).start()
        yield started
        started.stop()


@pytest.fixture(scope="module")
def system_assets(app: InProcess) -> list[Asset]:
    base = now_ms() - 10_000_000
    made = [make_asset(SYSTEM_TENANT_ID, AssetType.AUDIO, AssetStatus.READY, base + i * 1000,
                       f"music {i}") for i in range(3)]
    insert(app.services, made)
    return made


@pytest.fixture
def tenant(api: Api) -> tuple[str, uuid.UUID]:
    key = api.new_key(f"list-{uuid.uuid4().hex[:8]}")
    return key, tenant_id_of(api.services, key)


def _get(api: Api, key: str, params: Any) -> httpx.Response:
    with api.client(key) as client:
        return client.get("/v1/assets", params=params)


def _library(api: Api, tenant_id: uuid.UUID, spec: list[tuple[str, str]]) -> list[Asset]:
    base = now_ms() - 5_000_000
    made = [make_asset(tenant_id, AssetType(t), AssetStatus(s), base + i * 1000)
            for i, (t, s) in enumerate(spec)]
    insert(api.services, made)
    return made


def _expect(assets: list[Asset], types: list[str], statuses: list[str]) -> list[str]:
    chosen = [a for a in assets if a.type.value in types and a.status.value in statuses]
    chosen.sort(key=lambda a: (a.created_ms, a.id.int), reverse=True)
    return [str(a.id) for a in chosen]


def test_seed_examples(api: Api, tenant: tuple[str, uuid.UUID],
                       system_assets: list[Asset]) -> None:
    key, tid = tenant
    spec = [("VIDEO", "READY")] * 12 + [("IMAGE", "READY")] * 15 + [("AUDIO", "READY")] * 2 + \
        [("VIDEO", "PROCESSING")] * 3 + [("IMAGE", "FAILED")] * 2
    everything = _library(api, tid, spec) + system_assets

    # GET /assets — all types, READY by default, page 1 of 20
    res = _get(api, key, {})
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("application/json")
    ready = _expect(everything, TYPES, ["READY"])
    assert [a["id"] for a in res.json()] == ready[:20]
    assert res.headers["X-Total-Count"] == str(len(ready)) == "32"
    assert res.headers["X-Page"] == "1" and res.headers["X-Page-Size"] == "20"
    assert res.headers["X-Total-Pages"] == "2"
    for item in res.json():
        assert set(item) >= {"id", "name", "type", "status", "fileUrl", "thumbnailUrl",
                             "createdAt"}
        assert item["status"] == "READY" and item["fileUrl"].startswith("http")
        uuid.UUID(item["id"])
        assert item["createdAt"].endswith("Z")

    # GET /assets?type=VIDEO
    res = _get(api, key, {"type": "VIDEO"})
    assert [a["id"] for a in res.json()] == _expect(everything, ["VIDEO"], ["READY"])
    assert res.headers["X-Total-Count"] == "12"

    # GET /assets?type=IMAGE&type=VIDEO&page=2&pageSize=10
    res = _get(api, key, [("type", "IMAGE"), ("type", "VIDEO"), ("page", "2"),
                                 ("pageSize", "10")])
    both = _expect(everything, ["IMAGE", "VIDEO"], ["READY"])
    assert [a["id"] for a in res.json()] == both[10:20]
    assert (res.headers["X-Total-Count"], res.headers["X-Page"], res.headers["X-Page-Size"],
            res.headers["X-Total-Pages"]) == ("27", "2", "10", "3")

    # a comma-separated type is the same as a repeated one
    same = _get(api, key, {"type": "IMAGE,VIDEO", "page": "2", "pageSize": "10"})
    assert same.json() == res.json()

    # several statuses are an OR; system assets count in the totals
    res = _get(api, key, [("status", "PROCESSING"), ("status", "FAILED")])
    assert [a["id"] for a in res.json()] == _expect(everything, TYPES, ["PROCESSING", "FAILED"])
    for item in res.json():
        assert item["fileUrl"] is None and item["thumbnailUrl"] is None
    assert _get(api, key, {"type": "AUDIO"}).headers["X-Total-Count"] == "5"


@both_ways
def test_page_past_the_end_and_empty_results(api: Api, tenant: tuple[str, uuid.UUID]) -> None:
    key, tid = tenant
    _library(api, tid, [("IMAGE", "READY")] * 3)
    res = _get(api, key, {"type": "IMAGE", "page": "7", "pageSize": "2"})
    assert res.status_code == 200 and res.json() == []
    assert res.headers["X-Total-Count"] == "3" and res.headers["X-Total-Pages"] == "2"
    assert res.headers["X-Page"] == "7"
    none = _get(api, key, {"type": "VIDEO", "status": "FAILED"})
    assert none.json() == [] and none.headers["X-Total-Count"] == "0"
    assert none.headers["X-Total-Pages"] == "0"
    huge = _get(api, key, {"page": "999999999999"})
    assert huge.status_code == 200 and huge.json() == []


@pytest.mark.parametrize(("params", "name", "allowed"), [
    ({"type": "PDF"}, "type", "AUDIO, IMAGE, VIDEO"),
    ({"type": "video"}, "type", "AUDIO, IMAGE, VIDEO"),
    ({"type": ""}, "type", "AUDIO, IMAGE, VIDEO"),
    ({"type": "IMAGE,"}, "type", "AUDIO, IMAGE, VIDEO"),
    ([("type", "IMAGE"), ("type", "GIF")], "type", "AUDIO, IMAGE, VIDEO"),
    ({"status": "DONE"}, "status", "PROCESSING, READY, FAILED"),
    ({"status": "ready"}, "status", "PROCESSING, READY, FAILED"),
    ({"status": ""}, "status", "PROCESSING, READY, FAILED"),
    ({"page": "0"}, "page", "1"),
    ({"page": "-1"}, "page", "1"),
    ({"page": "abc"}, "page", "1"),
    ({"page": "1.5"}, "page", "1"),
    ({"page": ""}, "page", "1"),
    ([("page", "1"), ("page", "2")], "page", "1"),
    ({"page": "9" * 22}, "page", "at most 18 digits"),  # a number, but past what is kept
    ({"pageSize": "0"}, "pageSize", "1 to 100"),
    ({"pageSize": "101"}, "pageSize", "1 to 100"),
    ({"pageSize": "1e2"}, "pageSize", "1 to 100"),
    ({"pageSize": "ten"}, "pageSize", "1 to 100"),
    ({"pageSize": "-5"}, "pageSize", "1 to 100"),
])
@both_ways
def test_invalid_values_answer_400_naming_parameter_and_allowed_values(
        client: httpx.Client, params: Any, name: str, allowed: str) -> None:
    res = client.get("/v1/assets", params=params)
    assert res.status_code == 400
    body = res.json()
    assert set(body) == {"code", "message"} and body["code"] == 400
    assert f"'{name}'" in body["message"] and allowed in body["message"]


def test_limits_and_unknown_parameters(api: Api, tenant: tuple[str, uuid.UUID]) -> None:
    key, tid = tenant
    _library(api, tid, [("VIDEO", "READY")] * 105)
    full = _get(api, key, {"type": "VIDEO", "pageSize": "100", "sort": "name", "x": "1"})
    assert full.status_code == 200 and len(full.json()) == 100
    assert full.headers["X-Page-Size"] == "100" and full.headers["X-Total-Pages"] == "2"
    one = _get(api, key, {"type": "VIDEO", "pageSize": "1"})
    assert len(one.json()) == 1 and one.headers["X-Total-Pages"] == "105"


def test_ties_on_created_at_are_broken_by_id(api: Api, tenant: tuple[str, uuid.UUID]) -> None:
    key, tid = tenant
    ms = now_ms() - 1000
    made = [make_asset(tid, AssetType.IMAGE, AssetStatus.READY, ms) for _ in range(6)]
    insert(api.services, made)
    got = [a["id"] for a in _get(api, key, {"type": "IMAGE", "pageSize": "3"}).json()]
    got += [a["id"] for a in _get(api, key, {"type": "IMAGE", "pageSize": "3",
                                             "page": "2"}).json()]
    assert got == [str(a.id) for a in sorted(made, key=lambda a: a.id.int, reverse=True)]


@both_ways
def test_pagination_headers_are_exposed_to_browsers(api: Api, client: httpx.Client) -> None:
    res = client.get("/v1/assets", headers={"Origin": "https://app.example"})
    exposed = {h.strip().lower() for h in res.headers["access-control-expose-headers"].split(",")}
    assert exposed >= {"x-total-count", "x-page", "x-page-size", "x-total-pages"}
    with api.client() as anonymous:  # a preflight carries no key
        pre = anonymous.options("/v1/assets", headers={
            "Origin": "https://app.example", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-api-key"})
    assert pre.status_code == 200
    assert "x-api-key" in pre.headers["access-control-allow-headers"].lower()


library_spec = st.lists(st.tuples(st.sampled_from(TYPES), st.sampled_from(STATUSES),
                                  st.integers(0, 40)), max_size=60)
filters = st.tuples(st.lists(st.sampled_from(TYPES), unique=True),
                    st.lists(st.sampled_from(STATUSES), unique=True), st.integers(1, 25))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(spec=library_spec, query=filters)
def test_walking_all_pages_matches_a_model(api: Api, system_assets: list[Asset],
                                           spec: list[tuple[str, str, int]],
                                           query: tuple[list[str], list[str], int]) -> None:
    key = api.new_key(f"h-{uuid.uuid4().hex[:10]}")
    tid = tenant_id_of(api.services, key)
    base = now_ms() - 1_000_000
    made = [make_asset(tid, AssetType(t), AssetStatus(s), base + offset * 10)  # ties on purpose
            for t, s, offset in spec]
    insert(api.services, made)
    types, statuses, size = query
    expected = _expect(made + system_assets, types or TYPES, statuses or ["READY"])
    params = [("type", t) for t in types] + [("status", s) for s in statuses]
    pages = max(1, math.ceil(len(expected) / size))
    seen: list[str] = []
    for page in range(1, pages + 2):  # one past the end too
        res = _get(api, key, [*params, ("page", str(page)), ("pageSize", str(size))])
        assert res.status_code == 200
        assert res.headers["X-Total-Count"] == str(len(expected))
        assert res.headers["X-Total-Pages"] == str(math.ceil(len(expected) / size))
        assert res.headers["X-Page"] == str(page) and res.headers["X-Page-Size"] == str(size)
        seen += [a["id"] for a in res.json()]
    assert seen == expected
