"""The light distribution: a fresh venv with only `pip install ./sdk[cli]` uploads, waits and lists
against the real server, from Python and from its `mediashelf` command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.server import Server

import mediashelf_client

ROOT = Path(__file__).resolve().parents[2]
SERVER_DEPS = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "av", "pillow",
               "numpy", "pebble", "psycopg", "boto3")
CLIENT_ENV = ("MEDIASHELF_URL", "MEDIASHELF_API_KEY", "PYTHONPATH", "VIRTUAL_ENV")

UPLOAD_WAIT_LIST = """
import json, sys
from mediashelf_client import Client
with Client() as ms:  # MEDIASHELF_URL and MEDIASHELF_API_KEY
    asset = ms.wait_until_ready(ms.upload(sys.argv[1], name="from the light sdk"), timeout=60)
    listed = [a.id for a in ms.iter_assets(scope="mine")]
print(json.dumps({"id": asset.id, "status": asset.status, "width": asset.width,
                  "listed": listed}))
"""


@pytest.fixture(scope="session")
def light_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv holding mediashelf-client[cli] alone, installed from a copy of sdk/."""
    base = tmp_path_factory.mktemp("light")
    sdk = base / "sdk"  # a copy, so that the build leaves nothing in the checkout
    shutil.copytree(ROOT / "sdk", sdk, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                          "--disable-pip-version-check", f"{sdk}[cli]"],
                         capture_output=True, text=True, env=_env(), cwd=base, timeout=600)
    assert pip.returncode == 0, pip.stderr
    yield venv


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLIENT_ENV}
    return {**env, "NO_COLOR": "1", **extra}


def _run(venv: Path, program: str, *args: str, env: dict[str, str], cwd: Path
         ) -> subprocess.CompletedProcess[str]:
    res = subprocess.run([str(venv / "bin" / program), *args], capture_output=True, text=True,
                         env=env, cwd=cwd, timeout=120)
    assert res.returncode == 0, f"{program} {args}: {res.stderr}"
    return res


@pytest.mark.slow
def test_the_light_sdk_alone_uploads_waits_and_lists(light_venv: Path, server: Server,
                                                     api_key: str, media: dict[str, Path],
                                                     tmp_path: Path) -> None:
    env = _env(MEDIASHELF_URL=server.url, MEDIASHELF_API_KEY=api_key)
    listed = _run(light_venv, "python", "-m", "pip", "list", "--format=json", env=env,
                  cwd=tmp_path)
    installed = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert {"mediashelf-client", "httpx", "typer", "rich"} <= installed
    assert not installed & {"mediashelf", *SERVER_DEPS}
    absent = subprocess.run([str(light_venv / "bin" / "python"), "-c", "import mediashelf"],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert absent.returncode == 1 and "No module named 'mediashelf'" in absent.stderr

    sdk = json.loads(_run(light_venv, "python", "-c", UPLOAD_WAIT_LIST, str(media["png"]),
                          env=env, cwd=tmp_path).stdout)
    assert sdk["status"] == "READY" and sdk["width"] == 64 and sdk["listed"] == [sdk["id"]]

    rows = json.loads(_run(light_venv, "mediashelf", "upload", str(media["mp4"]), "--wait",
                           "--json", env=env, cwd=tmp_path).stdout)
    video = rows[0]["asset"]
    assert (len(rows), video["status"], video["type"]) == (1, "READY", "VIDEO")
    ls = json.loads(_run(light_venv, "mediashelf", "ls", "--json", "--type", "VIDEO", env=env,
                         cwd=tmp_path).stdout)
    assert video["id"] in [a["id"] for a in ls]
    version = _run(light_venv, "mediashelf", "--version", env=env, cwd=tmp_path).stdout
    assert version == f"mediashelf {mediashelf_client.__version__}\n"
    helped = _run(light_venv, "mediashelf", "--help", env=env, cwd=tmp_path).stdout
    assert " ls " in helped and " serve " not in helped  # the client commands only
