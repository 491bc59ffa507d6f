"""Generate the media test corpus (good, odd and hostile files) with Pillow, PyAV and numpy.

Run `python -m tests.media_corpus DIR` to write it; tests call build(dir). Deterministic, about
2.5 MB in all. Every case says what mediashelf must make of it; check_thumbnail() verifies one.
"""

from __future__ import annotations

import io
import os
import struct
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, features

VERSION = "5"  # bump when a case changes, so cached corpora are rebuilt
RED = (220, 30, 30)


@dataclass(frozen=True)
class Case:
    name: str  # also the file name, extension included
    status: str  # READY or FAILED
    declared: str | None = None  # the type sent with the upload, if any
    type: str | None = None  # expected AUDIO / IMAGE / VIDEO when READY
    mime: str | None = None
    width: int | None = None  # displayed, i.e. upright
    height: int | None = None
    duration_ms: int | None = None  # checked within 10 %
    has_audio: bool | None = None
    reason: str | None = None  # substring of the failure reason
    red_top: bool = False  # the upright picture has a red band at the top
    alpha: bool = False  # the thumbnail keeps transparency
    extra: dict[str, object] = field(default_factory=dict)  # expected subset of info.extra


def scene(width: int, height: int, shift: int = 0) -> np.ndarray:
    """An upright test picture: a red band on top, a textured blue-green gradient below."""
    y, x = np.mgrid[0:height, 0:width]
    img = np.empty((height, width, 3), np.uint8)
    img[..., 0] = 20 + (x * 60 // max(width, 1))
    img[..., 1] = 60 + (y * 150 // max(height, 1))
    img[..., 2] = 120 + 100 * (((x + shift) // 16 + y // 16) % 2)
    img[: max(2, height // 5)] = RED
    return img


def _image(mode: str = "RGB", size: tuple[int, int] = (320, 240)) -> Image.Image:
    return Image.fromarray(scene(*size)).convert(mode)


def _save(im: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **params)
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _raw_png(width: int, height: int, depth: int, colour: int, rows: bytes) -> bytes:
    """A PNG written by hand, for what Pillow will not write (16-bit RGB) or should not (bombs)."""
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(rows, 9)) + _png_chunk(b"IEND", b""))


def png_bomb() -> bytes:
    """30000x30000 RGB declared, a few KB on disk: decoding it would need 2.7 GB."""
    return _raw_png(30000, 30000, 8, 2, bytes(4_000_000))


def gif_bomb() -> bytes:
    """A GIF whose screen and only frame claim 60000x60000 pixels, in 40 bytes."""
    size = struct.pack("<HH", 60000, 60000)
    return (b"GIF89a" + size + b"\x80\x00\x00" + b"\x00" * 6 + b"," + b"\x00" * 4 + size
            + b"\x00\x02\x02\x4c\x01\x00;")


def png_rgb16() -> bytes:
    pixels = scene(120, 80).astype(">u2") * 257
    rows = b"".join(b"\x00" + row.tobytes() for row in pixels)
    return _raw_png(120, 80, 16, 2, rows)


def png_gray16() -> bytes:
    y, x = np.mgrid[0:100, 0:200]
    return _save(Image.fromarray((x * 300 + y * 20).astype(np.uint16)), "PNG")


def jpeg_oriented(orientation: int) -> bytes:
    """An upright 300x400 portrait stored turned, with the EXIF tag that turns it back."""
    upright = _image(size=(300, 400))
    stored = {6: upright.transpose(Image.Transpose.ROTATE_90),
              8: upright.transpose(Image.Transpose.ROTATE_270),
              3: upright.transpose(Image.Transpose.ROTATE_180)}[orientation]
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _save(stored, "JPEG", quality=85, exif=exif.tobytes())


def palette_png() -> bytes:
    im = _image(size=(100, 100)).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    return _save(im, "PNG", transparency=0)


def rgba_png() -> bytes:
    im = _image("RGBA", (200, 150))
    alpha = np.full((150, 200), 255, np.uint8)
    alpha[:, 150:] = 0
    im.putalpha(Image.fromarray(alpha))
    return _save(im, "PNG")


def animated(fmt: str, size: tuple[int, int], frames: int) -> bytes:
    pics = [Image.fromarray(scene(*size, shift=i * 8)) for i in range(frames)]
    if fmt == "GIF":
        pics = [p.convert("P", palette=Image.Palette.ADAPTIVE) for p in pics]
    return _save(pics[0], fmt, save_all=True, append_images=pics[1:], duration=100, loop=0)


def heic() -> bytes:
    from pillow_heif import register_heif_opener

    register_heif_opener()
    return _save(_image(size=(256, 192)), "HEIF", quality=60)


def big_jpeg() -> bytes:
    return _save(_image(size=(3000, 2000)), "JPEG", quality=70)


def _frames(width: int, height: int, count: int, black: int = 0) -> list[np.ndarray]:
    return [np.zeros((height, width, 3), np.uint8) if i < black else scene(width, height, i * 4)
            for i in range(count)]


def video(fmt: str, codec: str, pictures: Callable[[], list[np.ndarray]], fps: int = 25,
          audio: str | None = None, rotation: int | None = None,
          options: dict[str, str] | None = None) -> Callable[[Path], None]:
    """A writer of one video file; `rotation` is the display matrix's counter-clockwise turn."""
    def write(path: Path) -> None:
        frames = pictures()
        with av.open(str(path), "w", format=fmt) as out:
            stream = out.add_stream(codec, rate=fps)
            stream.height, stream.width = frames[0].shape[:2]
            stream.pix_fmt = "yuv420p"
            stream.options = {"g": "12", **(options or {})}
            if rotation is not None:
                stream.set_display_rotation(rotation)
            sound = _audio_stream(out, audio) if audio is not None else None
            for i, pic in enumerate(frames):
                frame = av.VideoFrame.from_ndarray(pic, format="rgb24")
                frame.pts, frame.time_base = i, Fraction(1, fps)
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
            if sound is not None:
                _add_audio(out, sound, len(frames) / fps)
    return write


def _tone(seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    envelope = 0.2 + 0.6 * np.abs(np.sin(np.pi * t * 1.5))
    left = envelope * np.sin(2 * np.pi * 440 * t)
    return np.stack([left, 0.5 * left]).astype(np.float32)


def _audio_stream(out: av.container.OutputContainer, codec: str,
                  rate: int = 48000) -> av.audio.stream.AudioStream:
    stream = out.add_stream(codec, rate=rate, layout="stereo")
    if codec == "vorbis":
        stream.codec_context.options = {"strict": "experimental"}  # FFmpeg's own encoder
    return stream


def _add_audio(out: av.container.OutputContainer, stream: av.audio.stream.AudioStream,
               seconds: float) -> None:
    ctx = stream.codec_context
    rate = ctx.sample_rate
    step = ctx.frame_size or 4096
    resampler = av.AudioResampler(format=ctx.format.name, layout="stereo", rate=rate)
    samples = _tone(seconds, rate)
    for start in range(0, samples.shape[1], step):
        chunk = np.ascontiguousarray(samples[:, start:start + step])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
        frame.sample_rate, frame.pts = rate, start
        for converted in resampler.resample(frame):
            out.mux(stream.encode(converted))
    out.mux(stream.encode(None))


def sound(fmt: str, codec: str, seconds: float = 2.0, rate: int = 48000) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        with av.open(str(path), "w", format=fmt) as out:
            _add_audio(out, _audio_stream(out, codec, rate), seconds)
    return write


def _bytes(data: Callable[[], bytes]) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data())


def _cut(source: Callable[[Path], None], keep: float) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        source(path)
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * keep)])
    return write


def _img(name: str, make: Callable[[], bytes], mime: str, size: tuple[int, int],
         **more: object) -> tuple[Case, Callable[[Path], None]]:
    case = Case(name, "READY", type="IMAGE", mime=mime, width=size[0], height=size[1],
                **more)  # type: ignore[arg-type]
    return case, _bytes(make)


def _bad(name: str, write: Callable[[Path], None], reason: str,
         declared: str | None = None) -> tuple[Case, Callable[[Path], None]]:
    return Case(name, "FAILED", declared=declared, reason=reason), write


def cases() -> list[tuple[Case, Callable[[Path], None]]]:
    """Every corpus case with the function that writes its file."""
    from tests import media_damage as damage  # built on this module, so imported here

    rgb = _image
    mp4 = video("mp4", "libx264", lambda: _frames(320, 240, 50), audio="aac")
    small = damage.once(damage.clip())
    out: list[tuple[Case, Callable[[Path], None]]] = [
        _img("photo.jpg", lambda: _save(rgb(), "JPEG", quality=85), "image/jpeg", (320, 240),
             red_top=True),
        _img("exif-rotated-6.jpg", lambda: jpeg_oriented(6), "image/jpeg", (300, 400),
             red_top=True, extra={"orientation": 6}),
        _img("exif-rotated-8.jpg", lambda: jpeg_oriented(8), "image/jpeg", (300, 400),
             red_top=True),
        _img("exif-rotated-3.jpg", lambda: jpeg_oriented(3), "image/jpeg", (300, 400),
             red_top=True),
        _img("cmyk.jpg", lambda: _save(rgb("CMYK"), "JPEG", quality=85), "image/jpeg",
             (320, 240), red_top=True, extra={"colorMode": "CMYK"}),
        _img("large.jpg", big_jpeg, "image/jpeg", (3000, 2000), red_top=True),
        _img("gray16.png", png_gray16, "image/png", (200, 100)),
        _img("rgb16.png", png_rgb16, "image/png", (120, 80), red_top=True),
        _img("palette.png", palette_png, "image/png", (100, 100), alpha=True),
        _img("gray.png", lambda: _save(rgb("L", (128, 64)), "PNG"), "image/png", (128, 64)),
        _img("alpha.png", rgba_png, "image/png", (200, 150), red_top=True, alpha=True),
        _img("animated.gif", lambda: animated("GIF", (160, 120), 5), "image/gif", (160, 120),
             red_top=True, extra={"frames": 5}),
        _img("animated.webp", lambda: animated("WEBP", (200, 100), 4), "image/webp",
             (200, 100), red_top=True, extra={"frames": 4}),
        _img("photo.heic", heic, "image/heic", (256, 192), red_top=True),
        _img("scan.tiff", lambda: _save(rgb(size=(100, 80)), "TIFF"), "image/tiff", (100, 80),
             red_top=True),
        _img("icon.bmp", lambda: _save(rgb(size=(64, 48)), "BMP"), "image/bmp", (64, 48),
             red_top=True),
        # A JPEG named .png: the content decides.
        _img("jpeg-named.png", lambda: _save(rgb(), "JPEG"), "image/jpeg", (320, 240)),
        (Case("clip.mp4", "READY", type="VIDEO", mime="video/mp4", width=320, height=240,
              duration_ms=2000, has_audio=True, red_top=True,
              extra={"codec": "h264", "container": "mp4", "fps": 25.0}), mp4),
        (Case("clip.mov", "READY", type="VIDEO", mime="video/quicktime", width=320, height=240,
              duration_ms=1000, has_audio=False, red_top=True, extra={"container": "mov"}),
         video("mov", "libx264", lambda: _frames(320, 240, 25))),
        # A phone held upright: stored landscape, turned by the display matrix.
        (Case("portrait.mp4", "READY", type="VIDEO", mime="video/mp4", width=180, height=320,
              duration_ms=1000, has_audio=False, red_top=True, extra={"rotation": 270}),
         video("mp4", "libx264", lambda: [np.ascontiguousarray(np.rot90(f, 1))
                                   for f in _frames(180, 320, 25)], rotation=-90)),
        (Case("portrait-90.mov", "READY", type="VIDEO", mime="video/quicktime", width=180,
              height=320, duration_ms=1000, has_audio=False, red_top=True),
         video("mov", "libx264", lambda: [np.ascontiguousarray(np.rot90(f, -1))
                                   for f in _frames(180, 320, 25)], rotation=90)),
        (Case("black-start.mp4", "READY", type="VIDEO", mime="video/mp4", width=320, height=240,
              duration_ms=3000, has_audio=False, red_top=True),
         video("mp4", "libx264", lambda: _frames(320, 240, 75, black=25))),
        (Case("clip.webm", "READY", type="VIDEO", mime="video/webm", width=320, height=240,
              duration_ms=1000, has_audio=True, red_top=True, extra={"codec": "vp9"}),
         video("webm", "libvpx-vp9", lambda: _frames(320, 240, 25), audio="libopus",
               options={"deadline": "realtime", "cpu-used": "8"})),
        (Case("hevc.mkv", "READY", type="VIDEO", mime="video/x-matroska", width=320,
              height=240, duration_ms=1000, has_audio=False, red_top=True,
              extra={"codec": "hevc", "container": "mkv"}),
         video("matroska", "libx265", lambda: _frames(320, 240, 25),
               options={"preset": "ultrafast", "x265-params": "log-level=error"})),
        (Case("av1.mp4", "READY", type="VIDEO", mime="video/mp4", width=320, height=240,
              duration_ms=1000, has_audio=False, red_top=True),
         video("mp4", "libsvtav1", lambda: _frames(320, 240, 25), options={"preset": "12"})),
        (Case("tone.mp3", "READY", type="AUDIO", mime="audio/mpeg", duration_ms=2000,
              has_audio=True, extra={"codec": "mp3", "sampleRate": 44100, "channels": 2}),
         sound("mp3", "libmp3lame", rate=44100)),
        (Case("tone.m4a", "READY", type="AUDIO", mime="audio/mp4", duration_ms=2000,
              has_audio=True, extra={"codec": "aac", "sampleRate": 48000}),
         sound("ipod", "aac")),
        (Case("tone.wav", "READY", type="AUDIO", mime="audio/wav", duration_ms=2000,
              has_audio=True, extra={"codec": "pcm_s16le"}), sound("wav", "pcm_s16le")),
        (Case("tone.flac", "READY", type="AUDIO", mime="audio/flac", duration_ms=2000,
              has_audio=True, extra={"codec": "flac"}), sound("flac", "flac")),
        (Case("tone.ogg", "READY", type="AUDIO", mime="audio/ogg", duration_ms=2000,
              has_audio=True, extra={"codec": "vorbis"}), sound("ogg", "vorbis", rate=44100)),
        (Case("tone.opus", "READY", type="AUDIO", mime="audio/ogg", duration_ms=2000,
              has_audio=True, extra={"codec": "opus"}), sound("ogg", "libopus")),
        _bad("bomb.png", _bytes(png_bomb), "too large"),
        _bad("truncated.jpg", _cut(_bytes(big_jpeg), 0.5), "corrupt or truncated"),
        _bad("truncated.png", _cut(_bytes(lambda: _save(rgb(), "PNG")), 0.5),
             "corrupt or truncated"),
        _bad("truncated.mp4", _cut(mp4, 0.6), "corrupt or truncated"),
        _bad("png-as-video.mp4", _bytes(lambda: _save(rgb(), "PNG")),
             "declared VIDEO but the file is a PNG image", declared="VIDEO"),
        _bad("video-as-audio.mp3", mp4, "declared AUDIO but the file is an MP4 video",
             declared="AUDIO"),
        _bad("noise.jpg", _bytes(lambda: np.random.default_rng(7).bytes(20_000)),
             "not a readable"),
        _bad("notes.mp4", _bytes(lambda: b"just some text, not a video\n" * 40),
             "not a readable"),
        _bad("empty.png", _bytes(lambda: b""), "empty"),
        _bad("huge-screen.gif", _bytes(gif_bomb), "too large"),
        # Damaged past the first frames: a poster could be made, but the file is not usable.
        _bad("index-damaged.mp4", damage.bad_index(small, 2.5, past_end=True),
             "the video is damaged after 0:02"),
        _bad("cut.mp3", damage.cut(damage.tone("mp3", "libmp3lame"), 3.5, "audio"),
             "the audio is damaged after 0:03"),
        _bad("cut.wav", damage.cut_bytes(damage.tone("wav", "pcm_s16le"), 3.5, 44100 * 4, 44),
             "the audio is damaged after 0:03"),
        (Case("last-frames-short.mp4", "READY", type="VIDEO", mime="video/mp4", width=160,
              height=120, duration_ms=6400, has_audio=True, red_top=True),
         damage.cut(small, damage.SECONDS - 0.2)),
        (Case("no-length.webm", "READY", type="VIDEO", mime="video/webm", width=160,
              height=120, duration_ms=6400, has_audio=True, red_top=True),
         damage.clip("webm", codec="libvpx-vp9", audio="libopus", muxer={"live": "1"},
                     encoder={"deadline": "realtime", "cpu-used": "8"})),
    ]
    if features.check("avif"):
        out.append(_img("photo.avif", lambda: _save(rgb(size=(256, 192)), "AVIF", quality=60),
                        "image/avif", (256, 192), red_top=True))
    return out


def check_thumbnail(case: Case, data: bytes, mime: str) -> Image.Image:
    """WebP, at most 512 px, the displayed aspect ratio, right way up, alpha kept when expected."""
    assert mime == "image/webp"
    thumb = Image.open(io.BytesIO(data))
    assert thumb.format == "WEBP"
    assert max(thumb.size) <= 512
    if case.width and case.height:
        expected = case.width / case.height
        actual = thumb.width / thumb.height
        assert abs(actual - expected) / expected < 0.02 + 1 / min(thumb.size), thumb.size
    if case.red_top:
        assert_red_on_top(thumb)
    if case.alpha:
        assert thumb.mode == "RGBA"
        assert np.asarray(thumb)[..., 3].min() < 128
    return thumb


def assert_red_on_top(thumb: Image.Image) -> None:
    """The scene's red band is at the top of the picture, so it is upright."""
    rgb = np.asarray(thumb.convert("RGB"), dtype=np.float64)
    band = max(1, rgb.shape[0] // 12)
    top, bottom = rgb[:band].mean(axis=(0, 1)), rgb[-band:].mean(axis=(0, 1))
    assert top[0] > 150 and top[1] < 90 and top[2] < 90, f"top is not red: {top}"
    assert bottom[0] < 120, f"bottom is red: {bottom}"


def build(directory: Path) -> list[Case]:
    """Write every case's file into `directory` (kept if already there) and return the cases."""
    directory.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 talks a lot on stderr
    stamp = directory / f".version-{VERSION}"
    pairs = cases()
    if not stamp.exists():
        for case, write in pairs:
            write(directory / case.name)
        stamp.write_text("ok")
    return [case for case, _ in pairs]


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "media-corpus")
    for case in build(target):
        print(f"{case.status:6} {case.name}")
