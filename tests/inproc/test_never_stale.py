"""Cached replies are never stale: after any sequence of writes (new assets of any type, owner
and status, renames, tags, deletes, restores, processing's own updates and type changes), every
read of the cached app answers what the same read of an app without caches answers, on the same
library at the same moment; listings of every kind (types, statuses, scopes, search, tags, sort,
pages), single assets, and the trash."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediashelf.db.assets import AssetRepository
from mediashelf.domain import SYSTEM_TENANT_ID, AssetStatus, AssetType, now_ms
from tests.support.backends import Backend
from tests.support.inproc import InProcess
from tests.support.library import make_asset, tenant_id_of

WORDS = ["beach", "city", "drone", "night"]
TAGS = ["keep", "paris", "draft"]
# a few fixed reads, so that they repeat and the cache answers many of them
READS = [
    {}, {"type": "AUDIO"}, {"type": "VIDEO"}, {"type": "IMAGE,VIDEO"}, {"scope": "mine"},
    {"scope": "system"}, {"status": "PROCESSING,FAILED"}, {"pageSize": 2, "page": 2},
    {"q": "beach"}, {"q": "dr", "type": "VIDEO"}, {"tag": "paris"}, {"sort": "name"},
    {"sort": "oldest", "pageSize": 3}, {"type": "AUDIO", "status": "READY,PROCESSING",
                                         "scope": "mine", "sort": "-name"},
]


@dataclass
class Library:
    cached: InProcess
    fresh: InProcess
    keys: dict[str, str]  # tenant label -> key
    owners: dict[str, uuid.UUID]
    ids: list[tuple[str, uuid.UUID]] = field(default_factory=list)  # (owner label, id)


@pytest.fixture
def library(backend: Backend, tmp_path: Path) -> Iterator[Library]:
    """Two apps on one library: the cached one under test, and one that reads afresh."""
    with backend.provision() as env:
        data = tmp_path / "data"
        cached = InProcess(data, env, backend=backend.name, run_worker=False).start()
        fresh = InProcess(data, {**env, "MEDIASHELF_LIST_CACHE": "0"}, backend=backend.name,
                          run_worker=False).start()
        try:
            keys = {t: cached.new_key(f"stale-{t}-{uuid.uuid4().hex[:6]}") for t in "ab"}
            owners = {t: tenant_id_of(cached.services, k) for t, k in keys.items()}
            owners["system"] = SYSTEM_TENANT_ID
            yield Library(cached, fresh, keys, owners)
        finally:
            fresh.stop()
            cached.stop()


def _plain(res: httpx.Response) -> tuple[Any, ...]:
    """A reply as compared: status, paging headers, body (signed links without their query,
    which counts from the hour of the read)."""
    body = res.json()
    for item in body if isinstance(body, list) else [body]:
        for name in ("fileUrl", "thumbnailUrl"):
            if isinstance(item, dict) and item.get(name):
                item[name] = urlsplit(item[name]).path
    paging = {k: v for k, v in res.headers.items()
              if k in ("x-total-count", "x-total-pages", "x-page", "x-page-size")}
    return res.status_code, paging, body


def _write(lib: Library, draw: Any, client: dict[str, httpx.Client]) -> None:
    repo = AssetRepository()
    db = lib.cached.services.db
    kind = draw(st.sampled_from(["new", "new", "patch", "delete", "restore", "finish", "field",
                                 "batch"]))
    if kind == "new" or not lib.ids:
        owner = draw(st.sampled_from(["a", "b", "system"]))
        asset = make_asset(lib.owners[owner], draw(st.sampled_from(list(AssetType))),
                           draw(st.sampled_from(list(AssetStatus))),
                           now_ms() - draw(st.integers(0, 10**7)),
                           name=" ".join(draw(st.lists(st.sampled_from(WORDS), min_size=1,
                                                       max_size=2))))
        asset.tags = sorted(set(draw(st.lists(st.sampled_from(TAGS), max_size=2))))
        with db.write() as conn:
            repo.insert(conn, asset)
        lib.ids.append((owner, asset.id))
        return
    owner, asset_id = draw(st.sampled_from(lib.ids))
    if kind in ("finish", "field"):  # processing's writes, as the worker makes them
        with db.write() as conn:
            found = repo.get(conn, asset_id)
            assert found is not None
            if kind == "field":
                repo.update_fields(conn, asset_id, width=draw(st.integers(1, 4000)))
            else:
                repo.finish(conn, found, draw(st.sampled_from([AssetStatus.READY,
                                                               AssetStatus.FAILED])),
                            type=draw(st.sampled_from(list(AssetType))).value)
        return
    if owner == "system":
        return  # read-only through the API
    c = client[owner]
    if kind == "patch":
        c.patch(f"/v1/assets/{asset_id}", json={
            "name": " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=2))),
            "tags": draw(st.lists(st.sampled_from(TAGS), max_size=2, unique=True))})
    elif kind == "delete":
        c.delete(f"/v1/assets/{asset_id}")
    elif kind == "restore":
        c.post(f"/v1/assets/{asset_id}/restore")
    else:
        c.post("/v1/assets/batch-update", json={"ids": [str(asset_id)],
                                                "addTags": [draw(st.sampled_from(TAGS))]})


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_cached_replies_answer_what_a_fresh_read_does(library: Library, data: Any) -> None:
    lib = library
    lib.ids = []  # each example draws from its own assets (older ones stay in the library)
    listed = False
    replies = lib.cached.app.state.replies
    hits = replies._lists.hits + replies._gets.hits
    clients = {t: lib.cached.client(k) for t, k in lib.keys.items()}
    fresh = {t: lib.fresh.client(k) for t, k in lib.keys.items()}
    try:
        for _ in range(data.draw(st.integers(5, 25), label="steps")):
            if data.draw(st.booleans(), label="write"):
                _write(lib, data.draw, clients)
                continue
            tenant = data.draw(st.sampled_from("ab"), label="tenant")
            if lib.ids and data.draw(st.integers(0, 3), label="one") == 0:
                path, params = f"/v1/assets/{data.draw(st.sampled_from(lib.ids))[1]}", {}
            elif data.draw(st.integers(0, 9), label="trash") == 0:
                path, params = "/v1/trash", {}
            else:
                path, params = "/v1/assets", data.draw(st.sampled_from(READS), label="read")
                listed = True
            for _ in range(2):  # the second is the cache's answer when the first was kept
                got = clients[tenant].get(path, params=params)
                assert _plain(got) == _plain(fresh[tenant].get(path, params=params)), \
                    (path, params)
    finally:
        for c in [*clients.values(), *fresh.values()]:
            c.close()
    assert not listed or replies._lists.hits + replies._gets.hits > hits  # the cache answered
