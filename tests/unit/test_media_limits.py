"""The decoder pool under attack: bombs, memory, hangs, killed workers, recycling, many threads."""

from __future__ import annotations

import os
import signal
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from tests import media_corpus as corpus

from mediashelf.domain import AssetType
from mediashelf.media.analysis import Analyser
from mediashelf.media.base import MediaError


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.getbasetemp() / "media-corpus"
    corpus.build(directory)
    return directory


@pytest.fixture
def pool() -> Iterator[Analyser]:
    analyser = Analyser(processes=1, timeout=30, memory_mb=1536, tasks_per_process=10)
    yield analyser
    analyser.close()


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_png_bomb_fails_fast_and_small(pool: Analyser, corpus_dir: Path) -> None:
    pool.run(corpus_dir / "icon.bmp", None)  # start the worker first, so we time only the job
    started = time.monotonic()
    with pytest.raises(MediaError, match=r"too large"):
        pool.run(corpus_dir / "bomb.png", None)
    assert time.monotonic() - started < 2
    (pid,) = pool.worker_pids()
    assert peak_rss_mb(pid) < 300


def solid_png(path: Path, width: int, height: int) -> None:
    """A black RGB PNG, streamed so the test never holds the pixels."""
    packer = zlib.compressobj(9)
    row = bytes(1 + 3 * width)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body).to_bytes(4, "big")
        return len(body).to_bytes(4, "big") + kind + body + crc

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data)
                     + chunk(b"IEND", b""))


def test_memory_limit_fails_the_asset_not_the_pool(tmp_path: Path, corpus_dir: Path) -> None:
    big = tmp_path / "big.png"
    solid_png(big, 9000, 9000)  # within the pixel limit, but 243 MB once decoded
    analyser = Analyser(processes=1, timeout=30, memory_mb=400, tasks_per_process=10)
    try:
        with pytest.raises(MediaError, match=r"^the file needs more memory than allowed"):
            analyser.run(big, None)
        assert analyser.run(corpus_dir / "photo.jpg", None).info.width == 320
    finally:
        analyser.close()


def test_hang_times_out_and_pool_recovers(tmp_path: Path, corpus_dir: Path) -> None:
    stuck = tmp_path / "stuck.mp4"
    os.mkfifo(stuck)  # opening it blocks forever: a decoder that hangs
    analyser = Analyser(processes=1, timeout=1, memory_mb=1536, tasks_per_process=10)
    try:
        with pytest.raises(MediaError, match=r"^took longer than 1 s$"):
            analyser.run(stuck, None)
        assert analyser.run(corpus_dir / "photo.jpg", None).info.type is AssetType.IMAGE
    finally:
        analyser.close()


def test_killed_decoder_fails_the_asset_and_pool_recovers(
        pool: Analyser, tmp_path: Path, corpus_dir: Path) -> None:
    pool.run(corpus_dir / "photo.jpg", None)
    (pid,) = pool.worker_pids()
    stuck = tmp_path / "stuck.mov"
    os.mkfifo(stuck)
    with ThreadPoolExecutor(1) as threads:
        job = threads.submit(pool.run, stuck, None)
        time.sleep(0.5)  # the worker is now blocked inside the job
        assert not job.done()
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(MediaError, match=r"^the decoder crashed$"):
            job.result(timeout=10)
    result = pool.run(corpus_dir / "clip.mp4", None)
    assert result.info.type is AssetType.VIDEO
    assert pid not in pool.worker_pids()


def test_workers_are_replaced_after_n_jobs(corpus_dir: Path) -> None:
    analyser = Analyser(processes=1, timeout=30, memory_mb=1536, tasks_per_process=1)
    try:
        seen: set[int] = set()
        for _ in range(3):
            analyser.run(corpus_dir / "icon.bmp", None)
            # the pool replaces a spent worker in the background: on a busy machine the new
            # one may not be up yet when the job's result is back
            deadline = time.monotonic() + 15
            while not set(analyser.worker_pids()) - seen and time.monotonic() < deadline:
                time.sleep(0.05)
            seen.update(analyser.worker_pids())
        assert len(seen) >= 2
    finally:
        analyser.close()


def test_many_threads_share_the_pool(corpus_dir: Path) -> None:
    names = ["photo.jpg", "clip.mp4", "tone.flac", "photo.heic", "clip.webm", "bomb.png"] * 2
    analyser = Analyser(processes=2, timeout=30, memory_mb=1536, tasks_per_process=5)

    def one(name: str) -> str:
        try:
            return analyser.run(corpus_dir / name, None).info.type.value
        except MediaError as exc:
            return f"FAILED {exc}"

    try:
        with ThreadPoolExecutor(6) as threads:
            results = list(threads.map(one, names))
    finally:
        analyser.close()
    expected = ["IMAGE", "VIDEO", "AUDIO", "IMAGE", "VIDEO"]
    for name, got in zip(names, results, strict=True):
        if name == "bomb.png":
            assert got.startswith("FAILED") and "too large" in got
        else:
            assert got == expected[names.index(name) % 6]


def test_duration_and_frame_size_limits(corpus_dir: Path) -> None:
    analyser = Analyser(processes=1, timeout=30, memory_mb=1536, tasks_per_process=10,
                        max_pixels=50_000, max_duration=1.5)
    try:
        for name, reason in [("clip.mp4", "too large"), ("photo.jpg", "too large"),
                             ("tone.wav", "too long"), ("hevc.mkv", "too large")]:
            with pytest.raises(MediaError, match=reason):
                analyser.run(corpus_dir / name, None)
        assert analyser.run(corpus_dir / "icon.bmp", None).info.width == 64
    finally:
        analyser.close()
