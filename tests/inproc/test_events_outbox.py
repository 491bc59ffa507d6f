"""Every change to a tenant's asset writes exactly its event, in the change's own transaction."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa

from mediashelf.db.schema import assets as assets_table
from mediashelf.db.schema import events as events_table
from mediashelf.domain import SYSTEM_TENANT_ID, Asset, AssetStatus, AssetType, JobKind, uuid7
from tests.support.inproc import Api, InProcess
from tests.support.library import tenant_id_of
from tests.support.server import upload, wait_for
from tests.support.waiting import wait_until

TUS = {"Tus-Resumable": "1.0.0"}


def events_of(api: Api, asset_id: str | uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
    """The asset's events as (type, rendered payload), oldest first."""
    services = api.services
    with services.db.read() as conn:
        ids = list(conn.execute(sa.select(events_table.c.id, events_table.c.tenant_id)
                                .where(events_table.c.asset_id == uuid.UUID(str(asset_id)))
                                .order_by(events_table.c.id)))
    out = []
    for event_id, tenant in ids:
        (event,) = services.events.read(tenant, event_id - 1, 1)
        out.append((event.type.value, orjson.loads(services.events.render(event))))
    return out


def types_of(api: Api, asset_id: str | uuid.UUID) -> list[str]:
    return [t for t, _ in events_of(api, asset_id)]


def test_an_upload_created_ready_deleted_restored(api: Api, client: httpx.Client,
                                                  media: dict[str, Path]) -> None:
    created = upload(client, media["png"], name="événement ☕", tags="a,b")
    ready = wait_for(client, created["id"])
    assert types_of(api, created["id"]) == ["asset.created", "asset.ready"]
    (_, first), (_, done) = events_of(api, created["id"])
    assert first["data"] == created  # PROCESSING: no links, as the upload answered
    assert first["timestamp"].endswith("Z")
    got = client.get(f"/v1/assets/{created['id']}").json()
    assert done["type"] == "asset.ready"
    assert done["data"]["fileUrl"] and done["data"]["thumbnailUrl"]
    assert {k: v for k, v in done["data"].items() if not k.endswith("Url")} == \
        {k: v for k, v in got.items() if not k.endswith("Url")}
    assert ready["status"] == "READY"

    assert client.delete(f"/v1/assets/{created['id']}").status_code == 200
    assert client.delete(f"/v1/assets/{created['id']}").status_code == 404  # no second event
    assert client.post(f"/v1/assets/{created['id']}/restore").status_code == 200
    assert client.post(f"/v1/assets/{created['id']}/restore").status_code == 404
    seen = events_of(api, created["id"])
    assert [t for t, _ in seen] == ["asset.created", "asset.ready", "asset.deleted",
                                    "asset.restored"]
    deleted, restored = seen[2][1]["data"], seen[3][1]["data"]
    assert deleted["fileUrl"] is None and deleted["thumbnailUrl"] is None
    assert restored["status"] == "READY" and restored["fileUrl"]


def test_a_failed_upload_says_why(api: Api, client: httpx.Client,
                                  media: dict[str, Path]) -> None:
    created = upload(client, media["corrupt"], type="IMAGE")
    assert wait_for(client, created["id"])["status"] == "FAILED"
    seen = events_of(api, created["id"])
    assert [t for t, _ in seen] == ["asset.created", "asset.failed"]
    assert seen[1][1]["data"]["failureReason"]
    assert seen[1][1]["data"]["status"] == "FAILED"


def test_batch_delete_writes_one_event_per_asset(api: Api, client: httpx.Client,
                                                 media: dict[str, Path]) -> None:
    a, b = (upload(client, media["png"])["id"] for _ in range(2))
    res = client.post("/v1/assets/batch-delete", json={"ids": [a, b, a, str(uuid7())]})
    assert res.status_code == 200
    for asset_id in (a, b):
        assert types_of(api, asset_id)[-1] == "asset.deleted"
        assert types_of(api, asset_id).count("asset.deleted") == 1


