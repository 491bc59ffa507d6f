"""Local files for folder uploads: which ones to send, and their SHA-256 (no I/O but reading)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

MEDIA_SUFFIXES = frozenset({
    ".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".avif",
    ".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".mpg", ".mpeg", ".ts", ".3gp", ".flv",
    ".ogv", ".mp3", ".m4a", ".aac", ".wav", ".flac", ".ogg", ".oga", ".opus",
})
_CHUNK = 1 << 20
_HASHERS = 4  # threads hashing files at once (at most one per core)


def media_files(paths: Sequence[Path]) -> list[Path]:
    """Files as given; folders give their media files, hidden files and folders skipped."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(f for f in path.rglob("*") if f.is_file()
                            and f.suffix.lower() in MEDIA_SUFFIXES
                            and not any(p.startswith(".") for p in f.relative_to(path).parts))
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def _digest_or_none(path: Path) -> str | None:
    try:
        return sha256_of(path)
    except OSError:
        return None


def sha256_of(path: Path) -> str:
    """The file's SHA-256, as the server records it (lowercase hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class HashCache:
    """Digests of files already hashed, by path, valid while the file's size, mtime, ctime and
    inode are unchanged (any write changes ctime): uploading a folder again reads no file.

    Kept in SQLite under MEDIASHELF_CACHE_DIR (default `$XDG_CACHE_HOME/mediashelf`, else
    `~/.cache/mediashelf`); where that cannot be written, files are simply hashed each time.
    """

    def __init__(self, folder: Path | None = None) -> None:
        self._db: sqlite3.Connection | None = None
        where = folder or cache_dir()
        try:
            where.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(where / "sha256.db", timeout=10)
            self._db.execute("CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, "
                             "stamp TEXT NOT NULL, sha256 TEXT NOT NULL)")
        except (OSError, sqlite3.Error):
            self._db = None

    def digests(self, files: Sequence[Path]) -> dict[Path, str]:
        """Each readable file's SHA-256 (unreadable ones are left out)."""
        out: dict[Path, str] = {}
        unknown: list[tuple[Path, str, str]] = []
        for f in files:
            try:
                st = f.stat()
                path = str(f.resolve())
            except OSError:
                continue
            stamp = f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"
            known = self._lookup(path, stamp)
            if known is None:
                unknown.append((f, path, stamp))
            else:
                out[f] = known
        # hashlib lets go of the GIL on large reads' updates: files hash side by side
        with ThreadPoolExecutor(min(_HASHERS, os.cpu_count() or 1)) as pool:
            made = list(pool.map(_digest_or_none, [f for f, _, _ in unknown]))
        fresh: list[tuple[str, str, str]] = []
        for (f, path, stamp), digest in zip(unknown, made, strict=True):
            if digest is not None:
                out[f] = digest
                fresh.append((path, stamp, digest))
        self._store(fresh)
        return {f: out[f] for f in files if f in out}  # in the order given

    def _lookup(self, path: str, stamp: str) -> str | None:
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT stamp, sha256 FROM files WHERE path = ?",
                                   (path,)).fetchone()
        except sqlite3.Error:
            return None
        return str(row[1]) if row is not None and row[0] == stamp else None

    def _store(self, rows: list[tuple[str, str, str]]) -> None:
        if self._db is None or not rows:
            return
        with contextlib.suppress(sqlite3.Error), self._db:
            self._db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?)", rows)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def cache_dir() -> Path:
    """Where the client keeps its state (digests, resumable upload URLs): one folder, one
    setting, MEDIASHELF_CACHE_DIR."""
    if os.environ.get("MEDIASHELF_CACHE_DIR"):
        return Path(os.environ["MEDIASHELF_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "mediashelf"
