"""Authentication in its three forms, its failures, and tenants that never see each other."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from tests.support.server import Server, upload, wait_for


@pytest.mark.parametrize("header", ["x-api-key", "ApiKey", "Bearer", "bearer"])
def test_three_forms_of_authentication(server: Server, api_key: str, header: str) -> None:
    headers = {"x-api-key": api_key} if header == "x-api-key" else \
        {"Authorization": f"{header} {api_key}"}
    res = httpx.get(server.url + "/v1/assets", headers=headers)
    assert res.status_code == 200, res.text


@pytest.mark.parametrize("headers", [
    {}, {"x-api-key": ""}, {"x-api-key": "msk_not-a-key"}, {"Authorization": "Basic abc"},
    {"Authorization": "Bearer"}, {"Authorization": "Token msk_x"},
])
@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/v1/assets"), ("GET", "/v1/assets/00000000-0000-7000-8000-000000000001"),
    ("DELETE", "/v1/assets/00000000-0000-7000-8000-000000000001"), ("POST", "/v1/assets"),
])
def test_missing_or_unknown_key_is_401(server: Server, headers: dict[str, str], method: str,
                                       path: str) -> None:
    res = httpx.request(method, server.url + path, headers=headers)
    assert res.status_code == 401
    assert res.json()["code"] == 401 and res.json()["message"]


def test_revoked_key_stops_working(server: Server) -> None:
    out = server.cli("keys", "create", "--tenant", "revokers")
    key = out.stdout.strip().splitlines()[-1]
    assert httpx.get(server.url + "/v1/assets", headers={"x-api-key": key}).status_code == 200
    listed = server.cli("keys", "list").stdout
    assert "revokers" in listed and key not in listed  # only the prefix is shown
    server.cli("keys", "revoke", key)
    assert httpx.get(server.url + "/v1/assets", headers={"x-api-key": key}).status_code == 401
    assert "revoked" in server.cli("keys", "list").stdout


def test_tenants_never_see_each_other(server: Server, media: dict[str, Path]) -> None:
    alice = server.client(server.new_key("alice-co"))
    bob = server.client(server.new_key("bob-co"))
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
    assert httpx.get(forged).status_code == 403
    alice.close()
    bob.close()


def test_system_assets_are_visible_to_all_and_deletable_by_none(
        make_server: object, media: dict[str, Path]) -> None:
    srv = make_server()  # type: ignore[operator]
    out = srv.cli("system", "import", str(media["mp3"]), "--name", "Shared tune")
    assert "READY" in out.stdout
    sys_id = out.stdout.split()[0]
    for tenant in ("one", "two"):
        with srv.client(srv.new_key(tenant)) as c:
            listed = c.get("/v1/assets", params={"type": "AUDIO"})
            assert [a["id"] for a in listed.json()] == [sys_id]
            assert listed.headers["X-Total-Count"] == "1"
            got = c.get(f"/v1/assets/{sys_id}").json()
            assert got["isSystem"] is True and got["name"] == "Shared tune"
            assert httpx.get(got["fileUrl"]).content == media["mp3"].read_bytes()
            assert c.delete(f"/v1/assets/{sys_id}").status_code == 404
            assert c.get("/v1/assets", params={"scope": "mine", "type": "AUDIO"}).json() == []


def test_concurrent_requests_each_get_their_own_answer(server: Server,
                                                       media: dict[str, Path]) -> None:
    """Key lookups of requests in flight together may share a database read: each request
    still gets its own tenant's library, and a bad or revoked key its own 401."""
    import asyncio

    keys = {name: server.new_key(f"crowd-{name}-{uuid.uuid4().hex[:6]}") for name in "abc"}
    owned = {}
    for name, key in keys.items():
        with server.client(key) as c:
            owned[name] = upload(c, media["png"], name=f"only {name}")["id"]
    revoked = server.new_key(f"crowd-revoked-{uuid.uuid4().hex[:6]}")
    server.cli("keys", "revoke", revoked)

    async def one(client: httpx.AsyncClient, who: str) -> tuple[str, int, set[str]]:
        key = keys.get(who, revoked if who == "revoked" else "msk_nobody")
        res = await client.get("/v1/assets", params={"status": "PROCESSING,READY,FAILED",
                                                     "scope": "mine"},
                               headers={"x-api-key": key})
        ids = {a["id"] for a in res.json()} if res.status_code == 200 else set()
        return who, res.status_code, ids

    async def crowd() -> list[tuple[str, int, set[str]]]:
        limits = httpx.Limits(max_connections=24)
        async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as client:
            whos = [*"abc", "revoked", "unknown"] * 12
            return await asyncio.gather(*(one(client, w) for w in whos))

    for who, status, ids in asyncio.run(crowd()):
        if who in keys:
            assert status == 200 and ids == {owned[who]}, (who, status, ids)
        else:
            assert status == 401, (who, status)
