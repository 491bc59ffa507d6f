"""Opening audio/video containers with PyAV, and naming them as users know them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import av
import mutagen.mp3
import mutagen.wave
from av.container import InputContainer

from mediashelf.media.base import MediaError

# FFmpeg guesses a format for almost any bytes (a text file is "tty"); only these are media to us.
ALLOWED = {"mov", "matroska", "avi", "mpegts", "mpeg", "flv", "ogg", "mp3", "wav", "flac", "aac",
           "aiff", "asf", "caf", "w64", "ac3", "eac3", "amr", "wv", "ape", "mpegvideo"}

NOT_MEDIA = "the file is not a readable image, video or audio file"


def open_container(path: Path, recognised: bool) -> InputContainer:
    """Open a container we accept; `recognised` says its magic bytes looked like audio or video."""
    try:
        container = av.open(str(path), metadata_errors="replace")
    except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError) as exc:
        reason = "the file is corrupt or truncated" if recognised else NOT_MEDIA
        raise MediaError(reason) from exc
    if short_format(container) not in ALLOWED:
        container.close()
        raise MediaError(NOT_MEDIA)
    return container


def short_format(container: InputContainer) -> str:
    """FFmpeg's demuxer name without its aliases: 'mov', 'matroska', 'ogg'…"""
    return str(container.format.name).split(",")[0]


def brand(head: bytes) -> bytes | None:
    """The ISO base media major brand ('isom', 'qt  ', 'M4A '…) when the file starts with ftyp."""
    return head[8:12] if head[4:8] == b"ftyp" else None


def is_webm(head: bytes) -> bool:
    """Matroska's EBML header names its doctype; WebM says so near the start."""
    return b"webm" in head[:64]


def container_name(container: InputContainer, head: bytes) -> str:
    """The container as users call it: mp4, mov, webm, mkv, avi, ogg…"""
    fmt = short_format(container)
    if fmt == "mov":
        major = brand(head)
        if major == b"qt  " or major is None:
            return "mov"
        if major is not None and major.startswith(b"3g"):
            return "3gp"
        return "m4a" if major in (b"M4A ", b"M4B ") else "mp4"
    if fmt == "matroska":
        return "webm" if is_webm(head) else "mkv"
    return fmt


def duration_seconds(container: InputContainer, stream: av.stream.Stream | None) -> float | None:
    """The container's duration, else the stream's; None when neither is known."""
    if container.duration and container.duration > 0:
        return container.duration / av.time_base
    if stream is not None and stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return None


# Formats whose length FFmpeg guesses from the bit rate and the file's size: no claim at all.
# MP3 and WAV say more in their headers, read below.
_GUESSED = {"aac", "ac3", "eac3", "amr", "mpegvideo"}
_RIFF_UNKNOWN = 0xFFFF_0000  # streaming writers put 0xFFFFFFFF for "size not known"


def claimed_seconds(path: Path, container: InputContainer,
                    stream: av.stream.Stream) -> float | None:
    """How long the file says the stream is (header, index), or None when it says nothing."""
    fmt = short_format(container)
    if fmt == "wav":  # FFmpeg sizes a WAV by the file, not by its header; the header is the claim
        return _wav_claim(path)
    if fmt in _GUESSED or (fmt == "mp3" and not _mp3_counts_frames(path)):
        return None
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return duration_seconds(container, None)


def _wav_claim(path: Path) -> float | None:
    try:
        info: Any = mutagen.wave.WAVE(path).info  # type: ignore[no-untyped-call]
    except Exception:  # any header mutagen cannot read makes no claim
        return None
    if info.length * info.bitrate / 8 >= _RIFF_UNKNOWN:
        return None
    return float(info.length)


def _mp3_counts_frames(path: Path) -> bool:
    """Whether the MP3 has a Xing, Info or VBRI header; without one, its length is a guess."""
    try:
        info: Any = mutagen.mp3.MP3(path).info  # type: ignore[no-untyped-call]
        return bool(info.bitrate_mode is not mutagen.mp3.BitrateMode.UNKNOWN)
    except Exception:
        return False


def packet_frames(container: InputContainer, stream: Any, max_bad: int,
                  on_bad: Callable[[], None] | None = None) -> Iterator[list[Any]]:
    """The decoded frames of each packet; packets that fail are skipped, up to max_bad of them.

    `on_bad` is called for each packet that fails.
    """
    bad = 0
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.FFmpegError:
            if on_bad is not None:
                on_bad()
            bad += 1
            if bad > max_bad:
                return
            continue
        yield frames
