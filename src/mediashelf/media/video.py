"""Video with PyAV: stream facts, and a representative poster frame turned as it is displayed."""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np
from av.container import InputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
from PIL import Image

from mediashelf.domain import AssetType
from mediashelf.media.base import Limits, MediaError, MediaInfo, check_duration, check_pixels
from mediashelf.media.containers import (
    container_name,
    duration_seconds,
    packet_frames,
)
from mediashelf.media.kinds import video_mime

# Where to look for a poster, as fractions of the clip: the start first, then its first half.
SAMPLES = (0.0, 0.1, 0.2, 0.3, 0.5)
# After a seek lands on a keyframe, decode at most this many frames forward towards the target.
MAX_FORWARD = 48
MAX_BAD_PACKETS = 32
# A frame darker than this mean, or flatter than this spread (0-255 grey), is no poster.
DARK_MEAN = 24.0
FLAT_STD = 6.0


@dataclass(slots=True)
class Poster:
    image: Image.Image
    rotation: int  # degrees counter-clockwise that turn the stored frame upright: 0, 90, 180, 270


def video_stream(container: InputContainer) -> VideoStream | None:
    """The first real video stream; cover art inside audio files does not count."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def video_info(container: InputContainer, stream: VideoStream, head: bytes,
               limits: Limits) -> MediaInfo:
    """Container, codec, size, duration, frame rate, bit rate; refuses what is over the limits."""
    ctx = stream.codec_context
    width, height = _display_size(stream)
    check_pixels(ctx.width, ctx.height, limits, "video frame")
    seconds = duration_seconds(container, stream)
    check_duration(seconds, limits, "video")
    name = container_name(container, head)
    rate = stream.average_rate or stream.guessed_rate
    audio = container.streams.audio[0] if container.streams.audio else None
    extra: dict[str, object] = {"container": name, "codec": ctx.codec.canonical_name,
                                "fps": round(float(rate), 3) if rate else None,
                                "bitRate": container.bit_rate or None}
    if stream.frames:
        extra["frames"] = stream.frames
    if audio is not None:
        extra["audioCodec"] = audio.codec_context.codec.canonical_name
    return MediaInfo(AssetType.VIDEO, video_mime(name), width, height,
                     int(seconds * 1000) if seconds else None, audio is not None, extra=extra)


def _display_size(stream: VideoStream) -> tuple[int, int]:
    """Stored size with non-square pixels (anamorphic video) stretched as players do."""
    width, height = stream.codec_context.width, stream.codec_context.height
    sar = stream.sample_aspect_ratio
    if sar and sar.numerator > 0 and sar.denominator > 0 and sar != 1:
        width = max(1, round(width * sar.numerator / sar.denominator))
    return width, height


def apply_rotation(info: MediaInfo, rotation: int) -> None:
    """Swap the reported size for quarter turns, so it is the size users see."""
    if rotation in (90, 270) and info.width and info.height:
        info.width, info.height = info.height, info.width
    if rotation:
        info.extra["rotation"] = rotation


def poster(container: InputContainer, stream: VideoStream, duration: float | None,
           box: int) -> Poster:
    """The first sampled frame that is neither black nor blank, else the liveliest one seen."""
    # One decoder process is one core's work: the pool scales by processes. FFmpeg's own threads
    # (one per core by default) would crowd the other processes and grow each one's memory with
    # the host's core count, against the fixed per-process memory cap.
    stream.codec_context.thread_count = 1
    size = _fit(_display_size(stream), box)
    best: tuple[float, VideoFrame, np.ndarray] | None = None
    times = [0.0] if not duration else [duration * f for f in SAMPLES]
    for target in times:
        frame = _frame_at(container, stream, target)
        if frame is None:
            continue
        # Scale once to the poster size; judge darkness and flatness on that same picture.
        rgb = frame.reformat(width=size[0], height=size[1], format="rgb24",
                             interpolation="AREA").to_ndarray()
        grey = rgb[::4, ::4].mean(axis=2)
        mean, spread = float(grey.mean()), float(grey.std())
        if mean >= DARK_MEAN and spread >= FLAT_STD:
            best = (float("inf"), frame, rgb)
            break
        score = spread + mean / 8
        if best is None or score > best[0]:
            best = (score, frame, rgb)
    if best is None:
        raise MediaError("the video has no decodable frame")
    _, frame, rgb = best
    image = Image.fromarray(rgb, "RGB")
    rotation = _rotation(frame)
    if rotation:
        image = image.transpose({90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180,
                                 270: Image.Transpose.ROTATE_270}[rotation])
    return Poster(image, rotation)


def _rotation(frame: VideoFrame) -> int:
    """The display matrix's counter-clockwise turn, snapped to a quarter turn."""
    try:
        degrees = float(frame.rotation or 0)
    except (TypeError, ValueError):
        return 0
    return round(degrees / 90.0) % 4 * 90


def _fit(size: tuple[int, int], box: int) -> tuple[int, int]:
    width, height = size
    scale = min(1.0, box / max(width, height))
    # Even sizes keep swscale's chroma handling simple.
    return max(2, round(width * scale) // 2 * 2), max(2, round(height * scale) // 2 * 2)


def _frame_at(container: InputContainer, stream: VideoStream, target: float) -> VideoFrame | None:
    """Seek to the keyframe before `target` and decode forward a little towards it."""
    if target > 0 and stream.time_base:
        try:
            container.seek(int(target / stream.time_base) + (stream.start_time or 0),
                           stream=stream, backward=True, any_frame=False)
        except av.FFmpegError:
            return None
    last: VideoFrame | None = None
    decoded = 0
    for frames in packet_frames(container, stream, MAX_BAD_PACKETS):
        for frame in frames:
            if not isinstance(frame, VideoFrame):
                continue
            last = frame
            decoded += 1
            if frame.time is None or frame.time >= target - 0.02 or decoded >= MAX_FORWARD:
                return frame
    return last
