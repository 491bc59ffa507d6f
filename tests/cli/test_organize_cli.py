"""`mediashelf ls -q/--tag/--sort/--scope`, `rename`, `tag`, `trash`, `restore` on the real
server: the commands run in this process (typer's runner, real HTTP), a process each costs
seconds; `--version` through both entry points as processes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from mediashelf.domain import SYSTEM_TENANT_ID, AssetStatus, AssetType, now_ms
from mediashelf_client import __version__
from mediashelf_client.cli import app
from tests.cli.test_human_cli import COLOUR_VARS
from tests.support.blocked import blocked_env
from tests.support.library import insert, make_asset, tenant_id_of
from tests.support.server import Server


def _runner(url: str, key: str) -> Callable[..., Result]:
    runner = CliRunner(env={"MEDIASHELF_URL": url, "MEDIASHELF_API_KEY": key,
                            **dict.fromkeys(COLOUR_VARS[:-2])})

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args))

    return run


def test_search_rename_tag_trash_restore(server: Server, api_key: str) -> None:
    tenant = tenant_id_of(server.services, api_key)
    base = now_ms() - 100_000
    made = [make_asset(tenant, t, AssetStatus.READY, base + i * 10, name) for i, (t, name) in
            enumerate([(AssetType.IMAGE, "IMG_0042.MOV"), (AssetType.VIDEO, "Beach clip"),
                       (AssetType.AUDIO, "beach song")])]
    system = make_asset(SYSTEM_TENANT_ID, AssetType.AUDIO, AssetStatus.READY, base, "cli tune")
    insert(server.services, [*made, system])
    image, video, audio = (str(a.id) for a in made)
    run = _runner(server.url, api_key)

    renamed = run("rename", image, "Beach at dawn")
    assert renamed.exit_code == 0 and renamed.stdout == f"{image}  Beach at dawn\n"
    tagged = run("tag", image, "+Sunset", "drone", "-nothing")
    assert tagged.exit_code == 0, tagged.stderr
    assert tagged.stdout == f"{image}  drone, sunset\n"
    listed = run("ls", "-q", "beach", "--type", "IMAGE,VIDEO", "--sort", "name", "--scope",
                 "mine", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert [a["name"] for a in json.loads(listed.stdout)] == ["Beach at dawn", "Beach clip"]
    table = run("ls", "--tag", "sunset", "--tag", "drone")
    assert image in table.stdout and "drone, sunset" in table.stdout and video not in table.stdout
    bad = run("ls", "--type", "IMAGE,PDF")
    assert bad.exit_code == 2 and "'PDF'" in bad.stderr

    refused = run("rm", str(system.id))  # not found among the key's own, and why
    assert refused.exit_code == 3 and "cannot be deleted" in refused.stderr
    refused = run("rename", str(system.id), "mine")
    assert refused.exit_code == 6 and "read-only" in refused.stderr
    assert run("rm", video, audio).exit_code == 0
    trash = run("trash")
    assert trash.exit_code == 0 and video in trash.stdout and audio in trash.stdout
    assert trash.stdout.index(audio) < trash.stdout.index(video)  # newest deletion first
    back = run("restore", video)
    assert back.exit_code == 0 and back.stdout == f"restored {video}  Beach clip\n"
    assert [a["id"] for a in json.loads(run("trash", "--json").stdout)] == [audio]
    assert run("restore", video).exit_code == 3


def test_version_from_both_entry_points(tmp_path: Path) -> None:
    light = blocked_env(tmp_path / "absent", ("mediashelf",))
    for module, env in (("mediashelf", None), ("mediashelf_client", light)):
        res = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True,
                             text=True, timeout=60, env=env)
        assert res.returncode == 0 and res.stdout == f"mediashelf {__version__}\n", module
