"""Damaged media and honest odd media, made with PyAV and numpy, for "READY means usable".

Every damage is placed by time: the intact file is demuxed to find the byte where the packet at
that time starts, so a case says which second the damage starts in. Damage starts half way into
a second (x.5 s), so the reason's m:ss does not hang on a frame or two.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from tests.media_corpus import _add_audio, _audio_stream, scene

Writer = Callable[[Path], None]
SIZE = (160, 120)
FPS = 25
SECONDS = 6.4  # 160 frames: long enough for three distinct points, short enough to be quick


@dataclass(frozen=True)
class Damage:
    name: str
    write: Writer
    reason: str | None  # None: READY; else the exact failure reason
    duration_ms: int | None = None  # expected when READY, within 5 %


def clip(fmt: str = "mp4", seconds: float = SECONDS, *, codec: str = "libx264",
         audio: str | None = "aac", gop: int = FPS, fps: int = FPS,
         times: Callable[[int], int] | None = None, muxer: dict[str, str] | None = None,
         encoder: dict[str, str] | None = None) -> Writer:
    """A small video; `times(i)` gives frame i's pts in 1/(fps*4) s for variable frame rates."""
    def write(path: Path) -> None:
        count = max(1, round(seconds * fps))
        pictures = [scene(*SIZE, shift) for shift in range(0, 64, 4)]  # reused: quick to make
        options = {"movflags": "+faststart"} if fmt in ("mp4", "mov", "ipod") else {}
        with av.open(str(path), "w", format=fmt, options={**options, **(muxer or {})}) as out:
            stream = out.add_stream(codec, rate=fps)
            stream.width, stream.height = SIZE
            stream.pix_fmt = "yuv420p"
            stream.options = {"g": str(gop), **(encoder or {})}
            if times is not None:
                stream.codec_context.time_base = Fraction(1, fps * 4)
            sound = _audio_stream(out, audio) if audio else None
            for i in range(count):
                frame = av.VideoFrame.from_ndarray(pictures[i % len(pictures)], format="rgb24")
                frame.pts, frame.time_base = (times(i), Fraction(1, fps * 4)) if times else (
                    i, Fraction(1, fps))
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
            if sound is not None:
                _add_audio(out, sound, count / fps)
    return write


def once(writer: Writer) -> Writer:
    """The same writer, encoding only the first time: the damaged variants share their source."""
    made: list[bytes] = []

    def write(path: Path) -> None:
        if not made:
            writer(path)
            made.append(path.read_bytes())
        path.write_bytes(made[0])
    return write


def tone(fmt: str, codec: str, seconds: float = 6.5, rate: int = 44100,
         muxer: dict[str, str] | None = None) -> Writer:
    def write(path: Path) -> None:
        with av.open(str(path), "w", format=fmt, options=muxer or {}) as out:
            _add_audio(out, _audio_stream(out, codec, rate), seconds)
    return write


def packet_offsets(path: Path, kind: str = "video") -> list[tuple[float, int]]:
    """(time, byte offset) of each packet of the file's first `kind` stream, in file order."""
    with av.open(str(path)) as container:
        stream = next(s for s in container.streams if s.type == kind)
        found = [(float(p.pts * p.time_base), p.pos) for p in container.demux(stream)
                 if p.pts is not None and p.pos is not None and p.pos >= 0]
    return sorted(found, key=lambda item: item[1])


def offset_at(path: Path, seconds: float, kind: str = "video") -> int:
    """The byte where the first packet at or after `seconds` starts."""
    return min(pos for t, pos in packet_offsets(path, kind) if t >= seconds)


def cut(source: Writer, seconds: float, kind: str = "video") -> Writer:
    """The file ends where the packet at `seconds` begins, as an interrupted copy would."""
    def write(path: Path) -> None:
        source(path)
        data = path.read_bytes()
        path.write_bytes(data[:offset_at(path, seconds, kind)])
    return write


