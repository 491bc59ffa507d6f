"""Local files for folder uploads: which ones to send, and their SHA-256 (no I/O but reading)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

MEDIA_SUFFIXES = frozenset({
    ".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".avif",
    ".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".mpg", ".mpeg", ".ts", ".3gp", ".flv",
    ".ogv", ".mp3", ".m4a", ".aac", ".wav", ".flac", ".ogg", ".oga", ".opus",
})
_CHUNK = 1 << 20


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


def sha256_of(path: Path) -> str:
    """The file's SHA-256, as the server records it (lowercase hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
