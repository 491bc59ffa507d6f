"""Authentication in its three forms, its failures, and tenants that never see each other."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support.inproc import Api, InProcess, both_ways
from tests.support.server import upload, wait_for


@pytest.mark.parametrize("header", ["x-api-key", "ApiKey", "Bearer", "bearer"])
@both_ways
def test_three_forms_of_authentication(api: Api, api_key: str, header: str) -> None:
    headers = {"x-api-key": api_key} if header == "x-api-key" else \
        {"Authorization": f"{header} {api_key}"}
    with api.client() as anonymous:
        res = anonymous.get("/v1/assets", headers=headers)
    assert res.status_code == 200, res.text


@pytest.mark.parametrize("headers", [
    {}, {"x-api-key": ""}, {"x-api-key": "msk_not-a-key"}, {"Authorization": "Basic abc"},
    {"Authorization": "Bearer"}, {"Authorization": "Token msk_x"},
])
@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/v1/assets"), ("GET", "/v1/assets/00000000-0000-7000-8000-000000000001"),
    ("DELETE", "/v1/assets/00000000-0000-7000-8000-000000000001"), ("POST", "/v1/assets"),
])
def test_missing_or_unknown_key_is_401(api: Api, headers: dict[str, str], method: str,
                                       path: str) -> None:
    with api.client() as anonymous:
        res = anonymous.request(method, path, headers=headers)
    assert res.status_code == 401
    assert res.json()["code"] == 401 and res.json()["message"]


@both_ways
def test_tenants_never_see_each_other(api: Api, media: dict[str, Path]) -> None:
    with api.client(api.new_key(f"alice-{uuid.uuid4().hex[:6]}")) as alice, \
            api.client(api.new_key(f"bob-{uuid.uuid4().hex[:6]}")) as bob:
        mine = wait_for(alice, upload(alice, media["png"], name="alice secret")["id"])
        assert mine["status"] == "READY"
        aid = mine["id"]

        assert bob.get(f"/v1/assets/{aid}").status_code == 404
        assert aid not in [a["id"] for a in bob.get("/v1/assets").json()]
        assert bob.get("/v1/assets", params={"status": "READY"}).headers["X-Total-Count"] == \
            str(len(bob.get("/v1/assets").json()))
        assert bob.delete(f"/v1/assets/{aid}").status_code == 404
        assert alice.get(f"/v1/assets/{aid}").status_code == 200  # still there for its owner
        # a file URL is bound to one object: it cannot be bent to another tenant's file
        theirs = wait_for(bob, upload(bob, media["jpeg"])["id"])
        forged = mine["fileUrl"].replace(aid, theirs["id"])
        with api.client() as anonymous:
            assert anonymous.get(forged).status_code == 403


def test_concurrent_requests_each_get_their_own_answer(app: InProcess,
                                                       media: dict[str, Path]) -> None:
    """Key lookups of requests in flight together may share a database read: each request
    still gets its own tenant's library, and a bad or revoked key its own 401."""
    keys = {name: app.new_key(f"crowd-{name}-{uuid.uuid4().hex[:6]}") for name in "abc"}
    owned = {}
    for name, key in keys.items():
        with app.client(key) as c:
            owned[name] = upload(c, media["png"], name=f"only {name}")["id"]
    revoked = app.new_key(f"crowd-revoked-{uuid.uuid4().hex[:6]}")
    app.services.keys.revoke(revoked)  # what `mediashelf keys revoke` does

    async def one(client: httpx.AsyncClient, who: str) -> tuple[str, int, set[str]]:
        key = keys.get(who, revoked if who == "revoked" else "msk_nobody")
        res = await client.get("/v1/assets", params={"status": "PROCESSING,READY,FAILED",
                                                     "scope": "mine"},
                               headers={"x-api-key": key})
        ids = {a["id"] for a in res.json()} if res.status_code == 200 else set()
        return who, res.status_code, ids

    async def crowd() -> list[tuple[str, int, set[str]]]:
        async with app.async_client() as client:  # on the app's own loop, all at once
            whos = [*"abc", "revoked", "unknown"] * 12
            return await asyncio.gather(*(one(client, w) for w in whos))

    for who, status, ids in app.run(crowd):
        if who in keys:
            assert status == 200 and ids == {owned[who]}, (who, status, ids)
        else:
            assert status == 401, (who, status)
