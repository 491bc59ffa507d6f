"""Type and MIME detection, dimensions and duration of a media file (Pillow, PyAV). Path in, facts out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
from PIL import Image, ImageOps

from mediashelf.domain import AssetType


class MediaError(Exception):
    """A file we cannot accept; the message is shown to the user as the failure reason."""


@dataclass(slots=True)
class MediaInfo:
    type: AssetType
    mime_type: str
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None
    has_audio: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)


_IMAGE_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp",
               "BMP": "image/bmp", "TIFF": "image/tiff"}


def sniff(head: bytes) -> str | None:
    """A first guess of the family from magic bytes: 'image', 'video', 'audio' or None."""
    if head[:3] == b"\xff\xd8\xff" or head[:8] == b"\x89PNG\r\n\x1a\n" or head[:4] in (
            b"GIF8", b"II*\x00", b"MM\x00*") or head[:2] == b"BM" or (
            head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"
    if head[4:8] == b"ftyp":
        return "image" if head[8:12] in (b"heic", b"heix", b"avif", b"mif1", b"msf1") else "video"
    if head[:4] == b"\x1aE\xdf\xa3":
        return "video"
    if head[:3] == b"ID3" or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2") or head[:4] in (
            b"fLaC", b"OggS") or (head[:4] == b"RIFF" and head[8:12] == b"WAVE"):
        return "audio"
    return None


def _probe_image(path: Path) -> MediaInfo:
    with Image.open(path) as im:
        fmt = im.format or ""
        width, height = im.size
        orientation = im.getexif().get(0x0112, 1)
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        frames = getattr(im, "n_frames", 1)
        mime = Image.MIME.get(fmt) or _IMAGE_MIME.get(fmt, "application/octet-stream")
        im.verify() if fmt == "PNG" else ImageOps.exif_transpose(im).load()
    return MediaInfo(AssetType.IMAGE, mime, width, height,
                     extra={"format": fmt.lower(), "frames": frames})


def _probe_av(path: Path) -> MediaInfo:
    try:
        container = av.open(str(path))
    except av.FFmpegError as exc:
        raise MediaError("the file is not a readable image, video or audio file") from exc
    with container:
        video = next((s for s in container.streams.video
                      if not (s.disposition & av.stream.Disposition.attached_pic)), None)
        audio = container.streams.audio[0] if container.streams.audio else None
        duration = container.duration / 1_000_000 if container.duration else None
        fmt = container.format.name
        if video is not None:
            ctx = video.codec_context
            mime = "video/webm" if "webm" in fmt and fmt.startswith("matroska") else (
                "video/quicktime" if fmt.startswith("mov") and str(path).endswith(".mov")
                else "video/mp4" if fmt.startswith("mov") else "video/x-matroska"
                if fmt.startswith("matroska") else f"video/{fmt.split(',')[0]}")
            return MediaInfo(AssetType.VIDEO, mime, ctx.width, ctx.height,
                             int(duration * 1000) if duration else None, audio is not None,
                             extra={"container": fmt, "codec": ctx.name,
                                    "fps": float(video.average_rate) if video.average_rate else None,
                                    "bitRate": container.bit_rate})
        if audio is not None:
            mime = {"mp3": "audio/mpeg", "flac": "audio/flac", "ogg": "audio/ogg", "wav": "audio/wav"
                    }.get(fmt.split(",")[0], "audio/mp4" if fmt.startswith("mov") else f"audio/{fmt}")
            actx = audio.codec_context
            return MediaInfo(AssetType.AUDIO, mime, None, None,
                             int(duration * 1000) if duration else None, True,
                             extra={"codec": actx.name, "sampleRate": actx.sample_rate,
                                    "channels": actx.channels, "bitRate": container.bit_rate})
    raise MediaError("the file has no video or audio stream")


def inspect(path: Path) -> MediaInfo:
    """What the file really is, from its content; MediaError when it is none of our types."""
    with open(path, "rb") as fh:
        head = fh.read(64)
    if not head:
        raise MediaError("the file is empty")
    family = sniff(head)
    if family == "image":
        try:
            return _probe_image(path)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise MediaError("the image is corrupt or truncated") from exc
    return _probe_av(path)