def cut_bytes(source: Writer, seconds: float, bytes_per_second: int, header: int) -> Writer:
    """Truncate a constant-rate file (WAV) after `seconds` of its data."""
    def write(path: Path) -> None:
        source(path)
        path.write_bytes(path.read_bytes()[:header + int(seconds * bytes_per_second)])
    return write


def zeroed(source: Writer, start: float, end: float) -> Writer:
    """Zero the bytes of the media data from the packet at `start` to the one at `end`."""
    def write(path: Path) -> None:
        source(path)
        data = bytearray(path.read_bytes())
        first, last = offset_at(path, start), offset_at(path, end)
        data[first:last] = bytes(last - first)
        path.write_bytes(bytes(data))
    return write


def _boxes(data: bytes | bytearray, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, body start, end) of each ISO BMFF box between two offsets."""
    at = start
    while at + 8 <= end:
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        body = at + 8
        if size == 1:
            size, body = struct.unpack(">Q", data[at + 8:at + 16])[0], at + 16
        elif size == 0:
            size = end - at
        yield kind, body, at + size
        at += size


def _box(data: bytes | bytearray, path: list[bytes], start: int, end: int) -> tuple[int, int]:
    for kind, body, stop in _boxes(data, start, end):
        if kind == path[0]:
            return (body, stop) if len(path) == 1 else _box(data, path[1:], body, stop)
    raise LookupError(path)


def video_chunk_table(data: bytes | bytearray) -> int:
    """Body offset of the video track's stco (chunk offsets) box."""
    moov = _box(data, [b"moov"], 0, len(data))
    for kind, body, stop in _boxes(data, *moov):
        if kind != b"trak":
            continue
        handler = _box(data, [b"mdia", b"hdlr"], body, stop)[0]
        if data[handler + 8:handler + 12] == b"vide":
            return _box(data, [b"mdia", b"minf", b"stbl", b"stco"], body, stop)[0]
    raise LookupError("no video track")


def bad_index(source: Writer, seconds: float, past_end: bool) -> Writer:
    """Video chunks from `seconds` on point at the wrong bytes (elsewhere, or past the end)."""
    def write(path: Path) -> None:
        source(path)
        data = bytearray(path.read_bytes())
        starts = {pos for t, pos in packet_offsets(path) if t >= seconds}
        table = video_chunk_table(data)
        (count,) = struct.unpack(">I", data[table + 4:table + 8])
        for i in range(count):
            at = table + 8 + 4 * i
            (offset,) = struct.unpack(">I", data[at:at + 4])
            if offset in starts:
                struct.pack_into(">I", data, at, len(data) + 4096 if past_end else offset + 777)
        path.write_bytes(bytes(data))
    return write


def wav_claiming(source: Writer, data_bytes: int) -> Writer:
    """A WAV whose header gives its data chunk `data_bytes` bytes (0xFFFFFFFF: not known)."""
    def write(path: Path) -> None:
        source(path)
        data = bytearray(path.read_bytes())
        at = data.index(b"data") + 4
        struct.pack_into("<I", data, at, data_bytes)
        path.write_bytes(bytes(data))
    return write


def mkv_claiming(source: Writer, factor: float) -> Writer:
    """A Matroska file whose Segment says it lasts `factor` times longer than it does."""
    def write(path: Path) -> None:
        source(path)
        data = bytearray(path.read_bytes())
        at = data.index(b"\x44\x89\x88") + 3  # Duration, an 8-byte float
        (value,) = struct.unpack(">d", data[at:at + 8])
        struct.pack_into(">d", data, at, value * factor)
        path.write_bytes(bytes(data))
    return write


def _vfr(i: int) -> int:
    """Frame times in quarter frames: bursts of fast frames, then slow ones, irregularly."""
    return int(sum((1, 2, 4, 7)[k % 4] for k in range(i)))


