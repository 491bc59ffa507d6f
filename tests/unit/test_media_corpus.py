"""Every corpus case through the real decoder pool: status, displayed size, thumbnail upright."""

from __future__ import annotations

import importlib.util
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from PIL import Image

from mediashelf.domain import AssetType
from mediashelf.media.analysis import Analyser
from mediashelf.media.base import MediaError

ROOT = Path(__file__).resolve().parents[2]


def load_corpus() -> ModuleType:
    """The corpus generator lives in scripts/; load it by path."""
    if "make_media_corpus" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "make_media_corpus", ROOT / "scripts" / "make_media_corpus.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["make_media_corpus"] = module
        spec.loader.exec_module(module)
    return sys.modules["make_media_corpus"]


corpus = load_corpus()
CASES = [case for case, _ in corpus.cases()]


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.getbasetemp() / "media-corpus"
    corpus.build(directory)
    return directory


@pytest.fixture(scope="module")
def analyser() -> Iterator[Analyser]:
    pool = Analyser(processes=2, timeout=60, memory_mb=1536, tasks_per_process=20)
    yield pool
    pool.close()


def check_thumbnail(case: Any, data: bytes, mime: str) -> Image.Image:
    """Shared by the e2e suite: WebP, at most 512 px, the displayed aspect, right way up."""
    assert mime == "image/webp"
    thumb = Image.open(io.BytesIO(data))
    assert thumb.format == "WEBP"
    assert max(thumb.size) <= 512
    width, height = case.width, case.height
    if width and height:
        expected = width / height
        actual = thumb.width / thumb.height
        assert abs(actual - expected) / expected < 0.02 + 1 / min(thumb.size)
    if case.red_top:
        assert_red_on_top(thumb)
    if case.alpha:
        assert thumb.mode == "RGBA"
        assert np.asarray(thumb)[..., 3].min() < 128
    return thumb


def assert_red_on_top(thumb: Image.Image) -> None:
    rgb = np.asarray(thumb.convert("RGB"), dtype=np.float64)
    band = max(1, rgb.shape[0] // 12)
    top, bottom = rgb[:band].mean(axis=(0, 1)), rgb[-band:].mean(axis=(0, 1))
    assert top[0] > 150 and top[1] < 90 and top[2] < 90, f"top is not red: {top}"
    assert bottom[0] < 120, f"bottom is red: {bottom}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_corpus_case(case: Any, corpus_dir: Path, analyser: Analyser) -> None:
    c = case
    declared = AssetType(c.declared) if c.declared else None
    path = corpus_dir / c.name
    if c.status == "FAILED":
        with pytest.raises(MediaError) as failed:
            analyser.run(path, declared)
        assert c.reason in str(failed.value)
        assert str(corpus_dir) not in str(failed.value)
        return
    result = analyser.run(path, declared)
    info = result.info
    assert info.type == AssetType(c.type)
    assert info.mime_type == c.mime
    assert (info.width, info.height) == (c.width, c.height)
    if c.duration_ms is not None:
        assert info.duration_ms is not None
        assert abs(info.duration_ms - c.duration_ms) <= 0.1 * c.duration_ms
    if c.has_audio is not None:
        assert info.has_audio is c.has_audio
    for key, value in c.extra.items():
        assert info.extra.get(key) == value, key
    if info.type is AssetType.AUDIO:
        wave = Image.open(io.BytesIO(result.thumbnail))
        assert wave.format == "WEBP" and wave.width == 512 and wave.height >= 100
        assert result.blurhash is None
        assert info.extra["bitRate"] and info.extra["sampleRate"] and info.extra["channels"]
        return
    check_thumbnail(c, result.thumbnail, result.thumbnail_mime)
    assert result.blurhash is not None and 6 <= len(result.blurhash) <= 60
