"""deploy/systemd: the units pass systemd's own checks (`systemd-analyze verify`, and its offline
security review), run command lines the installed command accepts, may write the data dir they
give it, outlast the graceful stop; the env file example holds settings that load."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mediashelf.settings import Settings, load_settings, parse_duration

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "systemd"
UNITS = ("mediashelf-api.service", "mediashelf-worker.service")
INSTALLED = "/opt/mediashelf/venv/bin/mediashelf"  # where the units expect the install
COMMAND = Path(sys.executable).parent / "mediashelf"  # this environment's installed command
# serve: uvicorn finishes requests for 30 s, then the supervisor of --workers N waits 10 s more;
# a worker: 30 s for its jobs, then 5 s for its decoder processes.
GRACEFUL_STOP_S = 40
# systemd-analyze security rates exposure from 0 to 100 (shown as 0.0-10.0). The units rate 15:
# dropping ProtectHome= and PrivateDevices=, or NoNewPrivileges=, brings either above 16.
EXPOSURE_AT_MOST = 16

needs_systemd = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                   reason="systemd-analyze is not installed")


def _directives(unit: Path) -> dict[str, list[str]]:
    """`Section.Key` -> its values in order (a key may repeat), comments and blanks skipped."""
    found: dict[str, list[str]] = {}
    section = ""
    for line in unit.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return found


@pytest.fixture
def local_units(tmp_path: Path) -> list[Path]:
    """The units as shipped, their command pointed at this environment's installed one
    (verify checks that the command exists)."""
    assert COMMAND.is_file()
    copies = []
    for name in UNITS:
        text = (DEPLOY / name).read_text()
        assert text.count(INSTALLED) == 1
        (tmp_path / name).write_text(text.replace(INSTALLED, str(COMMAND)))
        copies.append(tmp_path / name)
    return copies


@needs_systemd
def test_systemd_verifies_the_units(local_units: list[Path]) -> None:
    res = subprocess.run(["systemd-analyze", "verify", *map(str, local_units)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stdout + res.stderr == "", res.stdout + res.stderr


@needs_systemd
def test_the_units_are_sandboxed(local_units: list[Path]) -> None:
    for unit in local_units:
        res = subprocess.run(["systemd-analyze", "security", "--offline=yes",
                              f"--threshold={EXPOSURE_AT_MOST}", str(unit)],
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr


@pytest.mark.parametrize("name", UNITS)
def test_unit_runs_the_command_as_a_confined_user(name: str) -> None:
    unit = _directives(DEPLOY / name)
    service = {k.removeprefix("Service."): v for k, v in unit.items() if k.startswith("Service.")}
    argv = shlex.split(service["ExecStart"][0])
    assert argv[0] == INSTALLED
    usage = subprocess.run([str(COMMAND), *argv[1:], "--help"], capture_output=True, text=True,
                           timeout=60)
    assert usage.returncode == 0, usage.stderr  # the command and its flags exist

    env = dict(v.split("=", 1) for v in service["Environment"])
    data_dir = env["MEDIASHELF_DATA_DIR"]
    assert service["ReadWritePaths"] == [data_dir]
    assert [f"/var/lib/{d}" for d in service["StateDirectory"]] == [data_dir]
    assert service["User"] != ["root"] and service["Group"] != ["root"]
    assert service["ProtectSystem"] == ["strict"] and service["NoNewPrivileges"] == ["yes"]
    assert service["KillMode"] == ["mixed"]  # the main process stops its children itself
    assert parse_duration(service["TimeoutStopSec"][0]) > GRACEFUL_STOP_S
    assert service["Restart"] == ["on-failure"]
    assert int(service["LimitNOFILE"][0]) >= 65536
    assert service["EnvironmentFile"] == ["/etc/mediashelf/mediashelf.env"]


def test_the_worker_unit_serves_its_health_and_metrics() -> None:
    """The worker unit gives its process a port of its own, a valid one, apart from the API's."""
    env = dict(v.split("=", 1) for v in _directives(
        DEPLOY / "mediashelf-worker.service")["Service.Environment"])
    port = load_settings(data_dir=Path("/tmp"),
                         worker_metrics_port=env["MEDIASHELF_WORKER_METRICS_PORT"]
                         ).worker_metrics_port
    assert port is not None and port != 8000


def test_a_bad_setting_exits_2_which_is_not_restarted(tmp_path: Path) -> None:
    for name in UNITS:
        assert _directives(DEPLOY / name)["Service.RestartPreventExitStatus"] == ["2"]
    env = {**os.environ, "MEDIASHELF_DATA_DIR": str(tmp_path), "MEDIASHELF_PORT": "eighty"}
    res = subprocess.run([str(COMMAND), "worker"], capture_output=True, text=True, env=env,
                         timeout=60)
    assert res.returncode == 2 and "MEDIASHELF_PORT" in res.stderr, res.stderr


def test_the_env_file_example_loads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every MEDIASHELF_* line, commented out or not, is a setting; the active ones load."""
    active: dict[str, str] = {}
    named: set[str] = set()
    for line in (DEPLOY / "mediashelf.env").read_text().splitlines():
        text = line.removeprefix("#").strip()
        key, eq, value = text.partition("=")
        if not eq or " " in key:
            continue
        named.add(key)
        if not line.startswith("#"):
            active[key] = value
    fields = {f"MEDIASHELF_{f.upper()}" for f in Settings.model_fields}
    assert {k for k in named if k.startswith("MEDIASHELF_")} <= fields
    assert "MEDIASHELF_DATA_DIR" not in named  # the units set it, beside ReadWritePaths=
    for key in [k for k in os.environ if k.startswith("MEDIASHELF_")]:
        monkeypatch.delenv(key)
    for key, value in active.items():
        monkeypatch.setenv(key, value)
    settings = load_settings(data_dir=tmp_path)
    assert settings.database_url.startswith("postgresql:")
    assert settings.storage_url.startswith("s3:")
    assert settings.base_url == active["MEDIASHELF_PUBLIC_URL"]
