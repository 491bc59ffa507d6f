"""No duplicate assets: the same bytes (or the same import URL) answer the tenant's live copy.

Storage is checked as it is (the local files folder, or the S3 bucket's objects): a duplicate
leaves no second copy of the bytes.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import samples
from tests.support.http_servers import body, scripted_server
from tests.support.inproc import Api, InProcess
from tests.support.multipart import assert_error
from tests.support.server import wait_for


def fresh_png(folder: Path) -> Path:
    """A PNG no other test uploads (its own colour and size)."""
    rng = random.Random()
    path = folder / f"p{uuid.uuid4().hex[:8]}.png"
    return samples.png(path, (rng.randint(8, 40), rng.randint(8, 40)),
                       (rng.randrange(256), rng.randrange(256), rng.randrange(256)))


def send(client: httpx.Client, path: Path, **fields: str) -> httpx.Response:
    with open(path, "rb") as fh:
        return client.post("/v1/assets", files={"file": (path.name, fh)}, data=fields)


def originals(api: Api) -> set[str]:
    """The ids of the assets whose original bytes are in storage."""
    return {key.split("/")[1] for key in api.services.storage.list_keys("assets/")
            if key.endswith("/original")}


def test_same_file_twice_is_one_asset_and_one_copy(api: Api, client: httpx.Client,
                                                   tmp_path: Path) -> None:
    path = fresh_png(tmp_path)
    first = send(client, path, name="first")
    assert first.status_code == 201
    assert first.headers["location"].endswith(f"/v1/assets/{first.json()['id']}")
    assert "x-duplicate-of" not in first.headers
    wait_for(client, first.json()["id"])
    before = originals(api)

    again = send(client, path, name="another name")
    assert again.status_code == 200, again.text
    assert again.headers["x-duplicate-of"] == first.json()["id"]
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["name"] == "first"  # the asset as it is, not renamed
    assert again.json()["status"] == "READY" and again.json()["fileUrl"]
    assert originals(api) == before
    listed = client.get("/v1/assets", params={"status": "READY,PROCESSING"})
    assert [a["id"] for a in listed.json()] == [first.json()["id"]]
    assert listed.headers["x-total-count"] == "1"


def test_dedupe_false_keeps_two_and_a_later_upload_finds_the_oldest(
        api: Api, client: httpx.Client, tmp_path: Path) -> None:
    path = fresh_png(tmp_path)
    one = send(client, path, dedupe="false")
    two = send(client, path, dedupe="0")
    assert one.status_code == two.status_code == 201
    ids = {one.json()["id"], two.json()["id"]}
    assert len(ids) == 2 and ids <= originals(api)
    three = send(client, path, dedupe="true")
    assert three.status_code == 200 and three.json()["id"] == one.json()["id"]
    assert_error(send(client, path, dedupe="maybe"), 400, "dedupe")
    with open(path, "rb") as fh:  # where clients put a flag: the query (the form's field wins)
        data = fh.read()
    by_query = client.post("/v1/assets?dedupe=false", files={"file": ("p.png", data)})
    assert by_query.status_code == 201 and by_query.json()["id"] not in ids
    kept = client.post("/v1/assets?dedupe=false", files={"file": ("p.png", data)},
                       data={"dedupe": "true"})
    assert kept.status_code == 200 and kept.json()["id"] == one.json()["id"]
    assert_error(client.post("/v1/assets?dedupe=maybe", files={"file": ("p.png", data)}), 400,
                 "dedupe")


def test_copies_are_per_tenant_and_per_type_and_only_live(
        api: Api, client: httpx.Client, tmp_path: Path, media: dict[str, Path]) -> None:
    path = fresh_png(tmp_path)
    mine = send(client, path).json()
    with api.client(api.new_key(f"t-{uuid.uuid4().hex[:10]}")) as other:
        theirs = send(other, path)
        assert theirs.status_code == 201 and theirs.json()["id"] != mine["id"]
    as_video = send(client, path, type="VIDEO")  # another type: not the same asset
    assert as_video.status_code == 201
    assert client.delete(f"/v1/assets/{mine['id']}").status_code == 200
    after_delete = send(client, path)
    assert after_delete.status_code == 201 and after_delete.json()["id"] != mine["id"]
    # a FAILED asset is no copy to answer with: the same bytes are tried again
    failed = send(client, media["corrupt"])
    assert wait_for(client, failed.json()["id"])["status"] == "FAILED"
    retried = send(client, media["corrupt"])
    assert retried.status_code == 201 and retried.json()["id"] != failed.json()["id"]


def test_identical_uploads_at_once_end_as_one_asset(api: Api, client: httpx.Client,
                                                    tmp_path: Path) -> None:
    path = fresh_png(tmp_path)
    before = originals(api)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: send(client, path), range(4)))
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    assert len({a.json()["id"] for a in answers}) == 1
    assert originals(api) - before == {answers[0].json()["id"]}


def test_system_assets_are_not_a_tenants_copies(make_app: Callable[..., InProcess],
                                                tmp_path: Path) -> None:
    from mediashelf.services.system_library import SystemLibrary

    api = make_app()  # its own library: the system asset would show in every tenant's listing
    client = api.client(api.new_key("someone"))
    path = fresh_png(tmp_path)
    library = SystemLibrary(api.services.db, api.services.assets)  # as `system import` does
    library.ensure_tenant()
    made = library.import_file(path)
    mine = send(client, path)
    assert mine.status_code == 201 and mine.json()["id"] != str(made.id)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    both = client.get("/v1/assets", params={"sha256": digest, "status": "PROCESSING,READY"})
    assert {a["id"] for a in both.json()} == {str(made.id), mine.json()["id"]}
    only = client.get("/v1/assets", params={"sha256": digest, "status": "PROCESSING,READY",
                                            "scope": "mine"})
    assert [a["id"] for a in only.json()] == [mine.json()["id"]]


def test_sha256_filter(api: Api, client: httpx.Client, tmp_path: Path,
                       media: dict[str, Path]) -> None:
    paths = [fresh_png(tmp_path) for _ in range(3)]
    made = [send(client, p).json() for p in paths]
    for m in made:
        wait_for(client, m["id"])
    digests = [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
    one = client.get("/v1/assets", params={"sha256": digests[0].upper()})
    assert [a["id"] for a in one.json()] == [made[0]["id"]]
    assert one.json()[0]["sha256"] == digests[0]
    assert (one.headers["x-total-count"], one.headers["x-total-pages"]) == ("1", "1")
    two = client.get("/v1/assets", params=[("sha256", digests[1]), ("sha256", digests[2]),
                                           ("pageSize", "1"), ("page", "2")])
    assert [a["id"] for a in two.json()] == [made[1]["id"]]  # newest first: 2, then 1
    assert (two.headers["x-total-count"], two.headers["x-total-pages"]) == ("2", "2")
    comma = client.get("/v1/assets", params={"sha256": f"{digests[1]},{digests[2]}"})
    assert [a["id"] for a in comma.json()] == [made[2]["id"], made[1]["id"]]
    assert client.get("/v1/assets", params={"sha256": digests[0], "type": "VIDEO"}).json() == []
    none = client.get("/v1/assets", params={"sha256": digests[0], "status": "FAILED"})
    assert none.json() == [] and none.headers["x-total-count"] == "0"
    assert none.headers["x-total-pages"] == "0"
    past = client.get("/v1/assets", params={"sha256": digests[0], "page": "5"})
    assert past.json() == [] and past.headers["x-total-count"] == "1"
    # deleted: gone from the filter too, and another tenant never sees it
    assert client.delete(f"/v1/assets/{made[0]['id']}").status_code == 200
    assert client.get("/v1/assets", params={"sha256": digests[0]}).json() == []
    with api.client(api.new_key(f"t-{uuid.uuid4().hex[:10]}")) as other:
        assert other.get("/v1/assets", params={"sha256": digests[1]}).json() == []
    # the seed's listing is unchanged beside it
    assert len(client.get("/v1/assets", params={"scope": "mine"}).json()) == 2
    too_many = ",".join(hashlib.sha256(bytes([i])).hexdigest() for i in range(101))
    assert_error(client.get("/v1/assets", params={"sha256": too_many}), 400, "sha256")


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=80).filter(lambda t: not all(
    len(p.strip()) == 64 and all(c in "0123456789abcdefABCDEF" for c in p.strip())
    for p in t.split(","))))
def test_sha256_filter_refuses_what_is_no_digest(client: httpx.Client, value: str) -> None:
    res = client.get("/v1/assets", params={"sha256": value})
    assert_error(res, 400, "sha256")


@pytest.fixture
def url_app(make_app: Callable[..., InProcess]) -> InProcess:
    return make_app(env={"MEDIASHELF_ALLOW_PRIVATE_URLS": "true"})


def test_same_url_twice_is_one_asset(url_app: InProcess, tmp_path: Path) -> None:
    data = fresh_png(tmp_path).read_bytes()
    with scripted_server({"/a.png": body(data, "image/png")}) as site, \
            url_app.client(url_app.new_key("importer")) as client:
        def create(url: str, **more: Any) -> httpx.Response:
            return client.post("/v1/assets", json={"name": "A", "type": "IMAGE", "url": url,
                                                   **more})
        first = create(site.url("/a.png"))
        assert first.status_code == 201
        again = create(site.url("/a.png"))  # while the first is still PROCESSING, or after
        assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
        assert again.headers["x-duplicate-of"] == first.json()["id"]
        ready = wait_for(client, first.json()["id"])
        assert ready["status"] == "READY"
        # the same URL spelt otherwise (scheme and host case, a fragment) is the same URL
        odd = site.url("/a.png").replace("http://", "HTTP://") + "#top"
        assert create(odd).json()["id"] == first.json()["id"]
        video = create(site.url("/a.png"), type="VIDEO")  # another type: another asset
        assert video.status_code == 201
        separate = create(site.url("/a.png"), dedupe=False)
        assert separate.status_code == 201 and separate.json()["id"] != first.json()["id"]
        assert_error(create(site.url("/a.png"), dedupe="no"), 400, "dedupe")
        # the flag in the query: the body's own wins
        body_wins = client.post("/v1/assets?dedupe=false", json={
            "name": "A", "type": "IMAGE", "url": site.url("/a.png"), "dedupe": True})
        assert body_wins.status_code == 200 and body_wins.json()["id"] == first.json()["id"]
        by_query = client.post("/v1/assets?dedupe=off", json={
            "name": "A", "type": "IMAGE", "url": site.url("/a.png")})
        assert by_query.status_code == 201 and by_query.json()["id"] != first.json()["id"]
        # an upload of the bytes the URL gave is a copy of the imported asset
        up = client.post("/v1/assets", files={"file": ("a.png", data)})
        assert up.status_code == 200 and up.json()["id"] == first.json()["id"]
        for made in (video, separate, by_query):
            wait_for(client, made.json()["id"])
        assert len(site.requests) == 4  # the first import, the VIDEO one, the dedupe=false ones
        assert originals(url_app) >= {first.json()["id"], separate.json()["id"]}
        assert first.json()["id"] in originals(url_app)
