"""Free space on the local volumes a process writes, and the reserve kept free on them.

Uploads, imports, downloads and thumbnails stop while a volume is below its reserve, so that the
writes which free space (deletes, the purge) and the database's journal always find room. The
refusal is an OSError(ENOSPC), the same as a disk that is really full: one path (is_disk_full)
turns both into a 507 for clients and a postponed job for the worker.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mediashelf.settings import Reserve

_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_SQLITE_FULL = 13  # SQLITE_FULL: "database or disk is full"
_PG_DISK_FULL = "53100"


@dataclass(frozen=True, slots=True)
class Space:
    """The tightest volume: its free bytes and its reserve."""

    free: int
    reserve: int

    @property
    def low(self) -> bool:
        """At or below the reserve (with no reserve: full)."""
        return self.free <= self.reserve


class SpaceGuard:
    """Watches the volumes holding the given folders (each volume once)."""

    def __init__(self, folders: Iterable[Path], reserve: Reserve) -> None:
        self._reserve = reserve
        self._folders: list[Path] = []
        seen: set[int] = set()
        for folder in folders:
            device = _existing(folder).stat().st_dev
            if device not in seen:
                seen.add(device)
                self._folders.append(folder)

    def measure(self) -> Space:
        """The volume with the least room above its reserve."""
        tightest: Space | None = None
        for folder in self._folders:
            try:
                st = os.statvfs(folder)
            except FileNotFoundError:  # not made yet: its volume is its parent's
                st = os.statvfs(_existing(folder))
            space = Space(st.f_bavail * st.f_frsize, self._reserve.on(st.f_blocks * st.f_frsize))
            if tightest is None or space.free - space.reserve < tightest.free - tightest.reserve:
                tightest = space
        return tightest or Space(0, 0)

    def has_room(self, need: int = 0) -> bool:
        space = self.measure()
        return space.free - need >= space.reserve

    def check(self, need: int = 0) -> None:
        """OSError(ENOSPC) if writing need more bytes would cut into the reserve."""
        if not self.has_room(need):
            raise OSError(errno.ENOSPC, "free space is below the reserve")


def _existing(folder: Path) -> Path:
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    return folder


def is_disk_full(exc: BaseException) -> bool:
    """Whether an error (or one it was raised from) says a disk or quota is full, ours or the
    database's."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, OSError) and seen.errno in _FULL_ERRNOS:
            return True
        for error in (seen, getattr(seen, "orig", None)):  # SQLAlchemy wraps the driver's
            if getattr(error, "sqlite_errorcode", None) == _SQLITE_FULL or \
                    getattr(error, "sqlstate", None) == _PG_DISK_FULL:
                return True
        seen = seen.__cause__ or seen.__context__
    return False
