"""Scratch files on a full disk, and the sweep's rule: what no live writer owns goes, nothing else.

Locally, ownership is a flock() the kernel drops when its process dies; on S3, a lease object
the writing process renews (storage/s3_uploads.py).
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.support import backends
from tests.support.backends import AWS_ENV, MotoServer
from tests.support.volumes import fill, free_bytes, small_volume

from mediashelf.errors import ConfigError
from mediashelf.security import UrlSigner
from mediashelf.settings import Reserve, load_settings
from mediashelf.storage.local import LocalStorage
from mediashelf.storage.s3 import S3Storage
from mediashelf.storage.scratch import GRACE_S, ScratchDir
from mediashelf.storage.space import SpaceGuard, is_disk_full

MiB = 2**20
OLD = time.time() - 10 * GRACE_S


def _age(path: Path) -> None:
    os.utime(path, (OLD, OLD))


# --- a full disk -------------------------------------------------------------------------------

@pytest.fixture
def volume(tmp_path: Path) -> Iterator[Path]:
    with small_volume(tmp_path / "vol", "8m") as vol:
        yield vol


def test_abort_removes_the_file_when_closing_fails_on_a_full_disk(volume: Path) -> None:
    storage = LocalStorage(volume / "files", "http://h", UrlSigner(b"k" * 32))
    fill(volume, leave=4096)
    writer = storage.writer("assets/a/original")
    writer.write(b"x" * 6000)  # buffered: the disk has room for 4096 of it
    with pytest.raises(OSError) as failed:
        writer.commit()  # the flush fails with ENOSPC
    assert is_disk_full(failed.value)
    writer.abort()  # closing flushes again and fails again: the file must go all the same
    writer.abort()
    assert os.listdir(volume / "files" / ".tmp") == []
    assert not storage.exists("assets/a/original")


def test_writes_stop_at_the_reserve_and_leave_nothing(volume: Path) -> None:
    files = volume / "files"
    files.mkdir()
    guard = SpaceGuard([files], Reserve(size=2 * MiB))
    storage = LocalStorage(files, "http://h", UrlSigner(b"k" * 32), guard)
    writer = storage.writer("assets/b/original")
    with pytest.raises(OSError) as refused:
        for _ in range(16):
            writer.write(os.urandom(MiB // 2))
    assert refused.value.errno == errno.ENOSPC
    writer.abort()
    assert os.listdir(files / ".tmp") == []
    assert guard.has_room()  # the reserve is still there
    with pytest.raises(OSError):
        storage.put_bytes("assets/c/thumb.webp", os.urandom(free_bytes(files) - MiB))
    storage.put_bytes("assets/c/thumb.webp", b"small")
    storage.ping()
    fill(volume, leave=0)
    storage.ping()  # a full disk is reachable all the same (readyz reports the space itself)
    assert not guard.has_room() and guard.measure().low


def test_reserve_defaults_to_the_smaller_of_1gb_and_5_percent(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert Reserve().on(64 * 10**6) == 64 * 10**6 // 20
    assert Reserve().on(10**12) == 10**9
    for value, reserve in (("0", Reserve(size=0)), ("2GB", Reserve(size=2 * 10**9)),
                           ("2.5%", Reserve(fraction=0.025))):
        monkeypatch.setenv("MEDIASHELF_MIN_FREE_SPACE", value)
        assert load_settings().min_free_space == reserve
    assert Reserve(fraction=0.1).on(10**9) == 10**8
    for bad in ("lots", "100%", "-1GB"):
        monkeypatch.setenv("MEDIASHELF_MIN_FREE_SPACE", bad)
        with pytest.raises(ConfigError, match=r"^MEDIASHELF_MIN_FREE_SPACE: expected a size"):
            load_settings()


# --- the local sweep ---------------------------------------------------------------------------

# The owners an entry can have: "held" by a live writer (a separate open file description
# here, which flock treats as a separate owner, just like another process), "released" (its
# writer closed it without removing it: what the kernel does for a killed process), or "none"
# (made by something else).
entries = st.lists(st.tuples(st.sampled_from(["file", "folder"]),
                             st.sampled_from(["held", "released", "none"]),
                             st.booleans()), max_size=6)


@settings(max_examples=25, deadline=None)
@given(spec=entries)
def test_the_sweep_removes_exactly_what_no_live_writer_holds(
        tmp_path_factory: pytest.TempPathFactory, spec: list[tuple[str, str, bool]]) -> None:
    scratch = ScratchDir(tmp_path_factory.mktemp("scratch"))
    expected_kept: set[str] = set()
    with ExitStack() as held:
        for kind, owner, old in spec:
            if kind == "file":
                if owner == "none":
                    path = scratch.path / f"plain-{len(os.listdir(scratch.path))}"
                    path.write_bytes(b"abc")
                else:
                    entry = scratch.file()
                    entry.write(b"abc")
                    entry.file.flush()  # type: ignore[union-attr]
                    path = entry.path
                    if owner == "held":
                        held.callback(entry.discard)
                    else:
                        entry._close()  # the lock goes, the file stays
            else:
                if owner == "none":
                    path = scratch.path / f"dir-{len(os.listdir(scratch.path))}"
                    path.mkdir()
                else:
                    folder = scratch.folder()
                    if owner == "held":
                        path = held.enter_context(folder)
                    else:
                        with ExitStack() as briefly:
                            path = briefly.enter_context(folder)
                            kept = path.with_name(path.name + "-left")
                            os.rename(path, kept)  # as if its owner died before removing it
                            path.mkdir()
                        path = kept
                (path / "object").write_bytes(b"abcdef")
            if old:
                _age(path)
            if owner == "held" or not old:
                expected_kept.add(path.name)
        swept = scratch.sweep()
        assert set(os.listdir(scratch.path)) == expected_kept
        assert swept.entries == len(spec) - len(expected_kept)


_HOLDER = """
import sys, time
from pathlib import Path
from mediashelf.storage.scratch import ScratchDir

