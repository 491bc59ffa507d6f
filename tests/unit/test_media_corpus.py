"""Every corpus case through the real decoder pool: status, displayed size, thumbnail upright."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from tests import media_corpus as corpus

from mediashelf.domain import AssetType
from mediashelf.media.analysis import Analyser
from mediashelf.media.base import MediaError

CASES = [case for case, _ in corpus.cases()]


@pytest.fixture(scope="module")
def analyser() -> Iterator[Analyser]:
    pool = Analyser(processes=2, timeout=60, memory_mb=1536, tasks_per_process=20)
    yield pool
    pool.close()


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
    corpus.check_thumbnail(c, result.thumbnail, result.thumbnail_mime)
    assert result.blurhash is not None and 6 <= len(result.blurhash) <= 60
