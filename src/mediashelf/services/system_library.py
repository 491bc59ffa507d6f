"""The shared system library: the system tenant, `system import`, and the built-in music."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from mediashelf.db.database import Database
from mediashelf.db.keys import KeyRepository
from mediashelf.db.meta import MetaRepository
from mediashelf.domain import SYSTEM_TENANT_ID, SYSTEM_TENANT_NAME, Asset, AssetType, Tenant
from mediashelf.domain import now_ms as _now
from mediashelf.services.assets import AssetService

log = logging.getLogger("mediashelf.system")

_CHUNK = 1 << 20
_MUSIC_KEY = "music_version"


def music_cache_dir() -> Path:
    """Rendered tracks are cached per user, so each new library does not synthesise them again."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mediashelf" / "music"


class SystemLibrary:
    def __init__(self, db: Database, assets: AssetService) -> None:
        self._db, self._assets = db, assets

    def ensure_tenant(self) -> None:
        from sqlalchemy.exc import IntegrityError

        keys = KeyRepository()
        try:
            with self._db.write() as conn:
                if keys.tenant_by_name(conn, SYSTEM_TENANT_NAME) is None:
                    keys.insert_tenant(conn, Tenant(SYSTEM_TENANT_ID, SYSTEM_TENANT_NAME, _now()))
        except IntegrityError:
            pass  # another process starting at the same moment made it (PostgreSQL)

    def import_file(self, path: Path, asset_type: AssetType | None = None,
                    name: str | None = None, extra: dict[str, object] | None = None,
                    tags: list[str] | None = None) -> Asset:
        """Copy one file into the system library; it is processed like an upload."""
        sink = self._assets.start_upload(SYSTEM_TENANT_ID, asset_type)
        try:
            with open(path, "rb") as fh:
                while chunk := fh.read(_CHUNK):
                    sink.feed(chunk)
            return sink.finish(name, path.name, None, extra=extra, tags=tags)
        except BaseException:
            sink.abort()
            raise

    def seed_music(self) -> list[Asset]:
        """Add the built-in music once per library version; the first process to start does it."""
        from mediashelf.music.library import render_library
        from mediashelf.music.songs import LIBRARY_VERSION

        meta = MetaRepository()
        with self._db.write() as conn:
            if meta.get(conn, _MUSIC_KEY) == str(LIBRARY_VERSION):
                return []
            meta.set(conn, _MUSIC_KEY, str(LIBRARY_VERSION))
        added = []
        for track, path in render_library(music_cache_dir()):
            added.append(self.import_file(
                path, AssetType.AUDIO, track.name,
                extra={"builtin": "music", "mood": track.mood, "bpm": track.bpm},
                tags=track.tags))
        log.info("music.seeded", extra={"tracks": len(added), "version": LIBRARY_VERSION})
        return added
