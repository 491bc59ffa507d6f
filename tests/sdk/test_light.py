"""The SDK and its terminal client stand alone: no server package, no server dependencies."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import mediashelf
import mediashelf_client
from tests.support.blocked import blocked_env

SERVER_MODULES = ("mediashelf", "fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "av",
                  "PIL", "numpy", "pebble", "psycopg", "boto3")

LOAD_ALL = f"""
import json, sys
try:
    import mediashelf
except ModuleNotFoundError:
    blocked = True
else:
    blocked = False
import mediashelf_client, mediashelf_client.cli, mediashelf_client.__main__
from mediashelf_client.cli import main
code = 0
try:
    main(["ls", "--help"])
except SystemExit as exc:
    code = exc.code
print(json.dumps({{"blocked": blocked, "help_exit": code,
                  "loaded": [m for m in {SERVER_MODULES!r} if m in sys.modules]}}))
"""


def test_the_sdk_and_its_cli_load_without_the_server(tmp_path: Path) -> None:
    env = blocked_env(tmp_path / "absent", ("mediashelf",))
    res = subprocess.run([sys.executable, "-c", LOAD_ALL], capture_output=True, text=True,
                         env=env, timeout=60)
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout.splitlines()[-1])
    assert report == {"blocked": True, "help_exit": 0, "loaded": []}, res.stderr


def test_without_the_cli_extra_the_command_says_how_to_get_it(tmp_path: Path) -> None:
    env = blocked_env(tmp_path / "absent", ("mediashelf", "typer", "rich"))
    res = subprocess.run([sys.executable, "-m", "mediashelf_client", "ls"], capture_output=True,
                         text=True, env=env, timeout=60)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr == ('error: the mediashelf commands need the cli extra: '
                          'pip install "mediashelf-client[cli]"\n')
    sdk = subprocess.run([sys.executable, "-c", "import mediashelf_client; print('ok')"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert sdk.stdout == "ok\n", sdk.stderr  # the SDK itself needs no extra


def test_both_commands_print_the_package_version() -> None:
    assert mediashelf.__version__ == mediashelf_client.__version__
    assert importlib.metadata.version("mediashelf") == mediashelf_client.__version__
    for package in ("mediashelf", "mediashelf_client"):
        res = subprocess.run([sys.executable, "-m", package, "--version"], capture_output=True,
                             text=True, timeout=60, check=True)
        assert res.stdout == f"mediashelf {mediashelf_client.__version__}\n"
