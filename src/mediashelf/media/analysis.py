"""Analyse an untrusted media file in a separate process with time, memory and pixel limits."""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.util
import os
import resource
import tempfile
from concurrent.futures import CancelledError
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from pebble import ProcessExpired, ProcessPool
from PIL import Image

from mediashelf import priority
from mediashelf.domain import AssetType
from mediashelf.media.base import Limits, MediaError, MediaInfo
from mediashelf.media.probe import examine
from mediashelf.media.thumbnails import THUMB_SIZE, blurhash, encode

log = logging.getLogger("mediashelf.media")

CRASHED = "the decoder crashed"
TOO_BIG = "the file needs more memory than allowed to decode"
UNREADABLE = "the file could not be decoded"


@dataclass(slots=True)
class Analysis:
    info: MediaInfo
    thumbnail: bytes
    thumbnail_mime: str = "image/webp"
    blurhash: str | None = None


def analyse(path: Path, declared: AssetType | None, limits: Limits | None = None) -> Analysis:
    """Probe and thumbnail one file in this process; MediaError carries the user-facing reason."""
    info, picture = examine(path, declared, limits or Limits(), THUMB_SIZE)
    assert picture is not None
    data, mime = encode(picture)
    placeholder = blurhash(picture) if info.type is not AssetType.AUDIO else None
    return Analysis(info, data, mime, placeholder)


def _analyse_in_child(path: Path, declared: AssetType | None, limits: Limits) -> Analysis:
    """The pool's task: every failure leaves as a MediaError with a plain reason."""
    try:
        return analyse(path, declared, limits)
    except MediaError:
        raise
    except MemoryError as exc:
        raise MediaError(TOO_BIG, repr(exc)) from None
    except Exception as exc:  # a decoder's own error text is not for users
        raise MediaError(UNREADABLE, f"{type(exc).__name__}: {exc}") from None


def _start_child(memory_mb: int, max_pixels: int) -> None:
    """Runs once in each new worker: cap its address space and Pillow's decompression-bomb limit."""
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    Image.MAX_IMAGE_PIXELS = max_pixels
    # Decoding is background work: with every core busy, requests go first. A decoder holds
    # no lock anyone waits on, so this is safe on any database.
    priority.lower(thread=False)


# Linux's AF_UNIX socket paths: 108 bytes with the closing NUL.
_SOCKET_PATH_MAX = 107
# Below TMPDIR, Python 3.11's forkserver socket is /pymp-XXXXXXXX/listener-XXXXXXXX.
_SOCKET_TAIL = 32


def _socket_folder_fits() -> None:
    """Keep the forkserver's socket under AF_UNIX's length limit.

    Python before 3.13 makes the socket in TMPDIR, so a long TMPDIR (a deep scratch folder, a
    test runner's) makes the path too long and no decoder process can start: every asset
    fails. Then multiprocessing's own folder goes in /tmp or /var/tmp, as newer Pythons do.
    The folder is made once per process and removed at exit by multiprocessing itself."""
    if len(os.fsencode(tempfile.gettempdir())) + _SOCKET_TAIL <= _SOCKET_PATH_MAX:
        return
    short = next((d for d in ("/tmp", "/var/tmp") if os.access(d, os.W_OK | os.X_OK)), None)
    if short is None:
        return  # nowhere shorter: the pool reports itself broken, each asset FAILED
    saved, tempfile.tempdir = tempfile.tempdir, short  # get_temp_dir takes no folder
    try:
        multiprocessing.util.get_temp_dir()
    finally:
        tempfile.tempdir = saved


class Analyser:
    """A pool of decoder processes: a crash, hang or out-of-memory fails one asset only."""

    def __init__(self, processes: int, timeout: float, memory_mb: int, tasks_per_process: int, *,
                 max_pixels: int = 100_000_000, max_duration: float = 14400.0) -> None:
        self._timeout = timeout
        self._limits = Limits(max_pixels=max_pixels, max_duration=max_duration)
        # Forked children of a threaded server can inherit held locks; a fresh interpreter cannot.
        context = multiprocessing.get_context("forkserver")
        # Children fork from a server that already imported the decoders: quick to replace.
        context.set_forkserver_preload(["mediashelf.media.analysis"])
        _socket_folder_fits()
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # numpy's BLAS would reserve memory
        self._pool = ProcessPool(max_workers=processes, max_tasks=tasks_per_process,
                                 initializer=_start_child, initargs=(memory_mb, max_pixels),
                                 context=context)

    def run(self, path: Path, declared: AssetType | None) -> Analysis:
        """Analyse one file in a worker process; MediaError(reason) for every file we refuse."""
        future = self._pool.schedule(_analyse_in_child, args=(path, declared, self._limits),
                                     timeout=self._timeout)
        try:
            return future.result()
        except MediaError as exc:
            if exc.detail:
                log.info("media.refused", extra={"reason": exc.reason, "detail": exc.detail})
            raise
        except FutureTimeout:
            raise MediaError(f"took longer than {self._timeout:g} s") from None
        except ProcessExpired as exc:
            log.warning("media.crashed", extra={"exitcode": exc.exitcode})
            raise MediaError(CRASHED, f"exit code {exc.exitcode}") from None
        except MemoryError:
            raise MediaError(TOO_BIG) from None
        except CancelledError:
            raise MediaError("the analysis was cancelled") from None
        except BrokenProcessPool:
            # Workers that die before taking a task (e.g. the main module cannot be re-imported).
            log.error("media.pool_broken")
            raise MediaError(CRASHED, "the worker pool is broken") from None

    def worker_pids(self) -> list[int]:
        """Process ids of this pool's live decoder workers (for operators and tests)."""
        # pebble keeps its workers by pid on the pool manager; not public, so read it defensively.
        manager = getattr(getattr(self._pool, "_pool_manager", None), "worker_manager", None)
        workers = getattr(manager, "workers", {})
        return sorted(pid for pid, proc in dict(workers).items() if proc.is_alive())

    def close(self) -> None:
        """Stop the workers; jobs still running fail as cancelled."""
        self._pool.stop()  # type: ignore[no-untyped-call]
        self._pool.join(timeout=5)
