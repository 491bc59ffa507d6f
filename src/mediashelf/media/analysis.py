"""Analyse an untrusted media file in a separate process with time and memory limits."""

from __future__ import annotations

import resource
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path

from pebble import ProcessExpired, ProcessPool

from mediashelf.domain import AssetType
from mediashelf.media.probe import MediaError, MediaInfo, inspect
from mediashelf.media.thumbnails import make_thumbnail


@dataclass(slots=True)
class Analysis:
    info: MediaInfo
    thumbnail: bytes
    thumbnail_mime: str = "image/webp"
    blurhash: str | None = None


def analyse(path: Path, declared: AssetType | None) -> Analysis:
    """Probe and thumbnail one file, in this process. Raises MediaError with a user-facing reason."""
    info = inspect(path)
    if declared is not None and info.type is not declared:
        raise MediaError(f"declared {declared.value} but the file is {_a(info)}")
    return Analysis(info, make_thumbnail(path, info))


def _a(info: MediaInfo) -> str:
    kind = info.type.value.lower()
    fmt = info.mime_type.split("/")[-1].upper()
    return f"a {fmt} {kind}" if info.type is not AssetType.AUDIO else f"an {fmt} audio file"


def _limit_memory(megabytes: int) -> None:
    limit = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


class Analyser:
    """A pool of decoder processes; a crash, hang or out-of-memory fails one asset, not the server."""

    def __init__(self, processes: int, timeout: float, memory_mb: int, tasks_per_process: int) -> None:
        self._timeout = timeout
        self._pool = ProcessPool(max_workers=processes, max_tasks=tasks_per_process,
                                 initializer=_limit_memory, initargs=(memory_mb,))

    def run(self, path: Path, declared: AssetType | None) -> Analysis:
        future = self._pool.schedule(analyse, args=(path, declared), timeout=self._timeout)
        try:
            return future.result()
        except FutureTimeout:
            raise MediaError(f"took longer than {self._timeout:g} s") from None
        except ProcessExpired:
            raise MediaError("the decoder crashed") from None
        except MemoryError:
            raise MediaError("the file needs more memory than allowed to decode") from None

    def close(self) -> None:
        self._pool.stop()
        self._pool.join(timeout=5)
