"""Keys and system assets made by the CLI, in another process, as the running server sees them
(authentication and tenants otherwise: tests/inproc/test_auth_and_tenants.py)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.support.procs import spawned
from tests.support.server import Server


def test_revoked_key_stops_working(server: Server) -> None:
    out = server.cli("keys", "create", "--tenant", "revokers")
    key = out.stdout.strip().splitlines()[-1]
    assert httpx.get(server.url + "/v1/assets", headers={"x-api-key": key}).status_code == 200
    listed = server.cli("keys", "list").stdout
    assert "revokers" in listed and key not in listed  # only the prefix is shown
    server.cli("keys", "revoke", key)
    assert httpx.get(server.url + "/v1/assets", headers={"x-api-key": key}).status_code == 401
    assert "revoked" in server.cli("keys", "list").stdout


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
            refused = c.delete(f"/v1/assets/{sys_id}")  # 404 as INTERFACE.md has it, said why
            assert refused.status_code == 404 and "system assets" in refused.json()["message"]
            assert c.get("/v1/assets", params={"scope": "mine", "type": "AUDIO"}).json() == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_system_import_starts_no_webhook_process(make_server: object,
                                                 media: dict[str, Path]) -> None:
    """System assets raise no tenant events: the command processes them with a worker of its
    own, without the webhook process a worker otherwise starts (and waits a second for)."""
    srv = make_server(start=False)  # type: ignore[operator]
    proc = subprocess.Popen([*srv.command, "system", "import", "--init",
                             str(media["mp3"])], env=srv.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: set[int] = set()
    while proc.poll() is None:
        with contextlib.suppress(OSError):  # it may end between the poll and the read
            seen.update(spawned(proc.pid))
        time.sleep(0.02)
    out, err = proc.communicate()
    assert proc.returncode == 0 and "READY" in out, err
    assert seen == set()
