"""What a file really is, from its content: magic bytes, then the decoder. Path in, facts out."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from PIL import Image

from mediashelf.domain import AssetType
from mediashelf.media import audio, images, integrity, video
from mediashelf.media.base import Limits, MediaError, MediaInfo, check_duration
from mediashelf.media.containers import NOT_MEDIA, claimed_seconds, open_container
from mediashelf.media.kinds import HEAD, sniff

__all__ = ["Limits", "MediaError", "MediaInfo", "describe", "examine", "inspect"]

WAVEFORM_HEIGHT = 160


def read_head(path: Path) -> bytes:
    """The first bytes of a file; MediaError when it is empty."""
    with open(path, "rb") as fh:
        head = fh.read(HEAD)
    if not head:
        raise MediaError("the file is empty")
    return head


def describe(info: MediaInfo) -> str:
    """'a PNG image', 'an MP4 video', 'an MP3 audio file'."""
    name = str(info.extra.get("container") or info.extra.get("format") or "")
    if info.mime_type == "image/heic":
        name = "heic"
    name = name.upper() or "unknown"
    noun = {AssetType.IMAGE: "image", AssetType.VIDEO: "video", AssetType.AUDIO: "audio file"}
    article = "an" if name[0] in "AEFHILMNORSX" else "a"
    return f"{article} {name} {noun[info.type]}"


def _check_declared(info: MediaInfo, declared: AssetType | None) -> None:
    if declared is not None and info.type is not declared:
        raise MediaError(f"declared {declared.value} but the file is {describe(info)}")


def examine(path: Path, declared: AssetType | None, limits: Limits,
            box: int | None) -> tuple[MediaInfo, Image.Image | None]:
    """Facts about the file and, when `box` is given, its picture fitted in boxxbox (upright).

    The picture is the image itself, a video's poster frame or an audio file's waveform.
    """
    head = read_head(path)
    family = sniff(head)
    if family is AssetType.IMAGE:
        with images.open_image(path, limits) as im:
            info = images.image_info(im, head)
            _check_declared(info, declared)
            return info, images.picture(im, box) if box else None
    with ExitStack() as stack:
        container = stack.enter_context(open_container(path, recognised=family is not None))
        stream = video.video_stream(container)
        if stream is not None:
            info = video.video_info(container, stream, head, limits)
            _check_declared(info, declared)
            if box:  # about to be READY: it must decode at its start, middle and end
                _check_video(path, info, limits)
            found = video.poster(container, stream, (info.duration_ms or 0) / 1000, box or 2)
            video.apply_rotation(info, found.rotation)
            return info, found.image if box else None
        if container.streams.audio:
            astream = container.streams.audio[0]
            info = audio.audio_info(container, astream, head, limits)
            _check_declared(info, declared)
            if not box:
                return info, None
            sound = audio.listen(container, astream, limits)
            integrity.check_audio(sound.seconds, sound.broken,
                                  claimed_seconds(path, container, astream))
            if info.duration_ms is None:
                info.duration_ms = int(sound.seconds * 1000)
            if sound.loudness is not None:
                info.extra["loudnessLufs"] = sound.loudness
            return info, audio.waveform_image(sound, box, min(box, WAVEFORM_HEIGHT))
    raise MediaError(NOT_MEDIA if family is None else "the file has no video or audio stream")


def _check_video(path: Path, info: MediaInfo, limits: Limits) -> None:
    """Decode the video at three points on a fresh container; fill in a length it did not say."""
    with open_container(path, recognised=True) as container:
        stream = video.video_stream(container)
        if stream is None:
            raise MediaError("the file has no video or audio stream")
        verdict = integrity.check_video(container, stream,
                                        claimed_seconds(path, container, stream))
    if info.duration_ms is None:
        check_duration(verdict.seconds, limits, "video")  # the limit holds for measured lengths
        info.duration_ms = int(verdict.seconds * 1000)


def inspect(path: Path, limits: Limits | None = None) -> MediaInfo:
    """What the file really is, from its content; MediaError when it is none of our types."""
    return examine(path, None, limits or Limits(), None)[0]
