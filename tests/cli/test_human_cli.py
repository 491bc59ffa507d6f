"""`mediashelf ls|upload|import|get|rm|open` through the real entry points, on the real server.

Each test runs twice: through the server's `mediashelf` command, and through the light client's
(`python -m mediashelf_client`, the `mediashelf` script of mediashelf-client) with the server
package made unimportable.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support.blocked import blocked_env
from tests.support.server import Server, free_port, upload, wait_for

COLOUR_VARS = ("FORCE_COLOR", "CLICOLOR_FORCE", "PY_COLORS", "TTY_COMPATIBLE", "NO_COLOR",
               "MEDIASHELF_URL", "MEDIASHELF_API_KEY")


Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(params=["mediashelf", "mediashelf_client"])
def run(request: pytest.FixtureRequest, tmp_path: Path) -> Run:
    """`mediashelf ARGS` with MEDIASHELF_URL and MEDIASHELF_API_KEY set, through one entry point."""
    base = (dict(os.environ) if request.param == "mediashelf"
            else blocked_env(tmp_path / "absent", ("mediashelf",)))

    def run(*args: str, url: str, key: str | None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in base.items() if k not in COLOUR_VARS}
        env["MEDIASHELF_URL"] = url
        if key is not None:
            env["MEDIASHELF_API_KEY"] = key
        res = subprocess.run([sys.executable, "-m", request.param, *args], capture_output=True,
                             text=True, env=env, timeout=120)
        assert "\x1b[" not in res.stdout + res.stderr  # colour only on a terminal
        assert "No module named" not in res.stderr
        return res

    return run


@pytest.fixture
def clips(tmp_path: Path, media: dict[str, Path]) -> Path:
    folder = tmp_path / "clips"
    (folder / "sub").mkdir(parents=True)
    (folder / ".cache").mkdir()
    shutil.copy(media["png"], folder / "a.png")
    shutil.copy(media["mp4"], folder / "sub" / "b.mp4")
    shutil.copy(media["png"], folder / ".cache" / "hidden.png")
    shutil.copy(media["png"], folder / ".hidden.png")
    (folder / "notes.txt").write_text("not media")
    return folder


def test_upload_a_folder_then_ls_get_open_rm(run: Run, server: Server, api_key: str,
                                             clips: Path) -> None:
    up = run("upload", str(clips), "--wait", "--json", url=server.url, key=api_key)
    assert up.returncode == 0, up.stderr
    rows = json.loads(up.stdout)
    assert [Path(r["file"]).name for r in rows] == ["a.png", "b.mp4"]
    assert [(r["asset"]["status"], r["error"]) for r in rows] == [("READY", None)] * 2
    image, video = (r["asset"] for r in rows)

    listed = run("ls", "--json", url=server.url, key=api_key)
    assert listed.returncode == 0 and {a["id"] for a in json.loads(listed.stdout)} >= {
        image["id"], video["id"]}
    table = run("ls", "--type", "video", "--all", url=server.url, key=api_key)
    assert table.returncode == 0
    line = next(ln for ln in table.stdout.splitlines() if video["id"] in ln)
    assert "b.mp4" in line and "VIDEO" in line and "READY" in line and "ago" in line
    assert f"{video['width']}x{video['height']}" in line and image["id"] not in table.stdout

    got = run("get", image["id"], "--json", url=server.url, key=api_key)
    assert json.loads(got.stdout) == {**image, "fileUrl": json.loads(got.stdout)["fileUrl"],
                                      "thumbnailUrl": json.loads(got.stdout)["thumbnailUrl"]}
    human = run("get", video["id"], url=server.url, key=api_key)
    assert "video/mp4" in human.stdout and "file URL" in human.stdout

    link = run("open", image["id"], url=server.url, key=api_key)
    assert link.returncode == 0 and link.stdout.count("\n") == 1
    assert httpx.get(link.stdout.strip()).status_code == 200

    gone = run("rm", image["id"], "00000000-0000-7000-8000-000000000009", url=server.url,
               key=api_key)
    assert gone.returncode == 3
    assert gone.stdout == f"deleted {image['id']}\n"
    assert gone.stderr == "error: no asset 00000000-0000-7000-8000-000000000009\n"
    missing = run("get", image["id"], url=server.url, key=api_key)
    assert (missing.returncode, missing.stdout) == (3, "")
    assert missing.stderr == f"error: no asset {image['id']}\n"


def test_upload_reports_failed_processing_with_status_5(run: Run, server: Server, api_key: str,
                                                        media: dict[str, Path]) -> None:
    res = run("upload", str(media["corrupt"]), str(media["jpeg"]), "--wait", url=server.url,
              key=api_key)
    assert res.returncode == 5, res.stderr
    broken = next(ln for ln in res.stdout.splitlines() if "broken.png" in ln)
    assert "FAILED" in broken and "corrupt" in broken
    assert "READY" in next(ln for ln in res.stdout.splitlines() if "gradient.jpg" in ln), \
        res.stdout
    assert "2 of 2 uploaded, 1 with problems" in res.stderr
    opened = run("open", "--json", json.loads(run("ls", "--json", "--status", "FAILED",
                                                  url=server.url, key=api_key).stdout)[0]["id"],
                 url=server.url, key=api_key)
    assert opened.returncode == 5 and "is FAILED" in opened.stderr


def test_upload_keeps_a_non_ascii_name_and_refuses_a_control_character(
        run: Run, server: Server, api_key: str, media: dict[str, Path],
        tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("names")
    clip = folder / "東京 🎬.mp4"
    shutil.copy(media["mp4"], clip)
    res = run("upload", str(clip), "--wait", url=server.url, key=api_key)  # ls shows READY
    assert res.returncode == 0, res.stdout + res.stderr
    assert "東京 🎬.mp4" in res.stdout and "1 of 1 uploaded" in res.stderr
    listed = json.loads(run("ls", "--json", "--all", url=server.url, key=api_key).stdout)
    assert "東京 🎬.mp4" in [a["name"] for a in listed]

    odd = folder / "tab\there.png"
    shutil.copy(media["png"], odd)
    refused = run("upload", str(odd), url=server.url, key=api_key)
    assert refused.returncode == 1
    assert "NOT SENT" in refused.stdout and "control characters" in refused.stdout


def test_import_guesses_the_type_and_relays_the_servers_refusal(run: Run, server: Server,
                                                                 api_key: str) -> None:
    ok = run("import", "https://media.example.invalid/intro%20clip.mp4", "--json",
             url=server.url, key=api_key)
    assert ok.returncode == 0, ok.stderr
    asset = json.loads(ok.stdout)
    assert (asset["name"], asset["type"], asset["status"]) == ("intro clip.mp4", "VIDEO",
                                                               "PROCESSING")
    again = run("import", "https://media.example.invalid/intro%20clip.mp4", "--no-dedupe",
                "--json", url=server.url, key=api_key)
    assert again.returncode == 0 and json.loads(again.stdout)["id"] != asset["id"]
    refused = run("import", "ftp://example.com/a.mp4", url=server.url, key=api_key)
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.startswith("error: ") and "ftp" in refused.stderr
    unknown = run("import", "https://example.com/download", url=server.url, key=api_key)
    assert unknown.returncode == 2 and "--type" in unknown.stderr


def test_exit_statuses_for_keys_and_reachability(run: Run, server: Server,
                                                 tmp_path: Path) -> None:
    for key in ("wrong-key", None):
        res = run("ls", url=server.url, key=key)
        assert res.returncode == 4 and res.stdout == ""
        assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1
    down = run("get", "x", url=f"http://127.0.0.1:{free_port()}", key="k")
    assert down.returncode == 1 and "cannot reach" in down.stderr
    (tmp_path / "empty").mkdir()
    empty = run("upload", str(tmp_path / "empty"), url=server.url, key="k")
    assert empty.returncode == 2 and "no media files" in empty.stderr
    helped = run("upload", "--help", url=server.url, key=None)
    assert helped.returncode == 0 and "Exit status" in helped.stdout


def test_bad_arguments_exit_2(run: Run, server: Server) -> None:
    res = run("ls", "--type", "movie", url=server.url, key="k")
    assert res.returncode == 2 and "movie" in res.stderr


def _on_a_terminal(args: list[str], env: dict[str, str], columns: int) -> str:
    """Run a command on a real pseudo-terminal of that width and return what it showed."""
    import fcntl
    import pty
    import re
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen(args, stdin=follower, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    shown = bytearray()
    try:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the command has exited and closed the terminal
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
        proc.wait(timeout=60)
    assert proc.returncode == 0, shown.decode(errors="replace")
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode()).replace("\r\n", "\n")


@pytest.mark.parametrize("command", ["mediashelf", "mediashelf_client"])
def test_get_prints_urls_whole_on_a_narrow_terminal(command: str, server: Server, api_key: str,
                                                    media: dict[str, Path],
                                                    tmp_path: Path) -> None:
    with server.client(api_key) as client:
        asset = wait_for(client, upload(client, media["png"])["id"])
    assert asset["status"] == "READY"
    links = [asset["fileUrl"], asset["thumbnailUrl"]]
    assert all(len(link) > 80 for link in links)  # longer than the terminal is wide
    env = (dict(os.environ) if command == "mediashelf"
           else blocked_env(tmp_path / "absent", ("mediashelf",)))
    env = {k: v for k, v in env.items() if k not in COLOUR_VARS}
    env.update(MEDIASHELF_URL=server.url, MEDIASHELF_API_KEY=api_key)
    shown = _on_a_terminal([sys.executable, "-m", command, "get", asset["id"]], env, 80)
    lines = shown.splitlines()
    for label, link in zip(("file URL", "thumbnail"), links, strict=True):
        assert any(line.split() == [*label.split(), link] for line in lines), shown
    assert asset["id"] in shown and "READY" in shown


def test_upload_again_skips_what_the_library_holds(run: Run, server: Server, api_key: str,
                                                   tmp_path: Path) -> None:
    from tests.inproc.test_dedupe import fresh_png

    folder = tmp_path / "again"
    folder.mkdir()
    for _ in range(3):
        fresh_png(folder)
    first = run("upload", str(folder), url=server.url, key=api_key)
    assert first.returncode == 0 and "3 of 3 uploaded" in first.stderr, first.stderr
    fresh_png(folder)
    again = run("upload", str(folder), url=server.url, key=api_key)
    assert again.returncode == 0, again.stderr
    assert "1 of 4 uploaded, skipped 3 already in the library" in again.stderr
    rows = json.loads(run("upload", str(folder), "--json", url=server.url, key=api_key).stdout)
    assert [r["skipped"] for r in rows] == [True] * 4 and all(r["asset"] for r in rows)
