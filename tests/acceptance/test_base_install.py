"""The quick start installs mediashelf without extras: on the embedded defaults nothing of the
postgres or s3 extra (psycopg, boto3) may be imported, by the server, its worker or the CLI."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.server import Server, upload, wait_for

EXTRAS = ("psycopg", "psycopg_pool", "boto3", "botocore")


def test_the_embedded_defaults_need_no_extra(tmp_path: Path, media: dict[str, Path]) -> None:
    absent = tmp_path / "absent"  # put first on the path: each extra fails to import, as unset
    for name in EXTRAS:
        (absent / name).mkdir(parents=True)
        (absent / name / "__init__.py").write_text(
            f"raise ModuleNotFoundError('No module named {name!r}')\n")
    path = os.pathsep.join(filter(None, [str(absent), os.environ.get("PYTHONPATH")]))
    server = Server(tmp_path / "lib", env={"PYTHONPATH": path}).start()
    try:
        key = server.cli("keys", "create", "--tenant", "base").stdout.strip().splitlines()[-1]
        with server.client(key) as client:
            asset = wait_for(client, upload(client, media["png"], name="no extras")["id"])
            assert asset["status"] == "READY", asset["failureReason"]
            listed = client.get("/v1/assets")
            assert listed.status_code == 200 and asset["id"] in [a["id"] for a in listed.json()]
    finally:
        server.stop()
    assert "No module named" not in server.log()
