"""Rendering the built-in music to M4A files, once per library version, cached on disk."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import av
import numpy as np

from mediashelf.music.songs import LIBRARY_VERSION, TRACKS, Track, synthesise
from mediashelf.music.synth import SR
from mediashelf.storage.scratch import ScratchDir

BIT_RATE = 160_000


def render_track(track: Track, dest: Path) -> Path:
    """Synthesise a track and write it to dest as AAC in an M4A container."""
    audio = synthesise(track)
    with av.open(str(dest), "w", format="ipod") as out:
        stream = out.add_stream("aac", rate=SR, layout="stereo", options={"aac_coder": "fast"})
        stream.bit_rate = BIT_RATE
        for i in range(0, audio.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio[:, i:i + 1024]),
                                               format="fltp", layout="stereo")
            frame.sample_rate = SR
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return dest


def track_path(dest_dir: Path, track: Track) -> Path:
    """Where render_library keeps a track (versioned, so a new sound never reuses old files)."""
    return dest_dir / f"{track.slug}-v{LIBRARY_VERSION}.m4a"


def _render_atomic(track: Track, dest: Path, scratch: ScratchDir) -> Path:
    entry = scratch.file(".m4a")
    try:
        render_track(track, entry.path)
        entry.keep_as(dest)
    finally:
        entry.discard()
    return dest


def render_library(dest_dir: Path) -> list[tuple[Track, Path]]:
    """Render every missing track into dest_dir (atomically) and return the whole catalogue."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    scratch = ScratchDir(dest_dir / ".tmp")
    scratch.sweep()  # renders of a process killed mid-way
    missing = [t for t in TRACKS if not track_path(dest_dir, t).is_file()]
    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        list(pool.map(lambda t: _render_atomic(t, track_path(dest_dir, t), scratch), missing))
    return [(t, track_path(dest_dir, t)) for t in TRACKS]
