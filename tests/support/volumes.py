"""A small real volume (tmpfs) for tests of full disks; skipped where mounting is not allowed."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def small_volume(path: Path, size: str) -> Iterator[Path]:
    """Mount a tmpfs of `size` (e.g. '64m') at path for the duration."""
    path.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs",
                          str(path)], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): "
                    f"{res.stderr.strip() or res.returncode}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(path: Path, leave: int) -> Path:
    """A filler file that leaves about `leave` bytes free on path's volume."""
    filler = path / "filler.bin"
    block = b"\0" * (1 << 20)
    with open(filler, "ab") as fh:
        while (room := free_bytes(path) - leave) > 0:
            fh.write(block[:min(room, len(block))])
            fh.flush()
    return filler