scratch = ScratchDir(Path(sys.argv[1]))
if sys.argv[2] == "file":
    entry = scratch.file()
    entry.write(b"x" * 100000)
    entry.file.flush()
    name = entry.path.name
else:
    folder = scratch.folder()
    path = folder.__enter__()
    (path / "object").write_bytes(b"x" * 100000)
    name = path.name
print(name, flush=True)
time.sleep(120)
"""


def _holder(scratch: Path, kind: str) -> subprocess.Popen[str]:
    """Another process that makes a scratch entry with the real code, then waits."""
    return subprocess.Popen([sys.executable, "-c", _HOLDER, str(scratch), kind],
                            stdout=subprocess.PIPE, text=True)


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_an_entry_of_a_killed_process_is_swept_and_a_live_ones_is_not(
        tmp_path: Path, kind: str) -> None:
    scratch = ScratchDir(tmp_path / "scratch")
    live, doomed = _holder(scratch.path, kind), _holder(scratch.path, kind)
    try:
        names = {p: p.stdout.readline().strip() for p in (live, doomed)}  # type: ignore[union-attr]
        assert all(names.values()), "a holder process failed to start"
        for name in names.values():
            _age(scratch.path / name)
        assert scratch.sweep().entries == 0  # both owners alive
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        swept = scratch.sweep()
        assert swept.entries == 1 and swept.bytes == 100000
        assert os.listdir(scratch.path) == [names[live]]
    finally:
        for p in (live, doomed):
            p.kill()
            p.wait()
            p.stdout.close()  # type: ignore[union-attr]


# --- the S3 sweep ------------------------------------------------------------------------------

@pytest.fixture
def s3_bucket(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if "postgres-s3" not in backends.selected():
        pytest.skip("the postgres-s3 backend is not selected")
    moto: MotoServer = request.getfixturevalue("moto")
    for k, v in AWS_ENV.items():
        monkeypatch.setenv(k, v)
    with moto.bucket() as bucket:
        yield f"s3://{bucket}/lib|{moto.endpoint}"


def _s3(where: str, tmp_path: Path, name: str, lease: float) -> S3Storage:
    url, endpoint = where.split("|")
    return S3Storage.from_url(url, endpoint_url=endpoint, part_size=5 * MiB,
                              scratch=tmp_path / name, upload_lease=lease)


def _uploads(storage: S3Storage) -> list[str]:
    res = storage.client.list_multipart_uploads(Bucket=storage.bucket)
    return sorted(u["Key"] for u in res.get("Uploads", []))


def test_s3_sweep_aborts_uploads_whose_lease_lapsed_only(s3_bucket: str, tmp_path: Path) -> None:
    lease = 3.0
    sweeper = _s3(s3_bucket, tmp_path, "sweeper", lease)
    live, dead = _s3(s3_bucket, tmp_path, "live", lease), _s3(s3_bucket, tmp_path, "dead", lease)
    try:
        data = os.urandom(6 * MiB)
        kept = live.writer("assets/live/original")
        kept.write(data)  # one part sent: the upload exists, with its lease
        lost = dead.writer("assets/dead/original")
        lost.write(data)
        dead.leases.close()  # its process "dies": nobody renews the lease or aborts the upload
        assert _uploads(sweeper) == ["lib/assets/dead/original", "lib/assets/live/original"]
        assert sweeper.sweep().entries == 0  # both leases are fresh
        time.sleep(lease * 2)
        swept = sweeper.sweep()
        assert swept.entries == 1 and swept.bytes == 6 * MiB
        assert _uploads(sweeper) == ["lib/assets/live/original"]
        kept.write(b"tail")
        kept.commit()  # the live upload was not disturbed
        with live.open("assets/live/original") as fh:
            assert fh.read() == data + b"tail"
        assert _uploads(sweeper) == []
        time.sleep(lease + 1)
        sweeper.sweep()  # the dead upload's lease object goes too, once stale
        left = sweeper.client.list_objects_v2(Bucket=sweeper.bucket, Prefix="lib/")
        assert [o["Key"] for o in left.get("Contents", [])] == ["lib/assets/live/original"]
        assert list(sweeper.list_keys("")) == ["assets/live/original"]
    finally:
        for s in (sweeper, live, dead):
            s.close()


def test_s3_a_live_upload_covers_a_dead_one_of_the_same_key_until_it_ends(
        s3_bucket: str, tmp_path: Path) -> None:
    """A job taken over from a dead worker writes the same key again: the dead writer's upload
    is aborted once the live one no longer covers the key."""
    lease = 3.0
    sweeper = _s3(s3_bucket, tmp_path, "sweeper", lease)
    live, dead = _s3(s3_bucket, tmp_path, "live", lease), _s3(s3_bucket, tmp_path, "dead", lease)
    try:
        lost = dead.writer("assets/same/original")
        lost.write(os.urandom(5 * MiB))
        dead.leases.close()
        kept = live.writer("assets/same/original")
        kept.write(os.urandom(5 * MiB))
        time.sleep(lease * 2)
        assert sweeper.sweep().entries == 0
        assert len(_uploads(sweeper)) == 2
        kept.commit()
        time.sleep(lease + 1)
        assert sweeper.sweep().entries == 1
        assert _uploads(sweeper) == []
        assert sweeper.size("assets/same/original") == 5 * MiB
    finally:
        for s in (sweeper, live, dead):
            s.close()
