"""Ingest benchmarks: thumbnails against the bare library calls, worker scaling, a 1 GB upload."""

from __future__ import annotations

import io
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image

from mediashelf.domain import AssetType
from mediashelf.media.analysis import Analyser, analyse
from mediashelf.media.thumbnails import THUMB_SIZE


def _paired_medians(ours: Callable[[], Any], base: Callable[[], Any], repeat: int
                    ) -> tuple[float, float]:
    """Median seconds of each, timed in turns (ours, base, ours, ...) so that a burst of outside
    load on the shared machine falls on both sides alike."""
    ours(), base()  # warm: imports, codec tables, page cache
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for side, fn in enumerate((ours, base)):
            t = time.perf_counter()
            fn()
            times[side].append(time.perf_counter() - t)
    return statistics.median(times[0]), statistics.median(times[1])


def make_image(path: Path, size: tuple[int, int] = (4000, 3000)) -> Path:
    """A 12-megapixel JPEG photo-like picture (smooth gradients plus noise)."""
    rnd = np.random.default_rng(1)
    w, h = size
    x = np.linspace(0, 255, w, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None]
    rgb = np.stack([x + 0 * y, y + 0 * x, (x + y) / 2], axis=-1)
    rgb += rnd.normal(0, 12, rgb.shape).astype(np.float32)
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(path, quality=90)
    return path


