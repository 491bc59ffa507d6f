"""The media helpers one by one: magic bytes, posters, waveforms, blurhash, JPEG draft, reasons."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import blurhash as reference
import numpy as np
import pytest
from PIL import Image
from tests import media_corpus as corpus

from mediashelf.domain import AssetType
from mediashelf.media import images
from mediashelf.media.analysis import analyse
from mediashelf.media.base import Limits, MediaError, MediaInfo
from mediashelf.media.probe import describe, inspect
from mediashelf.media.thumbnails import blurhash


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.getbasetemp() / "media-corpus"
    corpus.build(directory)
    return directory


def test_describe_uses_the_right_article() -> None:
    png = MediaInfo(AssetType.IMAGE, "image/png", extra={"format": "png"})
    mp4 = MediaInfo(AssetType.VIDEO, "video/mp4", extra={"container": "mp4"})
    mp3 = MediaInfo(AssetType.AUDIO, "audio/mpeg", extra={"container": "mp3"})
    assert [describe(i) for i in (png, mp4, mp3)] == [
        "a PNG image", "an MP4 video", "an MP3 audio file"]


def test_media_error_crosses_processes_with_its_detail() -> None:
    error = pickle.loads(pickle.dumps(MediaError("the file is empty", "internal")))
    assert str(error) == "the file is empty" and error.detail == "internal"


def test_black_start_video_gets_a_bright_poster(corpus_dir: Path) -> None:
    result = analyse(corpus_dir / "black-start.mp4", None)
    poster = np.asarray(Image.open(io.BytesIO(result.thumbnail)).convert("L"), dtype=float)
    assert poster.mean() > 60 and poster.std() > 10


def test_waveform_follows_the_loudness(corpus_dir: Path) -> None:
    result = analyse(corpus_dir / "tone.wav", AssetType.AUDIO)
    wave = np.asarray(Image.open(io.BytesIO(result.thumbnail)).convert("L"), dtype=float)
    assert wave.shape[1] == 512
    height = (wave > 60).sum(axis=0)  # lit pixels per column
    # The tone's envelope |sin(1.5 pi t)| peaks at 1/3 s and dips at 2/3 s of its 2 s.
    loud, quiet = height[80:90].mean(), height[166:176].mean()
    assert loud > 0.7 * wave.shape[0] and quiet < 0.5 * loud
    assert result.info.extra["loudnessLufs"] < 0


def test_blurhash_matches_the_reference_encoder() -> None:
    pixels = corpus.scene(32, 24)
    ours = blurhash(Image.fromarray(pixels))
    assert ours == reference.encode(pixels, 4, 3)


def test_large_jpeg_is_decoded_at_reduced_scale(corpus_dir: Path) -> None:
    with images.open_image(corpus_dir / "large.jpg", Limits()) as im:
        thumb = images.picture(im, 512)
        assert im.size[0] < 3000  # draft mode kicked in
    assert thumb.size == (512, 341)


def test_inspect_reports_without_thumbnailing(corpus_dir: Path) -> None:
    info = inspect(corpus_dir / "portrait.mp4")
    assert (info.width, info.height, info.extra["rotation"]) == (180, 320, 270)
    assert inspect(corpus_dir / "tone.opus").extra["channels"] == 2


def test_reasons_never_show_library_text(corpus_dir: Path, tmp_path: Path) -> None:
    odd = tmp_path / "odd.webm"
    odd.write_bytes((corpus_dir / "clip.webm").read_bytes()[:300])
    with pytest.raises(MediaError) as failed:
        analyse(odd, None)
    assert str(failed.value) in {"the file is corrupt or truncated",
                                 "the video has no decodable frame",
                                 "the file has no video or audio stream"}
