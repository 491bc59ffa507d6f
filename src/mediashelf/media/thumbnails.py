"""Thumbnails: an image's own picture, a video's poster frame, an audio file's waveform."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageOps

from mediashelf.domain import AssetType
from mediashelf.media.probe import MediaError, MediaInfo

THUMB_SIZE = 512


def _encode(im: Image.Image) -> bytes:
    im.thumbnail((THUMB_SIZE, THUMB_SIZE))
    if im.mode not in ("RGB", "RGBA"):
        im = im.convert("RGBA" if "A" in im.getbands() else "RGB")
    out = io.BytesIO()
    im.save(out, "WEBP", quality=80, method=4)
    return out.getvalue()


def image_thumbnail(path: Path) -> bytes:
    with Image.open(path) as im:
        im.draft("RGB", (THUMB_SIZE, THUMB_SIZE))
        return _encode(ImageOps.exif_transpose(im))


def video_poster(path: Path) -> bytes:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            return _encode(frame.to_image())
    raise MediaError("the video has no decodable frame")


def waveform(path: Path, width: int = THUMB_SIZE, height: int = 160) -> bytes:
    peaks = np.zeros(width)
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        chunks = [np.abs(f.to_ndarray()).max(axis=0) for f in container.decode(stream)]
    if not chunks:
        raise MediaError("the audio has no decodable samples")
    samples = np.concatenate(chunks).astype(np.float64)
    if samples.size:
        bins = np.array_split(samples, width)
        peaks = np.array([b.max() if b.size else 0.0 for b in bins])
        top = peaks.max() or 1.0
        peaks = peaks / top
    im = Image.new("RGB", (width, height), (24, 26, 33))
    draw = ImageDraw.Draw(im)
    mid = height / 2
    for x, p in enumerate(peaks):
        h = max(1.0, p * (height / 2 - 4))
        draw.line([(x, mid - h), (x, mid + h)], fill=(94, 168, 255))
    out = io.BytesIO()
    im.save(out, "WEBP", quality=85)
    return out.getvalue()


def make_thumbnail(path: Path, info: MediaInfo) -> bytes:
    if info.type is AssetType.IMAGE:
        return image_thumbnail(path)
    if info.type is AssetType.VIDEO:
        return video_poster(path)
    return waveform(path)