def test_a_tus_upload_raises_created_when_it_completes(api: Api, client: httpx.Client,
                                                       media: dict[str, Path]) -> None:
    data = media["png"].read_bytes()
    meta = "filename " + base64.b64encode(b"t.png").decode()
    res = client.post("/v1/uploads", headers={**TUS, "Upload-Length": str(len(data)),
                                               "Upload-Metadata": meta})
    url = res.headers["location"]
    res = client.patch(url, content=data[:10], headers={
        **TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    asset_id = url.rsplit("/", 1)[-1]
    assert types_of(api, asset_id) == []  # not an asset yet
    res = client.patch(url, content=data[10:], headers={
        **TUS, "Upload-Offset": "10", "Content-Type": "application/offset+octet-stream"})
    assert res.headers["x-asset-id"] == asset_id
    wait_for(client, asset_id)
    assert types_of(api, asset_id) == ["asset.created", "asset.ready"]


def test_a_failed_transaction_writes_no_event(api: Api, api_key: str) -> None:
    """The asset and its event are one transaction: when a later statement of it fails (here
    what tus runs with the asset's row), neither is kept."""
    services = api.services
    tenant = tenant_id_of(services, api_key)
    asset = _asset(tenant)

    def boom(_conn: object) -> None:
        raise RuntimeError("the upload was taken over")

    with pytest.raises(RuntimeError):
        services.assets.add(asset, JobKind.PROCESS, boom)
    assert types_of(api, asset.id) == []
    with services.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(assets_table)
                            .where(assets_table.c.id == asset.id)).scalar_one() == 0


def test_system_assets_raise_no_events(make_app: Callable[..., InProcess]) -> None:
    made = make_app(run_worker=False)
    services = made.services
    asset = _asset(SYSTEM_TENANT_ID)
    services.assets.add(asset, JobKind.PROCESS)
    assert types_of(made, asset.id) == []
    with services.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(events_table)
                            .where(events_table.c.tenant_id == SYSTEM_TENANT_ID)
                            ).scalar_one() == 0


def test_the_trash_sweep_raises_purged(make_app: Callable[..., InProcess],
                                       media: dict[str, Path]) -> None:
    made = make_app(env={"MEDIASHELF_PURGE_AFTER": "1s"})
    with made.client(made.new_key("purge")) as client:
        created = upload(client, media["png"])
        wait_for(client, created["id"])
        assert client.delete(f"/v1/assets/{created['id']}").status_code == 200
    wait_until("the purge is recorded", lambda: "asset.purged" in types_of(made, created["id"]),
               30)
    seen = events_of(made, created["id"])
    assert [t for t, _ in seen] == ["asset.created", "asset.ready", "asset.deleted",
                                    "asset.purged"]
    assert seen[-1][1]["data"]["fileUrl"] is None


def test_old_events_are_swept(make_app: Callable[..., InProcess],
                              media: dict[str, Path]) -> None:
    made = make_app(run_worker=False, env={"MEDIASHELF_EVENT_RETENTION": "1s"})
    key = made.new_key("sweep")
    tenant = tenant_id_of(made.services, key)
    with made.client(key) as client:
        first = upload(client, media["png"])
    events = made.services.events
    (old,) = events.read(tenant, 0)
    assert events.position(tenant, 0) == (0, False)
    assert events.position(tenant) == (old.id, False)  # a new stream: from now on
    time.sleep(1.1)
    assert events.sweep() == 1
    assert types_of(made, first["id"]) == []
    assert events.position(tenant, 0) == (old.id, True)  # from before the sweep: resync
    assert events.position(tenant, old.id) == (old.id, False)
    assert events.position(tenant, old.id + 1000) == (old.id, True)  # never handed out
    assert events.position(tenant) == (old.id, False)


def _asset(tenant: uuid.UUID) -> Asset:
    asset_id = uuid7()
    return Asset(id=asset_id, tenant_id=tenant, name="x", type=AssetType.IMAGE,
                 status=AssetStatus.PROCESSING, created_ms=1, updated_ms=1,
                 file_key=f"assets/{asset_id}/original", declared_type=True)
