"""Every corpus file uploaded to the real server: final status, true metadata, upright thumbnail."""

from __future__ import annotations

import io
import os
import signal
import time
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from tests import media_corpus as corpus
from tests.support.server import Server, upload, wait_for

CASES = [case for case, _ in corpus.cases()]


@pytest.fixture(scope="module")
def outcomes(server: Server, corpus_dir: Path,
             tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Upload the whole corpus at once, then wait for each asset; thumbnails saved for a look."""
    key = server.new_key("media-e2e")
    thumbs = tmp_path_factory.getbasetemp() / "media-e2e-thumbnails"
    thumbs.mkdir(exist_ok=True)
    results: dict[str, Any] = {}
    with server.client(key) as client:
        pending = {}
        for case in CASES:
            fields = {"name": case.name}
            if case.declared:
                fields["type"] = case.declared
            if case.name == "empty.png":
                with open(corpus_dir / case.name, "rb") as fh:
                    res = client.post("/v1/assets", files={"file": (case.name, fh)}, data=fields)
                results[case.name] = res
                continue
            pending[case.name] = upload(client, corpus_dir / case.name, **fields)["id"]
        for name, asset_id in pending.items():
            body = wait_for(client, asset_id, timeout=60)
            thumb = httpx.get(body["thumbnailUrl"]).content if body["thumbnailUrl"] else None
            if thumb:
                (thumbs / f"{name}.webp").write_bytes(thumb)
            results[name] = (body, thumb)
    return results


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_uploaded_file(case: Any, outcomes: dict[str, Any], corpus_dir: Path) -> None:
    if case.name == "empty.png":
        res = outcomes[case.name]
        assert res.status_code == 400 and "empty" in res.json()["message"]
        return
    body, thumb = outcomes[case.name]
    assert body["status"] == case.status, body
    assert body["sizeBytes"] == (corpus_dir / case.name).stat().st_size
    if case.status == "FAILED":
        assert case.reason in body["failureReason"]
        assert body["thumbnailUrl"] is None and body["fileUrl"] is None
        return
    assert body["failureReason"] is None
    assert body["type"] == case.type and body["mimeType"] == case.mime
    assert (body["width"], body["height"]) == (case.width, case.height)
    if case.duration_ms is not None:
        assert abs(body["durationMs"] - case.duration_ms) <= 0.1 * case.duration_ms
    if case.has_audio is not None:
        assert body["hasAudio"] is case.has_audio
    for key, value in case.extra.items():
        assert body["metadata"].get(key) == value, key
    assert thumb is not None
    if case.type == "AUDIO":
        wave = Image.open(io.BytesIO(thumb))
        assert wave.format == "WEBP" and wave.width == 512
        assert body["blurhash"] is None
    else:
        corpus.check_thumbnail(case, thumb, "image/webp")
        assert body["blurhash"]


def slow_png(path: Path) -> None:
    """A 10000x10000 black PNG of 300 KB: legal, but a second of decoding."""
    packer = zlib.compressobj(9)
    row = bytes(1 + 3 * 10000)
    data = b"".join(packer.compress(row) for _ in range(10000)) + packer.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body).to_bytes(4, "big")
        return len(body).to_bytes(4, "big") + kind + body + crc

    header = (10000).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data)
                     + chunk(b"IEND", b""))


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def decoder_workers(server_pid: int) -> list[int]:
    """The pool's workers: children of the forkserver the server started."""
    for child in children(server_pid):
        cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        if b"forkserver" in cmdline:
            return children(child)
    return []


def test_killed_decoder_fails_the_asset_and_the_server_lives_on(
        make_server: Any, corpus_dir: Path, tmp_path: Path) -> None:
    srv = make_server({"MEDIASHELF_MEDIA_PROCESSES": "1"})
    assert srv.proc is not None
    big = tmp_path / "slow.png"
    slow_png(big)
    with srv.client(srv.new_key("media-kill")) as client:
        warm = upload(client, corpus_dir / "icon.bmp")
        assert wait_for(client, warm["id"])["status"] == "READY"
        (worker,) = decoder_workers(srv.proc.pid)
        idle = cpu_ticks(worker)
        asset = upload(client, big)
        deadline = time.monotonic() + 20
        while cpu_ticks(worker) <= idle + 10:  # 0.1 s of decoding: the job is under way
            assert time.monotonic() < deadline, "the decoder never started"
            time.sleep(0.02)
        os.kill(worker, signal.SIGKILL)
        body = wait_for(client, asset["id"])
        assert body["status"] == "FAILED"
        assert body["failureReason"] == "the decoder crashed"
        assert client.get("/healthz").status_code == 200
        after = upload(client, corpus_dir / "photo.jpg")
        assert wait_for(client, after["id"])["status"] == "READY"
        assert worker not in decoder_workers(srv.proc.pid)


def test_a_long_tmpdir_still_processes(make_server: Any, corpus_dir: Path,
                                       tmp_path: Path) -> None:
    # The forkserver's socket once sat under TMPDIR: past AF_UNIX's 108 bytes no decoder
    # process started and every asset ended FAILED after its retries.
    scratch = tmp_path / ("scratch-" + "t" * 90)
    scratch.mkdir()
    srv = make_server({"TMPDIR": str(scratch), "MEDIASHELF_MEDIA_PROCESSES": "1"})
    with srv.client(srv.new_key("long-tmpdir")) as client:
        asset = upload(client, corpus_dir / "photo.jpg")
        body = wait_for(client, asset["id"], timeout=60)
        assert body["status"] == "READY", body["failureReason"]
        assert body["width"] and body["thumbnailUrl"]