def long_video(path: Path, minutes: float = 10.0) -> None:
    """A long, small video for the cost of the check: 10 minutes at 128x72, 10 fps."""
    fps, count = 10, int(minutes * 60 * 10)
    frames = [av.VideoFrame.from_ndarray(scene(128, 72, shift), format="rgb24")
              for shift in range(0, 64, 4)]
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 128, 72, "yuv420p"
        stream.options = {"g": "50", "preset": "ultrafast"}
        for i in range(count):
            frame = frames[i % len(frames)]
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def cases() -> list[Damage]:
    """Every damaged file with its reason, and every honest odd file that must stay READY."""
    mp4 = once(clip())
    mp3 = once(tone("mp3", "libmp3lame"))
    wav = once(tone("wav", "pcm_s16le"))
    video_after = "the video is damaged after 0:0{}".format
    audio_after = "the audio is damaged after 0:0{}".format
    webm = {"deadline": "realtime", "cpu-used": "8"}
    return [
        # Damaged: FAILED, naming the second the damage starts in.
        Damage("cut-in-half.mp4", cut(mp4, 3.5), video_after(3)),
        Damage("index-to-garbage.mp4", bad_index(mp4, 2.5, past_end=False), video_after(2)),
        Damage("index-past-end.mp4", bad_index(mp4, 2.5, past_end=True), video_after(2)),
        Damage("zeroed-middle.mp4", zeroed(mp4, 2.5, 4.0), video_after(2)),
        Damage("zeroed-start.mp4", zeroed(mp4, 0.0, 0.5), video_after(0)),
        Damage("cut.mkv", cut(clip("matroska"), 4.5), video_after(4)),
        Damage("cut.webm", cut(clip("webm", codec="libvpx-vp9", audio="libopus",
                                    encoder=webm), 3.5), video_after(3)),
        Damage("claims-ten-times.mkv", mkv_claiming(clip("matroska"), 10), video_after(6)),
        Damage("cut.mp3", cut(mp3, 3.5, "audio"), audio_after(3)),
        Damage("cut.wav", cut_bytes(wav, 3.5, 44100 * 4, 44), audio_after(3)),
        Damage("cut.flac", cut(tone("flac", "flac"), 3.5, "audio"), audio_after(3)),
        Damage("cut.m4a", cut(tone("ipod", "aac", muxer={"movflags": "+faststart"}), 3.5,
                              "audio"), audio_after(3)),
        Damage("claims-an-hour.wav", wav_claiming(wav, 3600 * 44100 * 4), audio_after(6)),
        # Honest: READY.
        Damage("one-frame.mp4", clip(seconds=0.04, audio=None), None, 40),
        Damage("half-second.mp4", clip(seconds=0.5), None, 500),
        Damage("variable-rate.mp4", clip(times=_vfr, audio=None), None),
        Damage("variable-rate.mkv", clip("matroska", times=_vfr, audio=None), None),
        Damage("no-length.webm", clip("webm", codec="libvpx-vp9", audio="libopus",
                                      muxer={"live": "1"}, encoder=webm), None, 6400),
        Damage("one-keyframe.mp4", clip(seconds=10, gop=1000, audio=None), None, 10000),
        Damage("last-frames-short.mp4", cut(mp4, SECONDS - 0.2), None, 6400),
        Damage("with-audio.mov", clip("mov"), None, 6400),
        Damage("clip.ts", clip("mpegts"), None, 6400),
        Damage("audio-only.mp4", tone("mp4", "aac"), None, 6500),
        Damage("tone.m4a", tone("ipod", "aac"), None, 6500),
        Damage("with-xing.mp3", mp3, None, 6500),
        Damage("without-xing.mp3", tone("mp3", "libmp3lame", muxer={"write_xing": "0"}), None,
               6500),
        Damage("tone.wav", wav, None, 6500),
        Damage("streamed.wav", wav_claiming(wav, 0xFFFFFFFF), None, 6500),
        Damage("tone.flac", tone("flac", "flac"), None, 6500),
        Damage("tone.opus", tone("ogg", "libopus", rate=48000), None, 6500),
        Damage("tone.aac", tone("adts", "aac"), None, 6500),
    ]
