"""Audio with PyAV: stream facts, a waveform picture (peaks over time) and the loudness in LUFS."""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np
from av.audio.frame import AudioFrame
from av.audio.stream import AudioStream
from av.container import InputContainer
from PIL import Image

from mediashelf.domain import AssetType
from mediashelf.media.base import Limits, MediaError, MediaInfo, check_duration
from mediashelf.media.containers import (
    container_name,
    duration_seconds,
    packet_frames,
)
from mediashelf.media.kinds import audio_mime

BLOCK = 128  # samples reduced to one peak while decoding, so memory stays small for long files
BATCH = 1 << 16  # samples gathered before one vectorised reduction
MAX_BAD_PACKETS = 64
BACKGROUND = (24, 26, 33)
PEAK_COLOUR = (70, 120, 190)
RMS_COLOUR = (120, 190, 255)


@dataclass(slots=True)
class Sound:
    peaks: np.ndarray  # one peak (0..1) per BLOCK samples, mono
    power: np.ndarray  # mean square per block
    seconds: float
    loudness: float | None  # integrated loudness, LUFS
    broken: float | None = None  # seconds decoded when a packet first failed after sound began


def audio_info(container: InputContainer, stream: AudioStream, head: bytes,
               limits: Limits) -> MediaInfo:
    """Codec, sample rate, channels, bit rate, duration; refuses a file over the duration limit."""
    ctx = stream.codec_context
    seconds = duration_seconds(container, stream)
    check_duration(seconds, limits, "audio")
    name = container_name(container, head)
    extra: dict[str, object] = {"container": name, "codec": ctx.codec.canonical_name,
                                "sampleRate": ctx.sample_rate or None,
                                "channels": stream.layout.nb_channels if stream.layout else None,
                                "bitRate": container.bit_rate or ctx.bit_rate or None}
    return MediaInfo(AssetType.AUDIO, audio_mime(name), None, None,
                     int(seconds * 1000) if seconds else None, True, extra=extra)


def listen(container: InputContainer, stream: AudioStream, limits: Limits) -> Sound:
    """Decode the stream once: block peaks and power for the waveform, EBU R128 loudness."""
    resampler = av.AudioResampler(format="flt", layout="mono")
    meter = _Meter(stream)
    peaks: list[np.ndarray] = []
    power: list[np.ndarray] = []
    pending: list[np.ndarray] = []
    held = total = 0
    rate = stream.codec_context.sample_rate or 48000
    cap = int(limits.max_duration * rate)
    broken: list[float] = []

    def bad() -> None:
        if total + held and not broken:  # failures before any sound are a stream's lead-in
            broken.append((total + held) / rate)

    for frames in packet_frames(container, stream, MAX_BAD_PACKETS, bad):
        for frame in frames:
            if not isinstance(frame, AudioFrame):
                continue
            meter.push(frame)
            for mono in resampler.resample(frame):
                samples = mono.to_ndarray().reshape(-1)
                pending.append(samples)
                held += samples.size
        if held >= BATCH:
            _reduce(pending, peaks, power)
            total += held
            pending, held = [], 0
        if total > cap:
            raise MediaError(f"the audio is too long (the limit is {limits.max_duration:g} s)")
    for mono in resampler.resample(None):
        pending.append(mono.to_ndarray().reshape(-1))
        held += pending[-1].size
    _reduce(pending, peaks, power)
    total += held
    if total == 0:
        raise MediaError("the audio has no decodable samples")
    return Sound(np.concatenate(peaks), np.concatenate(power), total / rate, meter.result(),
                 broken[0] if broken else None)


def _reduce(pending: list[np.ndarray], peaks: list[np.ndarray], power: list[np.ndarray]) -> None:
    if not pending:
        return
    samples = np.concatenate(pending)
    starts = np.arange(0, samples.size, BLOCK)
    peaks.append(np.maximum.reduceat(np.abs(samples), starts))
    counts = np.diff(np.append(starts, samples.size))
    power.append((np.add.reduceat(samples.astype(np.float64) ** 2, starts) / counts)
                 .astype(np.float32))


class _Meter:
    """FFmpeg's ebur128 filter; loudness is a nicety, so any trouble just leaves it unknown."""

    def __init__(self, stream: AudioStream) -> None:
        self.value: float | None = None
        try:
            self.graph: av.filter.Graph | None = av.filter.Graph()
            source = self.graph.add_abuffer(template=stream)
            ebur = self.graph.add("ebur128", "metadata=1")
            sink = self.graph.add("abuffersink")
            source.link_to(ebur)
            ebur.link_to(sink)
            self.graph.configure()
        except (av.FFmpegError, ValueError, TypeError):
            self.graph = None

    def push(self, frame: AudioFrame | None) -> None:
        if self.graph is None:
            return
        try:
            self.graph.push(frame)
            while True:
                out = self.graph.pull()
                value = out.metadata.get("lavfi.r128.I")
                if value is not None:
                    self.value = float(value)
        except (av.BlockingIOError, av.EOFError):
            pass
        except (av.FFmpegError, ValueError):
            self.graph = None  # e.g. the stream changed format midway

    def result(self) -> float | None:
        self.push(None)
        if self.value is None or not np.isfinite(self.value) or self.value < -70:
            return None
        return round(self.value, 1)


def waveform_image(sound: Sound, width: int, height: int) -> Image.Image:
    """Peaks over time as mirrored bars, with the RMS level drawn brighter inside them."""
    # Each column takes the blocks of its time span; a short file has fewer blocks than columns,
    # and reduceat then repeats the block under the column instead of leaving a gap.
    count = sound.peaks.size
    starts = np.minimum((np.arange(width) * count) // width, count - 1)
    peak = np.maximum.reduceat(sound.peaks, starts).astype(np.float64)
    spans = np.maximum(np.diff(np.append(starts, count)), 1)
    rms = np.sqrt(np.add.reduceat(sound.power, starts).astype(np.float64) / spans)
    top = float(peak.max())
    if top > 0:
        peak, rms = peak / top, rms / top
    half = height / 2 - 2
    offset = np.abs(np.arange(height) - (height - 1) / 2)[:, None]
    pixels = np.empty((height, width, 3), np.uint8)
    pixels[:] = BACKGROUND
    pixels[offset <= np.maximum(peak * half, 0.5)[None, :]] = PEAK_COLOUR
    pixels[offset <= (np.minimum(rms, peak) * half)[None, :]] = RMS_COLOUR
    return Image.fromarray(pixels, "RGB")