def make_video(path: Path, seconds: int = 20, size: tuple[int, int] = (1920, 1080)) -> Path:
    """An H.264 MP4, 1080p at 30 fps, a keyframe every 2 s (as cameras and encoders write)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "g": "60"}
        rnd = np.random.default_rng(2)
        base = rnd.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
        for i in range(seconds * 30):
            frame = av.VideoFrame.from_ndarray(np.roll(base, i * 4, axis=1), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def bare_image(path: Path) -> bytes:
    """The baseline: Pillow open, thumbnail (which decodes a JPEG at a reduced scale, keeping
    twice the box: Pillow's default reducing_gap), save."""
    with Image.open(path) as im:
        im.thumbnail((THUMB_SIZE, THUMB_SIZE))
        im = im.convert("RGB")
        buf = io.BytesIO()
        im.save(buf, "WEBP", quality=80, method=2)
        return buf.getvalue()


def bare_video(path: Path) -> bytes:
    """The baseline: PyAV open, seek, decode one frame, then the same thumbnail and save."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        duration = float(container.duration or 0) / 1_000_000
        container.seek(int(duration * 0.25 * 1_000_000))
        frame = next(container.decode(stream))
        im = frame.to_image()
    im.thumbnail((THUMB_SIZE, THUMB_SIZE))
    buf = io.BytesIO()
    im.save(buf, "WEBP", quality=80, method=2)
    return buf.getvalue()


def media_cases(work: Path, repeat: int = 11) -> dict[str, Any]:
    image = make_image(work / "photo.jpg")
    video = make_video(work / "clip.mp4")
    out: dict[str, Any] = {}
    for name, path, kind, bare in (("image", image, AssetType.IMAGE, bare_image),
                                   ("video", video, AssetType.VIDEO, bare_video)):
        ours, base = _paired_medians(lambda p=path, k=kind: analyse(p, k),  # type: ignore[misc]
                                     lambda p=path, b=bare: b(p), repeat)  # type: ignore[misc]
        out[name] = {"file": path.name, "bytes": path.stat().st_size, "ours_s": ours,
                     "baseline_s": base, "ratio": ours / base}
    out["throughput"] = _throughput(image, video)
    return out


def _throughput(image: Path, video: Path, jobs: int = 48, rounds: int = 3) -> dict[str, Any]:
    """Files processed per second through the decoder pool, with 1 and with 2 processes (the
    best of a few rounds each, alternating, so a burst of outside load does not decide it)."""
    files = [(image, AssetType.IMAGE) if i % 2 else (video, AssetType.VIDEO) for i in range(jobs)]
    result: dict[str, Any] = {"jobs": jobs, "rounds": rounds}
    pools = {n: Analyser(n, 120, 1536, 1000) for n in (1, 2)}
    try:
        for n, pool in pools.items():  # every process started and warm (imports, codec tables)
            with ThreadPoolExecutor(n * 2) as threads:
                list(threads.map(lambda f, p=pool: p.run(*f), files[:n * 4]))  # type: ignore[misc]
        rates: dict[int, list[float]] = {1: [], 2: []}
        for _ in range(rounds):
            for n, pool in pools.items():
                with ThreadPoolExecutor(n * 2) as threads:
                    t = time.perf_counter()
                    list(threads.map(lambda f, p=pool: p.run(*f), files))  # type: ignore[misc]
                    rates[n].append(jobs / (time.perf_counter() - t))
    finally:
        for pool in pools.values():
            pool.close()
    result.update(p1_per_s=max(rates[1]), p2_per_s=max(rates[2]), p1_rounds=rates[1],
                  p2_rounds=rates[2])
    result["ratio"] = result["p2_per_s"] / result["p1_per_s"]
    return result


def _rss_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def upload_case(work: Path, start_server: Callable[..., Any], size: int = 1 << 30,
                rounds: int = 3) -> dict[str, Any]:
    """A 1 GiB multipart upload with curl, against copying the file on the same disk (fsynced,
    as the server's storage does), in alternating rounds (the median of each: the disk's mood
    varies by the minute); and the server's peak memory growth meanwhile."""
    src = work / "big.bin"
    if not src.exists() or src.stat().st_size != size:
        with open(src, "wb") as fh:
            block = os.urandom(1 << 20)
            for _ in range(size >> 20):
                fh.write(block)
    subprocess.run(["sync"], check=False)
    server = start_server()
    copies: list[float] = []
    uploads: list[float] = []
    statuses: list[str] = []
    try:
        pid = server.pid
        before = _rss_kb(pid, "VmRSS")
        for r in range(rounds):
            for step in ("copy", "upload") if r % 2 == 0 else ("upload", "copy"):
                if step == "copy":
                    copies.append(_copy(src, work / "big.copy"))
                    continue
                t = time.perf_counter()
                res = subprocess.run(
                    ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                     f"x-api-key: {server.key}", "-F", f"file=@{src};type=video/mp4", "-F",
                     "type=VIDEO", "-F", f"name=big-{r}", "-F", "dedupe=false",  # keep each
                     f"{server.url}/v1/assets"],
                    capture_output=True, text=True)
                uploads.append(time.perf_counter() - t)
                statuses.append(res.stdout.strip())
        peak = _rss_kb(pid, "VmHWM")
    finally:
        server.stop()
    copy_s, upload_s = sorted(copies)[len(copies) // 2], sorted(uploads)[len(uploads) // 2]
    return {"bytes": size, "status": ",".join(sorted(set(statuses))), "copy_s": copy_s,
            "upload_s": upload_s, "copy_rounds_s": [round(c, 2) for c in copies],
            "upload_rounds_s": [round(u, 2) for u in uploads],
            "copy_mb_s": size / copy_s / 1e6, "upload_mb_s": size / upload_s / 1e6,
            "ratio": copy_s / upload_s, "rss_before_mb": before / 1024,
            "rss_growth_mb": (peak - before) / 1024}


def _copy(src: Path, dst: Path) -> float:
    """Seconds to copy src to dst and fsync it (dst removed after)."""
    t = time.perf_counter()
    with open(src, "rb") as a, open(dst, "wb") as b:
        shutil.copyfileobj(a, b, 1 << 20)
        b.flush()
        os.fsync(b.fileno())
    spent = time.perf_counter() - t
    dst.unlink()
    return spent


if __name__ == "__main__":
    print(media_cases(Path(sys.argv[1])))
