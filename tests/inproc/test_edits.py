"""Rename and tag (PATCH), bulk actions, the trash and restore; totals stay exact through a
random run of uploads, renames, tag changes, deletes and restores."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mediashelf.db.assets import AssetRepository
from mediashelf.domain import SYSTEM_TENANT_ID, AssetStatus, AssetType, now_ms
from mediashelf.words import query_words, words
from tests.support.inproc import Api, both_ways
from tests.support.library import insert, make_asset, remove, tenant_id_of
from tests.support.server import upload

_SYSTEM_MADE: list[str] = []


def _one(api: Api, key: str | None, name: str = "IMG_0042.MOV",
         owner: uuid.UUID | None = None) -> str:
    tenant = owner or tenant_id_of(api.services, str(key))
    asset = make_asset(tenant, AssetType.VIDEO, AssetStatus.READY, now_ms() - 5000, name)
    insert(api.services, [asset])
    if owner == SYSTEM_TENANT_ID:
        _SYSTEM_MADE.append(str(asset.id))
    return str(asset.id)


@pytest.fixture(autouse=True)
def _no_system_assets_left(api: Api) -> Iterator[None]:
    """System assets show to every tenant of the shared library: none outlives its test."""
    yield
    remove(api.services, _SYSTEM_MADE)
    _SYSTEM_MADE.clear()


@both_ways
def test_rename_and_tag(api: Api, api_key: str, client: httpx.Client) -> None:
    aid = _one(api, api_key)
    before = client.get(f"/v1/assets/{aid}").json()
    assert before["tags"] == []
    listed = client.get("/v1/assets", params={"q": "beach", "scope": "mine"})
    assert listed.json() == []  # kept in the reply cache: the rename must pass it by
    res = client.patch(f"/v1/assets/{aid}", json={"name": "  Beach at dawn  ",
                                                   "tags": [" Sunset", "sunset ", "B-Roll"]})
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["name"] == "Beach at dawn" and body["tags"] == ["b-roll", "sunset"]
    assert body["updatedAt"] > before["updatedAt"]
    # a download is named after the asset; S3 presigns with the second it signs at
    changed = ("name", "tags", "updatedAt", "fileUrl", "thumbnailUrl")
    assert {k: v for k, v in body.items() if k not in changed} == {
        k: v for k, v in before.items() if k not in changed}
    assert "Beach" in body["fileUrl"]
    assert client.get(f"/v1/assets/{aid}").json() == body
    assert [a["id"] for a in client.get("/v1/assets", params={"q": "beach"}).json()] == [aid]
    assert [a["id"] for a in client.get("/v1/assets", params={"tag": "b-roll"}).json()] == [aid]
    # tags alone keep the name; name alone keeps the tags
    assert client.patch(f"/v1/assets/{aid}", json={"tags": []}).json()["name"] == "Beach at dawn"
    assert client.patch(f"/v1/assets/{aid}", json={"name": "x"}).json()["tags"] == []
    assert client.get("/v1/assets", params={"tag": "sunset", "scope": "mine"}).json() == []


@pytest.mark.parametrize(("body", "words_in_message"), [
    ({}, "name and/or tags"),
    ({"name": ""}, "1 to 256"), ({"name": "x" * 257}, "1 to 256"), ({"name": 5}, "string"),
    ({"name": "a\x00b"}, "control"), ({"tags": "beach"}, "array"), ({"tags": [1]}, "string"),
    ({"tags": ["x" * 65]}, "1 to 64"), ({"tags": [" "]}, "1 to 64"), ({"tags": ["a,b"]}, "comma"),
    ({"tags": [f"t{i}" for i in range(33)]}, "at most 32"), ({"colour": "red"}, "'colour'"),
    ([1, 2], "object"), ("not json", "JSON"), ({"tags": [[[[]]]]}, "string"),
])
def test_bad_edits_are_400s_naming_the_problem(api: Api, api_key: str, client: httpx.Client,
                                               body: Any, words_in_message: str) -> None:
    aid = _one(api, api_key)
    if isinstance(body, str):
        res = client.patch(f"/v1/assets/{aid}", content=body,
                           headers={"content-type": "application/json"})
    else:
        res = client.patch(f"/v1/assets/{aid}", json=body)
    assert res.status_code == 400, res.text
    assert res.json()["code"] == 400 and words_in_message in res.json()["message"]
    repeated = client.patch(f"/v1/assets/{aid}", content=b'{"name": "a", "name": "b"}',
                            headers={"content-type": "application/json"})
    assert repeated.status_code == 400 and "more than once" in repeated.json()["message"]
    huge = client.patch(f"/v1/assets/{aid}", content=b'{"tags": [' + b'"a",' * 40000 + b'"a"]}',
                        headers={"content-type": "application/json"})
    assert huge.status_code == 413 and huge.json()["code"] == 413


def test_system_assets_are_read_only_and_others_are_not_found(
        api: Api, api_key: str, client: httpx.Client) -> None:
    system = _one(api, None, "shared tune", owner=SYSTEM_TENANT_ID)
    foreign = _one(api, api.new_key(f"other-{uuid.uuid4().hex[:8]}"))
    for call in (lambda i: client.patch(f"/v1/assets/{i}", json={"name": "mine now"}),
                 lambda i: client.post(f"/v1/assets/{i}/restore")):
        refused = call(system)
        assert refused.status_code == 403, refused.text
        assert refused.json() == {"code": 403, "message": "system assets are read-only: "
                                                          "tenants cannot change them"}
        assert call(foreign).json() == {"code": 404, "message": "asset not found"}
    # a delete answers 404, as INTERFACE.md has it, and says why
    assert client.delete(f"/v1/assets/{system}").json() == {
        "code": 404, "message": "asset not found among this key's own: system assets cannot be "
                                "deleted by tenants"}
    assert client.delete(f"/v1/assets/{foreign}").json() == {"code": 404,
                                                             "message": "asset not found"}
    assert client.get(f"/v1/assets/{system}").json()["name"] == "shared tune"


@both_ways
def test_bulk_actions_answer_per_id(api: Api, api_key: str, client: httpx.Client) -> None:
    mine = [_one(api, api_key, f"bulk {i}") for i in range(3)]
    foreign = _one(api, api.new_key(f"other-{uuid.uuid4().hex[:8]}"))
    system = _one(api, None, "shared bulk", owner=SYSTEM_TENANT_ID)
    ids = [mine[0], foreign, system, "not-an-id", mine[1], mine[0]]
    res = client.post("/v1/assets/batch-update",
                      json={"ids": ids, "addTags": ["Keep", "b"], "removeTags": ["b"]})
    assert res.status_code == 200, res.text
    results = res.json()["results"]
    assert [(r["id"], r["ok"], r["code"]) for r in results] == [
        (mine[0], True, 200), (foreign, False, 404), (system, False, 403),
        ("not-an-id", False, 404), (mine[1], True, 200)]  # one result per distinct id
    assert results[0]["asset"]["tags"] == ["keep"] and "read-only" in results[2]["message"]
    assert {a["id"] for a in client.get("/v1/assets", params={"tag": "keep"}).json()} == set(
        mine[:2])
    res = client.post("/v1/assets/batch-delete", json={"ids": [mine[2], system, foreign,
                                                               mine[2]]})
    assert [(r["id"], r["code"]) for r in res.json()["results"]] == [
        (mine[2], 200), (system, 404), (foreign, 404)]
    assert client.get(f"/v1/assets/{mine[2]}").status_code == 404
    assert client.get(f"/v1/assets/{system}").status_code == 200
    for body, words_in_message in (({"ids": []}, "1 to 100"), ({"ids": ["a"] * 101}, "at most"),
                                   ({"ids": [1]}, "string"), ({"ids": "x"}, "array"),
                                   ({}, "'ids'"), ({"ids": ["a"], "x": 1}, "'x'")):
        res = client.post("/v1/assets/batch-delete", json=body)
        assert res.status_code == 400 and words_in_message in res.json()["message"], body
    res = client.post("/v1/assets/batch-update", json={"ids": [mine[0]]})
    assert res.status_code == 400 and "addTags" in res.json()["message"]
    res = client.post("/v1/assets/batch-update", json={"ids": [mine[0]], "addTags": [" "]})
    assert res.status_code == 400


@both_ways
def test_trash_lists_and_restores(api: Api, api_key: str, client: httpx.Client) -> None:
    ids = [_one(api, api_key, f"trash {i}") for i in range(3)]
    assert client.get("/v1/trash").json() == []
    for aid in ids:
        assert client.delete(f"/v1/assets/{aid}").status_code == 200
    res = client.get("/v1/trash", params={"pageSize": 2})
    assert res.status_code == 200
    assert (res.headers["X-Total-Count"], res.headers["X-Total-Pages"]) == ("3", "2")
    page1, page2 = res.json(), client.get("/v1/trash?pageSize=2&page=2").json()
    assert [a["id"] for a in page1 + page2] == ids[::-1]  # newest deletion first
    for item in page1 + page2:
        assert item["fileUrl"] is None and item["deletedAt"] < item["purgeAt"]
        assert item["tags"] == [] and item["name"].startswith("trash ")
    other = api.new_key(f"other-{uuid.uuid4().hex[:8]}")
    with api.client(other) as stranger:
        assert stranger.get("/v1/trash").json() == []
        assert stranger.post(f"/v1/assets/{ids[0]}/restore").status_code == 404
    back = client.post(f"/v1/assets/{ids[0]}/restore")
    assert back.status_code == 200 and back.json()["id"] == ids[0]
    assert back.json()["fileUrl"] is not None  # READY again, its links working
    assert client.get(f"/v1/assets/{ids[0]}").status_code == 200
    assert client.get("/v1/trash").headers["X-Total-Count"] == "2"
    again = client.post(f"/v1/assets/{ids[0]}/restore")
    assert again.status_code == 404 and "not in the trash" in again.json()["message"]
    assert client.get("/v1/trash?page=0").status_code == 400


def test_purge_after_the_grace_period(api: Api, api_key: str, client: httpx.Client,
                                      media: dict[str, Path]) -> None:
    aid = upload(client, media["png"], name="old one", tags="a, b")["id"]
    assert client.delete(f"/v1/assets/{aid}").status_code == 200
    grace = int(api.services.settings.purge_after * 1000)
    with api.services.db.write() as conn:  # as if deleted just over the grace period ago
        AssetRepository().update_fields(conn, uuid.UUID(aid),
                                        deleted_ms=now_ms() - grace - 1000)
    assert client.get("/v1/trash").json() == []
    late = client.post(f"/v1/assets/{aid}/restore")
    assert late.status_code == 404 and "grace period" in late.json()["message"]
    api.services.assets.purge_due()
    with api.services.db.read() as conn:
        assert AssetRepository().get(conn, uuid.UUID(aid)) is None
    assert not api.services.storage.exists(f"trash/{aid}/original")
    assert client.get("/v1/assets", params={"tag": "a", "scope": "mine"}).json() == []


def test_tags_at_upload_and_import(api: Api, api_key: str, client: httpx.Client,
                                   media: dict[str, Path]) -> None:
    body = upload(client, media["png"], tags=" Beach,, drone ,beach")
    assert body["tags"] == ["beach", "drone"]
    with open(media["png"], "rb") as fh:
        res = client.post("/v1/assets", files={"file": ("a.png", fh)}, data={"tags": "a\x01"})
    assert res.status_code == 400 and "control" in res.json()["message"]
    res = client.post("/v1/assets", json={"name": "n", "type": "IMAGE",
                                          "url": "https://example.com/a.png",
                                          "tags": ["Imported", " x "]})
    assert res.status_code == 201, res.text
    assert res.json()["tags"] == ["imported", "x"]
    res = client.post("/v1/assets", json={"name": "n", "type": "IMAGE",
                                          "url": "https://example.com/a.png", "tags": "x"})
    assert res.status_code == 400 and "array" in res.json()["message"]


def test_openapi_documents_the_new_routes(api: Api) -> None:
    with api.client() as anonymous:
        doc = anonymous.get("/openapi.json").json()
    paths = doc["paths"]
    assert set(paths["/v1/assets/{asset_id}"]) >= {"get", "delete", "patch"}
    for path, method, codes in (("/v1/assets/{asset_id}", "patch", {"200", "400", "403", "404"}),
                                ("/v1/assets/batch-delete", "post", {"200", "400"}),
                                ("/v1/assets/batch-update", "post", {"200", "400"}),
                                ("/v1/trash", "get", {"200", "400"}),
                                ("/v1/assets/{asset_id}/restore", "post", {"200", "403", "404"})):
        responses = paths[path][method]["responses"]
        assert codes <= set(responses), path
        for code in codes - {"200"}:
            assert responses[code]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"}
    params = {p["name"] for p in paths["/v1/assets"]["get"]["parameters"]}
    assert {"q", "tag", "sort", "scope"} <= params
    assert "tags" in doc["components"]["schemas"]["Asset"]["properties"]
    refs = {m["schema"]["$ref"].rsplit("/", 1)[1]
            for path in paths.values() for op in path.values()
            for m in op.get("requestBody", {}).get("content", {}).values() if "$ref" in m["schema"]}
    assert refs >= {"AssetUpdate", "BatchDelete", "BatchUpdate", "ImportRequest"}
    assert refs <= set(doc["components"]["schemas"])  # every body's schema is in the document


def _model_matches(name: str, tags: list[str], q: str) -> bool:
    doc = words(name) + [w for t in tags for w in words(t)]
    return all(any(d.startswith(w) for d in doc) for w in query_words(q))


def test_totals_stay_exact_through_a_random_run(api: Api, api_key: str, client: httpx.Client,
                                                media: dict[str, Path]) -> None:
    rnd = random.Random(16)
    vocabulary = ["beach", "Béach", "city", "night", "drone", "café", "sunset"]
    live: dict[str, tuple[str, list[str]]] = {}  # id -> (name, tags): the model
    trashed: dict[str, tuple[str, list[str]]] = {}
    queries: list[dict[str, Any]] = [{"q": "bea"}, {"q": "cafe night"}, {"tag": "drone"},
                                     {"tag": ["city", "sunset"]}, {"q": "c", "tag": "beach"}, {}]

    def expected(params: dict[str, Any]) -> int:
        wanted = params.get("tag", [])
        wanted = [wanted] if isinstance(wanted, str) else wanted
        return sum(1 for name, tags in live.values()
                   if set(wanted) <= set(tags) and _model_matches(name, tags, params.get("q", "")))

    for step in range(40):
        action = rnd.choices(["add", "rename", "tag", "delete", "restore"], [4, 2, 3, 2, 1])[0]
        if action == "add" or not live:
            name = " ".join(rnd.sample(vocabulary, 2))
            tags = sorted({t.lower() for t in rnd.sample(vocabulary, rnd.randint(0, 3))})
            if step % 10 == 0:  # a real upload now and then, the rest straight in
                aid = upload(client, media["png"], name=name, tags=",".join(tags))["id"]
            else:
                aid = _one(api, api_key, name)
                client.patch(f"/v1/assets/{aid}", json={"tags": tags}).raise_for_status()
            live[aid] = (name, tags)
        elif action == "rename":
            aid = rnd.choice(sorted(live))
            name = " ".join(rnd.sample(vocabulary, rnd.randint(1, 3)))
            client.patch(f"/v1/assets/{aid}", json={"name": name}).raise_for_status()
            live[aid] = (name, live[aid][1])
        elif action == "tag":
            chosen = rnd.sample(sorted(live), min(len(live), 3))
            add, remove = rnd.sample(["drone", "city", "sunset", "beach"], 2)
            res = client.post("/v1/assets/batch-update",
                              json={"ids": chosen, "addTags": [add], "removeTags": [remove]})
            assert all(r["ok"] for r in res.json()["results"])
            for aid in chosen:
                live[aid] = (live[aid][0], sorted((set(live[aid][1]) | {add}) - {remove}))
        elif action == "delete":
            aid = rnd.choice(sorted(live))
            client.post("/v1/assets/batch-delete", json={"ids": [aid]}).raise_for_status()
            trashed[aid] = live.pop(aid)
        elif trashed:
            aid = rnd.choice(sorted(trashed))
            client.post(f"/v1/assets/{aid}/restore").raise_for_status()
            live[aid] = trashed.pop(aid)
        for params in queries:
            res = client.get("/v1/assets", params={"scope": "mine", "status": "READY,PROCESSING,"
                                                   "FAILED", "pageSize": 100, **params})
            assert int(res.headers["X-Total-Count"]) == expected(params) == len(res.json()), (
                step, params)
    assert client.get("/v1/trash").headers["X-Total-Count"] == str(len(trashed))
