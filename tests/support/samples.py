"""Tiny real media files made on the fly with Pillow and PyAV."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image


def png(path: Path, size: tuple[int, int] = (64, 48), color: tuple[int, int, int] = (200, 40, 40)
        ) -> Path:
    Image.new("RGB", size, color).save(path, "PNG")
    return path


def jpeg(path: Path, size: tuple[int, int] = (80, 60)) -> Path:
    im = Image.linear_gradient("L").resize(size).convert("RGB")
    im.save(path, "JPEG", quality=85)
    return path


def mp4(path: Path, size: tuple[int, int] = (64, 48), seconds: float = 1.0, fps: int = 10
        ) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(int(seconds * fps)):
            arr = np.full((size[1], size[0], 3), (i * 20) % 255, dtype=np.uint8)
            arr[:, : size[0] // 2, 0] = 220
            frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def mp3(path: Path, seconds: float = 1.0, rate: int = 44100) -> Path:
    with av.open(str(path), "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=rate, layout="mono")
        t = np.arange(int(seconds * rate)) / rate
        samples = (0.4 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        step = 1152
        for start in range(0, samples.size, step):
            chunk = samples[start:start + step].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            frame.time_base = Fraction(1, rate)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def png_bytes(size: tuple[int, int] = (32, 32)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buf, "PNG")
    return buf.getvalue()
