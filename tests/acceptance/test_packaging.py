"""The built distributions: the full one ships the server and the SDK from their two source
roots, in its wheel and its sdist; the light one ships the SDK alone. Both carry the version and
the license."""

from __future__ import annotations

import email
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from mediashelf_client import __version__

ROOT = Path(__file__).resolve().parents[2]
JUNK = shutil.ignore_patterns(".*", "build", "dist", "*.egg-info", "__pycache__", "bench", "docs")


def _build(project: Path, out: Path) -> tuple[Path, Path]:
    """`python -m build` (the sdist, then the wheel from it): the wheel and the sdist."""
    res = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(project)],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    (wheel,), (sdist,) = out.glob("*.whl"), out.glob("*.tar.gz")
    return wheel, sdist


def _metadata(wheel: zipfile.ZipFile) -> email.message.Message:
    name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    return email.message_from_bytes(wheel.read(name))


@pytest.mark.slow
def test_both_distributions_build_with_their_packages(tmp_path: Path) -> None:
    tree = tmp_path / "tree"  # a copy, so that the builds leave nothing in the checkout
    shutil.copytree(ROOT, tree, ignore=JUNK)
    full_wheel, full_sdist = _build(tree, tmp_path / "full")
    light_wheel, light_sdist = _build(tree / "sdk", tmp_path / "light")

    with zipfile.ZipFile(full_wheel) as wheel:
        names = set(wheel.namelist())
        meta = _metadata(wheel)
    assert {"mediashelf/cli.py", "mediashelf/web/index.html", "mediashelf/py.typed",
            "mediashelf_client/__init__.py", "mediashelf_client/cli/commands.py",
            "mediashelf_client/py.typed"} <= names
    assert (meta["Name"], meta["Version"], meta["License-Expression"]) == (
        "mediashelf", __version__, "MIT")
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    with tarfile.open(full_sdist) as sdist:
        members = {m.name.split("/", 1)[1] for m in sdist.getmembers() if "/" in m.name}
    assert {"LICENSE", "src/mediashelf/app.py", "sdk/src/mediashelf_client/_core.py"} <= members

    with zipfile.ZipFile(light_wheel) as wheel:
        names = set(wheel.namelist())
        meta = _metadata(wheel)
    assert {n.split("/")[0] for n in names} == {"mediashelf_client",
                                                f"mediashelf_client-{__version__}.dist-info"}
    assert (meta["Name"], meta["Version"], meta["License-Expression"]) == (
        "mediashelf-client", __version__, "MIT")
    assert sorted(meta.get_all("Requires-Dist") or []) == [
        "httpx>=0.27", 'rich>=13; extra == "cli"', 'typer>=0.26; extra == "cli"']
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert (ROOT / "sdk" / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()
    assert light_sdist.name == f"mediashelf_client-{__version__}.tar.gz"
