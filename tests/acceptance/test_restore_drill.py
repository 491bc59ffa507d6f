"""The restore drill of docs/operations.md: a library on each backend is exported, imported into
a scratch library (SQLite and a folder), and the scratch library answers a tenant's key with the
same counts."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from tests.support.server import Server, upload, wait_for

COUNTS = re.compile(r"(\d+) assets \((\d+) files, (\d+) bytes\), (\d+) tenants and (\d+) keys")
EVERY = {"scope": "mine", "status": "READY,PROCESSING,FAILED"}


def _counts(output: str) -> tuple[str, ...]:
    found = COUNTS.search(output)
    assert found, output
    return found.groups()


def test_a_backup_restores_into_a_scratch_library(make_server: Callable[..., Server],
                                                  media: dict[str, Path], tmp_path: Path) -> None:
    production = make_server()
    key = production.cli("keys", "create", "--tenant", "drill").stdout.strip().splitlines()[-1]
    with production.client(key) as client:
        for kind in ("png", "mp3", "corrupt"):
            wait_for(client, upload(client, media[kind])["id"])
        listed = client.get("/v1/assets", params=EVERY)
    assert listed.headers["X-Total-Count"] == "3"
    production.stop()  # writers stopped first, as the drill says

    backup = tmp_path / "backup"
    exported = _counts(production.cli("library", "export", str(backup)).stdout)
    scratch = Server(tmp_path / "scratch", args=("--no-worker",))  # no database or storage URL
    imported = _counts(scratch.cli("library", "import", str(backup)).stdout)
    assets, tenants = exported[0], exported[3]
    assert assets == "3"
    # Neither counts the system library's tenant: every library has it already.
    assert imported == exported and tenants == "1"

    scratch.start()
    with scratch.client(key) as client:
        restored = client.get("/v1/assets", params=EVERY)
    assert restored.status_code == 200, restored.text
    assert restored.headers["X-Total-Count"] == listed.headers["X-Total-Count"]
    assert [a["id"] for a in restored.json()] == [a["id"] for a in listed.json()]
    scratch.stop()
