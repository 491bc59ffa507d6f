"""READY means usable: damaged files fail naming where, honest odd files stay READY, cheaply."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import av
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests import media_damage as damage

from mediashelf.media.analysis import Analyser, analyse
from mediashelf.media.base import Limits, MediaError
from mediashelf.media.containers import claimed_seconds, open_container
from mediashelf.media.integrity import Verdict, check_video, clock

CASES = damage.cases()
CLIP = damage.once(damage.clip())


@pytest.fixture(scope="session")
def long_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten minutes of 128x72 video (about 2.3 MB), made once."""
    path = tmp_path_factory.getbasetemp() / "ten-minutes.mp4"
    if not path.exists():
        damage.long_video(path)
    return path


@pytest.fixture(scope="module")
def pool() -> Iterator[Analyser]:
    analyser = Analyser(processes=1, timeout=60, memory_mb=1536, tasks_per_process=20)
    yield analyser
    analyser.close()


def verdict(path: Path) -> Verdict:
    """The video check alone, as analysis runs it: on a freshly opened container."""
    with open_container(path, recognised=True) as container:
        stream = container.streams.video[0]
        return check_video(container, stream, claimed_seconds(path, container, stream))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_damaged_fail_naming_the_second_and_honest_files_stay_ready(
        case: damage.Damage, tmp_path: Path) -> None:
    path = tmp_path / case.name
    case.write(path)
    if case.reason is not None:
        with pytest.raises(MediaError) as failed:
            analyse(path, None)
        assert str(failed.value) == case.reason
        return
    info = analyse(path, None).info
    assert info.duration_ms is not None
    if case.duration_ms is not None:
        assert abs(info.duration_ms - case.duration_ms) <= 0.05 * case.duration_ms + 40


def test_a_file_without_a_length_is_measured(tmp_path: Path) -> None:
    path = tmp_path / "live.webm"
    next(c for c in CASES if c.name == "no-length.webm").write(path)
    with av.open(str(path)) as container:
        assert container.duration is None  # the case is what it says
    assert abs(verdict(path).seconds - damage.SECONDS) < 0.1


def test_a_measured_length_is_held_to_the_duration_limit(tmp_path: Path) -> None:
    path = tmp_path / "live.webm"
    next(c for c in CASES if c.name == "no-length.webm").write(path)
    assert analyse(path, None, Limits(max_duration=7)).info.duration_ms is not None
    with pytest.raises(MediaError, match=r"^the video is too long \(6.4 s, the limit is 5 s\)$"):
        analyse(path, None, Limits(max_duration=5))


def test_a_long_video_is_checked_with_a_few_frames(long_video: Path, pool: Analyser) -> None:
    result = pool.run(long_video, None)  # through the decoder pool and its limits
    assert result.info.duration_ms == 600_000
    checked = verdict(long_video)
    assert checked.seconds == 600.0
    assert checked.decoded <= 3 * 5 + 5  # three points of five frames, of 6000 in the file


@pytest.mark.parametrize(("kind", "where", "reason"), [
    ("cut", 450.5, "the video is damaged after 7:30"),
    ("cut", 61.5, "the video is damaged after 1:01"),
    ("zeroed", 290.5, "the video is damaged after 4:50"),  # over the middle probe
])
def test_damage_in_a_long_video_is_located_by_seeking(
        long_video: Path, tmp_path: Path, kind: str, where: float, reason: str) -> None:
    path = tmp_path / f"{kind}.mp4"
    intact = long_video.read_bytes()
    if kind == "cut":
        path.write_bytes(intact[:damage.offset_at(long_video, where)])
    else:
        damage.zeroed(lambda p: p.write_bytes(intact), where, where + 30)(path)
    with pytest.raises(MediaError) as failed:
        analyse(path, None)
    assert str(failed.value) == reason
    # Found by bisection: a few hundred frames at most, not the minutes before the damage.
    found = re.fullmatch(r"(\d+) frames decoded to find it", failed.value.detail or "")
    assert found is not None and int(found[1]) < 400, failed.value.detail


def test_the_damaged_moov_fails_in_the_decoder_pool(tmp_path: Path, pool: Analyser) -> None:
    path = tmp_path / "index.mp4"
    damage.bad_index(CLIP, 2.5, past_end=True)(path)
    with pytest.raises(MediaError, match=r"^the video is damaged after 0:02$"):
        pool.run(path, None)
    good = tmp_path / "good.mp4"
    CLIP(good)
    assert pool.run(good, None).info.duration_ms == 6400


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(second=st.integers(1, 5), fraction=st.floats(0.3, 0.7))
def test_a_cut_anywhere_is_named_by_its_second(
        tmp_path: Path, second: int, fraction: float) -> None:
    path = tmp_path / "cut.mp4"
    damage.cut(CLIP, second + fraction)(path)
    with pytest.raises(MediaError, match=f"^the video is damaged after 0:0{second}$"):
        analyse(path, None)


@given(st.floats(0, 400_000, allow_nan=False))
def test_clock_reads_back_as_the_whole_seconds(seconds: float) -> None:
    shown = clock(seconds)
    assert re.fullmatch(r"(\d+:[0-5]\d:[0-5]\d|[1-5]?\d:[0-5]\d)", shown), shown
    parts = [int(p) for p in shown.split(":")]
    total = parts[0] * 3600 + parts[1] * 60 + parts[2] if len(parts) == 3 else \
        parts[0] * 60 + parts[1]
    assert total == int(seconds)


@pytest.mark.parametrize(("seconds", "fps"), [(0.5, 10), (3.0, 25)])
def test_a_short_ts_with_one_keyframe_is_ready(seconds: float, fps: int, tmp_path: Path) -> None:
    # No keyframe after the first: a seek to the middle or the end lands past it, so those
    # points are read from the start instead (a TS has no index to land on).
    path = tmp_path / "short.ts"
    damage.clip("mpegts", seconds, gop=1000, fps=fps, audio=None)(path)
    info = analyse(path, None).info
    assert info.duration_ms is not None and abs(info.duration_ms - seconds * 1000) <= 120

