"""The SDK's search, rename, tag, bulk, trash and restore calls, against the app in-process."""

from __future__ import annotations

import uuid

import httpx
import pytest

from mediashelf.domain import SYSTEM_TENANT_ID, AssetStatus, AssetType, now_ms
from mediashelf_client import AsyncClient, Client, NotFoundError, PermissionDeniedError
from tests.support.inproc import BASE_URL, InProcess
from tests.support.library import insert, make_asset, tenant_id_of


def test_the_sdk_searches_and_organizes(app: InProcess) -> None:
    key = app.new_key(f"sdk-{uuid.uuid4().hex[:8]}")
    tenant = tenant_id_of(app.services, key)
    base = now_ms() - 100_000
    made = [make_asset(tenant, AssetType.IMAGE, AssetStatus.READY, base + i * 10, name)
            for i, name in enumerate(["Café terrace", "beach day", "Beach night", "zebra"])]
    system = make_asset(SYSTEM_TENANT_ID, AssetType.AUDIO, AssetStatus.READY, base, "sdk tune")
    insert(app.services, [*made, system])
    ids = [str(a.id) for a in made]
    with Client(BASE_URL, key, transport=app.transport()) as ms:
        page = ms.list(q="beach", sort="name", scope="mine")
        assert [a.name for a in page] == ["beach day", "Beach night"] and page.total_count == 2
        assert ms.update(ids[0], name="Cafe Terrace", tags=["Paris"]).tags == ("paris",)
        assert [a.id for a in ms.list(q="café", scope="mine")] == [ids[0]]
        assert ms.tag(ids[1], add=["sea", "paris"], remove=["nope"]).tags == ("paris", "sea")
        walked = list(ms.iter_assets(tags=["paris"], sort="createdAt", page_size=1))
        assert [a.id for a in walked] == ids[:2]
        results = ms.batch_update([ids[2], str(system.id), "nope"], add_tags=["sea"])
        assert [(r.ok, r.code) for r in results] == [(True, 200), (False, 403), (False, 404)]
        assert results[0].asset is not None and results[0].asset.tags == ("sea",)
        with pytest.raises(PermissionDeniedError) as refused:
            ms.update(str(system.id), name="mine")
        assert "read-only" in refused.value.message
        with pytest.raises(PermissionDeniedError):
            ms.tag(str(system.id), add=["x"])
        with pytest.raises(NotFoundError):
            ms.tag(str(uuid.uuid4()), add=["x"])
        deleted = ms.batch_delete(ids[2:])
        assert all(r.ok for r in deleted)
        trash = ms.trash()
        assert [a.id for a in trash] == ids[2:][::-1] and trash.total_count == 2
        assert all(a.deleted_at and a.purge_at and a.purge_at > a.deleted_at for a in trash)
        assert ms.restore(ids[3]).id == ids[3]
        assert ms.list(scope="mine", sort="-name").items[0].name == "zebra"

    async def go() -> None:
        async with AsyncClient(BASE_URL, key,
                               transport=httpx.ASGITransport(app=app.app)) as ams:
            assert (await ams.update(ids[3], tags=["async"])).tags == ("async",)
            found = [a.id async for a in ams.iter_assets(q="zeb", tags="async")]
            assert found == [ids[3]]
            assert (await ams.trash()).total_count == 1
            assert [r.ok for r in await ams.batch_delete([ids[3]])] == [True]
            assert (await ams.restore(ids[3])).tags == ("async",)

    app.run(go)
