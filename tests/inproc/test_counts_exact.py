"""Kept counts stay exact: a random run of uploads, processing, deletes and restores, compared
with a plain recount; and deep pages (found through the bucket counts) match a model."""

from __future__ import annotations

import math
import random
import uuid
from pathlib import Path
from typing import Any

import httpx

from mediashelf.db.assets import AssetRepository
from mediashelf.domain import AssetStatus, AssetType, now_ms
from tests.support.inproc import Api
from tests.support.library import insert, make_asset, tenant_id_of
from tests.support.server import upload, wait_for


def _check_counts(api: Api) -> None:
    repo = AssetRepository()
    with api.services.db.read() as conn:
        assert repo.kept_counts(conn) == repo.recount(conn)
        assert repo.kept_buckets(conn) == repo.rebucket(conn)


def _totals(client: httpx.Client) -> dict[tuple[str, str], int]:
    out = {}
    for t in ("AUDIO", "IMAGE", "VIDEO"):
        for s in ("PROCESSING", "READY", "FAILED"):
            res = client.get("/v1/assets", params={"type": t, "status": s, "scope": "mine"})
            out[(t, s)] = int(res.headers["X-Total-Count"])
    return out


def test_counts_stay_exact_through_a_random_run(api: Api, media: dict[str, Path]) -> None:
    with api.client(api.new_key(f"counts-{uuid.uuid4().hex[:8]}")) as client:
        _random_run(api, client, media)


def _random_run(api: Api, client: httpx.Client, media: dict[str, Path]) -> None:
    rnd = random.Random(6)
    live: dict[str, tuple[str, str]] = {}  # id -> (type, status), the model
    deleted: dict[str, tuple[str, str]] = {}
    files = {"png": "IMAGE", "jpeg": "IMAGE", "mp4": "VIDEO", "mp3": "AUDIO", "corrupt": "IMAGE"}
    restores = 0
    for step in range(24):
        action = rnd.choices(["upload", "delete", "restore"], [5, 2, 1])[0]
        if action == "upload" or not live:
            kind = rnd.choice(sorted(files))
            body = upload(client, media[kind], name=f"step {step}")
            live[body["id"]] = (body["type"], "PROCESSING")
        elif action == "delete":
            victim = rnd.choice(sorted(live))
            assert client.delete(f"/v1/assets/{victim}").status_code == 200
            deleted[victim] = live.pop(victim)
        elif deleted and restores < 3:
            back = rnd.choice(sorted(deleted))
            api.services.assets.restore(uuid.UUID(back))  # what `mediashelf assets restore` does
            live[back] = deleted.pop(back)
            restores += 1
        if step % 6 == 5:  # let processing finish, then compare everything
            for asset_id in list(live):
                done = wait_for(client, asset_id)
                live[asset_id] = (done["type"], done["status"])
            _check_counts(api)
            expected: dict[tuple[str, str], int] = {}
            for key in live.values():
                expected[key] = expected.get(key, 0) + 1
            got = _totals(client)
            assert {k: v for k, v in got.items() if v} == expected
    assert {s for _, s in live.values()} >= {"READY", "FAILED"}


def _expect(made: list[Any], types: list[str], statuses: list[str]) -> list[str]:
    chosen = [a for a in made if a.type.value in types and a.status.value in statuses]
    chosen.sort(key=lambda a: a.id.int, reverse=True)
    return [str(a.id) for a in chosen]


def test_deep_pages_match_a_model(api: Api) -> None:
    """Enough rows that middle pages go through the bucket counts, with ties and bursts."""
    key = api.new_key(f"deep-{uuid.uuid4().hex[:8]}")
    tid = tenant_id_of(api.services, key)
    rnd = random.Random(7)
    now = now_ms()
    made = []
    for i in range(4000):
        if i % 4 == 0:  # a burst: many rows in the same second
            ms = now - 3_600_000 - rnd.randrange(1000)
        else:  # spread over about 200 days, in several bucket widths
            ms = now - int(rnd.random() ** 3 * 200 * 86_400_000)
        made.append(make_asset(tid, rnd.choice(list(AssetType)),
                               rnd.choices(list(AssetStatus), [1, 8, 1])[0], ms))
    insert(api.services, made)
    with api.client(key) as client:
        for types, statuses, size in ((["AUDIO", "IMAGE", "VIDEO"], ["READY"], 100),
                                      (["VIDEO", "IMAGE"], ["READY", "FAILED"], 37),
                                      (["IMAGE"], ["READY"], 20)):
            expected = _expect(made, types, statuses)
            pages = math.ceil(len(expected) / size)
            params: list[tuple[str, str]] = [("type", t) for t in types] + \
                [("status", s) for s in statuses] + [("scope", "mine"), ("pageSize", str(size))]
            for page in sorted({1, 2, pages // 3, pages // 2, pages - 1, pages, pages + 1,
                                *rnd.sample(range(1, pages + 1), min(pages, 12))}):
                res = client.get("/v1/assets", params=[*params, ("page", str(page))])
                assert res.status_code == 200
                assert res.headers["X-Total-Count"] == str(len(expected))
                got = [a["id"] for a in res.json()]
                assert got == expected[(page - 1) * size:page * size], (types, size, page)
    _check_counts(api)
