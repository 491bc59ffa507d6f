"""Scratch files and folders that carry their owner's lock, and the sweep of those nobody owns.

The process writing a scratch entry holds an exclusive flock() on it for as long as it uses it.
The kernel drops that lock when the process ends, however it ends (SIGKILL, a crash, OOM), so an
entry that the sweep can lock belongs to no live process, in this process or any other one on
the machine, and is removed (a folder with everything in it: what other code, boto3's download
say, writes inside a locked folder needs no lock of its own). Entries modified less than GRACE_S
ago are spared, for the instant between creating an entry and locking it.

Locks are per open file (flock, not fcntl's per-process locks), so a sweep in the very process
that writes an entry sees it locked too. The folder must be on a local filesystem.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import stat
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger("mediashelf.scratch")

GRACE_S = 10.0
_LOCK = fcntl.LOCK_EX | fcntl.LOCK_NB


@dataclass(slots=True)
class Swept:
    """What one sweep removed."""

    entries: int = 0
    bytes: int = 0

    def add(self, other: Swept) -> Swept:
        return Swept(self.entries + other.entries, self.bytes + other.bytes)


class ScratchFile:
    """A new scratch file, open for writing and locked until it is kept or discarded."""

    def __init__(self, path: Path) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, _LOCK)
        except BaseException:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise
        self.path = path
        self.file: BinaryIO | None = os.fdopen(fd, "wb")

    def write(self, data: bytes) -> None:
        assert self.file is not None, "scratch file already closed"
        self.file.write(data)

    def keep_as(self, final: Path) -> None:
        """Flush to disk and move into place; the lock is held until the file has moved."""
        assert self.file is not None, "scratch file already closed"
        self.file.flush()
        os.fsync(self.file.fileno())
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path, final)
        self._close()

    def discard(self) -> None:
        """Remove the file, then close it; twice is harmless, and so is a full disk (closing
        flushes the buffer, which fails again with ENOSPC, but the file is gone by then)."""
        try:
            self.path.unlink(missing_ok=True)
        finally:
            self._close()

    def _close(self) -> None:
        fh, self.file = self.file, None
        if fh is not None:
            with contextlib.suppress(OSError):
                fh.close()  # the descriptor is closed even when the final flush fails


class ScratchDir:
    """A folder of locked scratch entries (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.mkdir(parents=True, exist_ok=True)

    def file(self, suffix: str = "") -> ScratchFile:
        return ScratchFile(self.path / (uuid.uuid4().hex + suffix))

    @contextmanager
    def folder(self) -> Iterator[Path]:
        """A locked scratch folder, removed with everything in it on exit."""
        path = self.path / uuid.uuid4().hex
        path.mkdir(mode=0o700)
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, _LOCK)
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)
            os.close(fd)

    def sweep(self, grace_s: float = GRACE_S) -> Swept:
        """Remove every entry no live process holds (and older than grace_s)."""
        swept = Swept()
        try:
            entries = list(os.scandir(self.path))
        except FileNotFoundError:
            return swept
        now = time.time()
        for entry in entries:
            try:
                swept = swept.add(_sweep_one(Path(entry.path), now - grace_s))
            except OSError:
                log.warning("scratch.sweep_failed", exc_info=True, extra={"entry": entry.name})
        if swept.entries:
            log.info("scratch.swept", extra={"folder": str(self.path), "entries": swept.entries,
                                             "bytes": swept.bytes})
        return swept


def _sweep_one(path: Path, older_than: float) -> Swept:
    info = path.lstat()
    if info.st_mtime > older_than:
        return Swept()
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
        path.unlink()  # nothing of ours (a link, a socket): it cannot be locked either
        return Swept(1, 0)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return Swept()  # its owner finished with it meanwhile, or another sweep took it
    try:
        try:
            fcntl.flock(fd, _LOCK)
        except BlockingIOError:
            return Swept()  # a live process holds it
        if stat.S_ISDIR(info.st_mode):
            size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
            shutil.rmtree(path, ignore_errors=True)
        else:
            size = info.st_size
            path.unlink(missing_ok=True)
        return Swept(1, size)
    finally:
        os.close(fd)
