"""A change made by another process (the CLI) shows on the running server's very next answer
(the lifecycle otherwise: tests/inproc/test_lifecycle.py)."""

from __future__ import annotations

from pathlib import Path

import httpx
from tests.support.server import Server, upload


def test_a_polled_asset_follows_every_change(server: Server, client: httpx.Client,
                                             media: dict[str, Path]) -> None:
    """GET answers may be replayed while nothing changed; a change made by any process (the
    worker finishing, a delete, a restore by the CLI) shows on the very next poll."""
    asset_id = upload(client, media["png"], name="polled")["id"]
    seen = []
    while not seen or seen[-1]["status"] == "PROCESSING":
        seen.append(client.get(f"/v1/assets/{asset_id}").json())
        assert len(seen) < 2000, "never processed"
    ready = seen[-1]
    assert ready["status"] == "READY" and ready["width"] and ready["fileUrl"]
    assert client.get(f"/v1/assets/{asset_id}").json() == ready  # repeated: the same answer

    assert client.delete(f"/v1/assets/{asset_id}").status_code == 200
    assert client.get(f"/v1/assets/{asset_id}").status_code == 404
    server.cli("assets", "restore", asset_id)  # another process, straight to the database
    back = client.get(f"/v1/assets/{asset_id}")
    assert back.status_code == 200 and back.json()["status"] == "READY"
    assert back.json()["updatedAt"] > ready["updatedAt"]
    assert [a["id"] for a in client.get("/v1/assets").json()].count(asset_id) == 1
