"""The built-in music library: real rendering and decoding with PyAV, rendered once per module."""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from mediashelf.music import library as music
from mediashelf.music import mixing
from mediashelf.music.songs import LIBRARY_VERSION, TRACKS, Track
from mediashelf.storage.scratch import ScratchDir

Decoded = tuple[npt.NDArray[np.float32], int, str]


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[Track, Path]]]:
    dest = tmp_path_factory.mktemp("music")
    return dest, music.render_library(dest)


@pytest.fixture(scope="module")
def decoded(library: tuple[Path, list[tuple[Track, Path]]]) -> dict[str, Decoded]:
    out = {}
    for track, path in library[1]:
        with av.open(str(path)) as c:
            stream = c.streams.audio[0]
            codec, rate = stream.codec_context.name, stream.codec_context.sample_rate
            pcm = np.concatenate([f.to_ndarray() for f in c.decode(stream)], axis=1)
        out[track.slug] = (pcm.astype(np.float32), rate, codec)
    return out


def _tempo(pcm: npt.NDArray[np.float32]) -> float:
    # spectral-flux onset envelope at 100 frames/s, autocorrelated over 55-200 bpm
    hop = 441
    mono = pcm.mean(axis=0)
    frames = mono[: mono.size // hop * hop].reshape(-1, hop)
    spec = np.abs(np.fft.rfft(frames * np.hanning(hop), axis=1))
    flux = np.maximum(np.diff(np.log1p(spec * 10), axis=0), 0).sum(axis=1)
    flux -= flux.mean()
    ac = np.correlate(flux, flux, "full")[flux.size - 1:]
    lo, hi = 6000 // 200, 6000 // 55
    return 6000 / (lo + int(np.argmax(ac[lo:hi + 1])))


def _band_profile(pcm: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    spec = np.abs(np.fft.rfft(pcm.mean(axis=0)[: 2**21])) ** 2
    freqs = np.fft.rfftfreq(2**21, 1 / 44100)
    edges = np.geomspace(40, 16000, 25)
    bands = [spec[(freqs >= a) & (freqs < b)].sum() for a, b in itertools.pairwise(edges)]
    db = 10 * np.log10(np.array(bands) + 1e-12)
    return np.asarray(db - db.max(), dtype=np.float64)


def test_catalogue() -> None:
    assert len(TRACKS) >= 8
    assert len({t.slug for t in TRACKS}) == len({t.name for t in TRACKS}) == len(TRACKS)
    assert len({t.bpm for t in TRACKS}) == len(TRACKS)
    for t in TRACKS:
        assert 30 <= t.seconds <= 120
        assert t.mood and t.name


def test_files_are_named_by_version(library: tuple[Path, list[tuple[Track, Path]]]) -> None:
    dest, rendered = library
    assert [t for t, _ in rendered] == list(TRACKS)
    for track, path in rendered:
        assert path == dest / f"{track.slug}-v{LIBRARY_VERSION}.m4a"
        assert path.read_bytes()[4:8] == b"ftyp"


@pytest.mark.parametrize("track", TRACKS, ids=lambda t: t.slug)
def test_track_decodes_as_stereo_aac(track: Track, decoded: dict[str, Decoded],
                                     library: tuple[Path, list[tuple[Track, Path]]]) -> None:
    pcm, rate, codec = decoded[track.slug]
    assert codec == "aac" and rate == 44100 and pcm.shape[0] == 2
    assert pcm.shape[1] / rate == pytest.approx(track.seconds, abs=0.1)
    kbps = dict(library[1])[track].stat().st_size * 8 / track.seconds / 1000
    assert 110 < kbps < 190


@pytest.mark.parametrize("track", TRACKS, ids=lambda t: t.slug)
def test_track_level_is_mastered(track: Track, decoded: dict[str, Decoded]) -> None:
    pcm = decoded[track.slug][0]
    peak = float(np.abs(pcm).max())
    assert peak < 10 ** (-0.5 / 20)  # limited to -1.5 dBFS before AAC; never near clipping
    assert mixing.loudness(pcm) == pytest.approx(-16, abs=1.5)
    # faded at both ends, music in between (no long silent gaps)
    assert np.abs(pcm[:, :100]).max() < 0.01 and np.abs(pcm[:, -100:]).max() < 0.01
    body = pcm[:, 44100 * 2: -44100 * 4]
    blocks = body[:, : body.shape[1] // 4410 * 4410].reshape(2, -1, 4410)
    assert np.sqrt((blocks**2).mean(axis=2)).min() > 10 ** (-45 / 20)
    # a real stereo image, not one channel copied to both
    assert not np.allclose(pcm[0], pcm[1], atol=1e-3)


@pytest.mark.parametrize("track", [t for t in TRACKS if t.slug != "deep-focus"],
                         ids=lambda t: t.slug)
def test_pulse_matches_tempo(track: Track, decoded: dict[str, Decoded]) -> None:
    est = _tempo(decoded[track.slug][0])
    assert min(abs(est / (track.bpm * k) - 1) for k in (0.5, 1, 2)) < 0.03, est


def test_tracks_sound_different(decoded: dict[str, Decoded]) -> None:
    profiles = {slug: _band_profile(d[0]) for slug, d in decoded.items()}
    for a, b in itertools.combinations(profiles, 2):
        distance = float(np.sqrt(np.mean((profiles[a] - profiles[b]) ** 2)))
        assert distance > 2.0, (a, b, distance)


def test_second_render_reuses_cache(library: tuple[Path, list[tuple[Track, Path]]]) -> None:
    dest, first = library
    stamps = {p: p.stat().st_mtime_ns for _, p in first}
    started = time.perf_counter()
    again = music.render_library(dest)
    assert time.perf_counter() - started < 0.5
    assert again == first
    assert {p: p.stat().st_mtime_ns for _, p in again} == stamps


def test_no_temp_files_left(library: tuple[Path, list[tuple[Track, Path]]]) -> None:
    dest, rendered = library
    assert sorted(p for p in dest.iterdir() if p.name != ".tmp") == sorted(p for _, p in rendered)
    assert list((dest / ".tmp").iterdir()) == []


def test_a_render_left_by_a_killed_process_is_swept(
        library: tuple[Path, list[tuple[Track, Path]]]) -> None:
    dest, _ = library
    leftover = dest / ".tmp" / "0123abcd.m4a"  # no process holds its lock
    leftover.write_bytes(b"half a song")
    os.utime(leftover, (time.time() - 3600, time.time() - 3600))
    music.render_library(dest)
    assert not leftover.exists()


def test_failed_render_leaves_nothing(tmp_path: Path) -> None:
    bogus = Track("no-such-song", "Nope", "none", 100, 30.0)
    with pytest.raises(KeyError):
        music._render_atomic(bogus, tmp_path / "nope.m4a", ScratchDir(tmp_path / ".tmp"))
    assert [p.name for p in tmp_path.iterdir()] == [".tmp"]
    assert list((tmp_path / ".tmp").iterdir()) == []


def test_rendering_is_deterministic(tmp_path: Path,
                                    library: tuple[Path, list[tuple[Track, Path]]]) -> None:
    track, path = min(library[1], key=lambda tp: tp[0].seconds)
    fresh = music.render_track(track, tmp_path / "again.m4a")
    assert fresh.read_bytes() == path.read_bytes()


def test_tracks_are_tagged_as_revision_0004_tags_existing_libraries() -> None:
    import importlib.util
    from pathlib import Path

    from mediashelf.music.songs import TRACKS

    path = Path(__file__).parents[2] / "src/mediashelf/db/migrations/versions"
    spec = importlib.util.spec_from_file_location("rev0004", path / "0004_search_tags_trash.py")
    assert spec is not None and spec.loader is not None
    revision = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(revision)
    assert {t.name: t.tags for t in TRACKS} == revision._MUSIC
    assert all(t.genre in t.tags for t in TRACKS)
