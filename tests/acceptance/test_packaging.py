"""The built distributions: the full one ships the server and the SDK from their two source
roots, in its wheel and its sdist; the light one ships the SDK alone. Both carry the version and
the license. The full wheel and sdist, each installed into a fresh venv, serve: a key from the
installed command, a real image uploaded until READY and listed over HTTP, a clean stop."""

from __future__ import annotations

import email
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.support.backends import Backend
from tests.support.server import Server, upload, wait_for

from mediashelf_client import __version__

ROOT = Path(__file__).resolve().parents[2]
JUNK = shutil.ignore_patterns(".*", "build", "dist", "*.egg-info", "__pycache__", "bench", "docs")
# Variables that would let the checkout's code or another environment leak into a fresh venv.
LEAKS = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV")


@dataclass(frozen=True)
class Dists:
    full_wheel: Path
    full_sdist: Path
    light_wheel: Path
    light_sdist: Path


def _build(project: Path, out: Path) -> tuple[Path, Path]:
    """`python -m build` (the sdist, then the wheel from it): the wheel and the sdist."""
    res = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(project)],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    (wheel,), (sdist,) = out.glob("*.whl"), out.glob("*.tar.gz")
    return wheel, sdist


@pytest.fixture(scope="session")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    """Both distributions, built once for the session from a copy of the checkout."""
    base = tmp_path_factory.mktemp("dists")
    tree = base / "tree"  # a copy, so that the builds leave nothing in the checkout
    shutil.copytree(ROOT, tree, ignore=JUNK)
    full_wheel, full_sdist = _build(tree, base / "full")
    light_wheel, light_sdist = _build(tree / "sdk", base / "light")
    return Dists(full_wheel, full_sdist, light_wheel, light_sdist)


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if k not in LEAKS and not k.startswith("MEDIASHELF_")}


@pytest.fixture(scope="session")
def wheelhouse(dists: Dists, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every dependency of the full wheel with both extras (and the build backend, for the
    sdist), downloaded once, so that each fresh venv installs without fetching them again."""
    folder = tmp_path_factory.mktemp("wheelhouse")
    pip = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--dest", str(folder),
                          f"{dists.full_wheel}[postgres,s3]", "setuptools>=77"],
                         capture_output=True, text=True, env=_env(), cwd=folder, timeout=900)
    assert pip.returncode == 0, pip.stdout[-2000:] + pip.stderr[-4000:]
    return folder


def _fresh_venv(where: Path, requirement: str, wheelhouse: Path) -> Path:
    """A new venv holding `requirement` and its dependencies alone (from the wheelhouse only, so
    an undeclared one is missing): its bin folder. This pip installs into it (`--python`), which
    spares the venv a pip of its own; no bytecode is compiled ahead (the imports compile theirs)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True,
                   timeout=120)
    pip = subprocess.run([sys.executable, "-m", "pip", "--python", str(where / "bin" / "python"),
                          "install", "-q", "--no-compile", "--no-index", "--find-links",
                          str(wheelhouse), requirement],
                         capture_output=True, text=True, env=_env(), cwd=where, timeout=900)
    assert pip.returncode == 0, pip.stdout[-2000:] + pip.stderr[-4000:]
    return where / "bin"


@pytest.fixture(scope="session")
def wheel_bin(dists: Dists, wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The full wheel with both extras, so that it can serve every backend."""
    return _fresh_venv(tmp_path_factory.mktemp("wheel") / "venv",
                       f"{dists.full_wheel}[postgres,s3]", wheelhouse)


@pytest.fixture(scope="session")
def sdist_bin(dists: Dists, wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The full sdist, built into a wheel by pip, without extras: the embedded defaults."""
    return _fresh_venv(tmp_path_factory.mktemp("sdist") / "venv", str(dists.full_sdist),
                       wheelhouse)


def _metadata(wheel: zipfile.ZipFile) -> email.message.Message:
    name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    return email.message_from_bytes(wheel.read(name))


@pytest.mark.slow
def test_both_distributions_build_with_their_packages(dists: Dists) -> None:
    full_wheel, full_sdist = dists.full_wheel, dists.full_sdist
    light_wheel, light_sdist = dists.light_wheel, dists.light_sdist

    with zipfile.ZipFile(full_wheel) as wheel:
        names = set(wheel.namelist())
        meta = _metadata(wheel)
    assert {"mediashelf/cli/__init__.py", "mediashelf/web/index.html", "mediashelf/py.typed",
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
        "httpx>=0.27", 'rich>=13; extra == "cli"', 'standardwebhooks>=1.1; extra == "webhooks"',
        'typer>=0.26; extra == "cli"']
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert (ROOT / "sdk" / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()
    assert light_sdist.name == f"mediashelf_client-{__version__}.tar.gz"


def _serves(bin_dir: Path, data_dir: Path, env: dict[str, str], image: Path) -> None:
    """The installed command: version, serve, a key, an image READY and listed, a clean stop."""
    where = subprocess.run(
        [str(bin_dir / "python"), "-c",
         "import mediashelf, mediashelf_client; print(mediashelf.__file__); "
         "print(mediashelf_client.__file__)"],
        capture_output=True, text=True, env=_env(), cwd=data_dir.parent, timeout=60, check=True)
    for path in where.stdout.split():  # the venv's copies, not the checkout's
        assert Path(path).is_relative_to(bin_dir.parent), path
    version = subprocess.run([str(bin_dir / "mediashelf"), "--version"], capture_output=True,
                             text=True, env=_env(), timeout=60, check=True)
    assert __version__ in version.stdout

    server = Server(data_dir, {**{k: "" for k in LEAKS}, **env},
                    command=(str(bin_dir / "mediashelf"),))
    server.start(timeout=120)
    try:
        created = server.cli("keys", "create", "--tenant", "packaged")
        key = created.stdout.strip().splitlines()[-1]
        with server.client(key) as client:
            asset = wait_for(client, upload(client, image, name="from the package")["id"])
            assert asset["status"] == "READY", asset["failureReason"]
            assert (asset["width"], asset["height"]) == (64, 48)
            assert httpx.get(asset["fileUrl"], timeout=30).content == image.read_bytes()
            listed = client.get("/v1/assets", params={"scope": "mine"})
            assert listed.status_code == 200
            assert [a["id"] for a in listed.json()] == [asset["id"]]
            assert listed.headers["X-Total-Count"] == "1"
            page = client.get("/")  # the web page is package data
            assert page.status_code == 200 and "<html" in page.text.lower()
    finally:
        code = server.stop()
    assert code == 0, server.log()
    assert "Traceback" not in server.log()


@pytest.mark.slow
def test_the_wheel_installs_and_serves(wheel_bin: Path, backend: Backend,
                                       media: dict[str, Path], tmp_path: Path) -> None:
    with backend.provision() as env:
        _serves(wheel_bin, tmp_path / "data", env, media["png"])


@pytest.mark.slow
def test_the_sdist_installs_and_serves(sdist_bin: Path, media: dict[str, Path],
                                       tmp_path: Path) -> None:
    _serves(sdist_bin, tmp_path / "data", {}, media["png"])
