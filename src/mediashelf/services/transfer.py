"""Copy a whole library between backends through a folder: `library export` / `library import`.

The folder holds one JSON-lines file per table (tenants, API-key hashes, assets, meta) and the
stored objects under objects/<key>, so an embedded library can move to PostgreSQL + S3 (or back)
without either side knowing the other. Counts and jobs are rebuilt on import.
"""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from mediashelf.db import migrate
from mediashelf.db.assets import AssetRepository
from mediashelf.db.database import Database
from mediashelf.db.jobs import JobRepository
from mediashelf.db.transfer import TABLES, TransferRepository
from mediashelf.domain import SYSTEM_TENANT_ID, Asset, AssetStatus, JobKind, now_ms
from mediashelf.errors import MediashelfError
from mediashelf.storage.base import Storage

log = logging.getLogger("mediashelf.transfer")

FORMAT = "mediashelf-export"
VERSION = 2  # 2: assets carry declared_type; 1 (still read) kept that flag in their extra
_READABLE = (1, 2)
_CHUNK = 1 << 20
_BATCH = 500


class TransferError(MediashelfError):
    status = 400
    default_message = "cannot transfer the library"


@dataclass(slots=True)
class Summary:
    tenants: int = 0
    keys: int = 0
    assets: int = 0
    webhooks: int = 0
    objects: int = 0
    bytes: int = 0


def _encode(row: dict[str, Any]) -> str:
    return json.dumps({k: str(v) if isinstance(v, uuid.UUID) else v for k, v in row.items()},
                      separators=(",", ":"), ensure_ascii=False)


def _owner_id(key: str) -> str | None:
    """The asset id in assets/<id>/… or trash/<id>/…."""
    parts = key.split("/")
    return parts[1] if len(parts) >= 3 and parts[0] in ("assets", "trash") else None


def export_library(db: Database, storage: Storage, folder: Path) -> Summary:
    """Write every row and every asset's stored objects into an empty (or new) folder."""
    if folder.exists() and any(folder.iterdir()):
        raise TransferError(f"{folder} is not empty")
    folder.mkdir(parents=True, exist_ok=True)
    summary = Summary()
    ids: set[str] = set()
    rows = TransferRepository()
    with db.read() as conn:
        for name in TABLES:
            n = 0
            with open(folder / f"{name}.jsonl", "w", encoding="utf-8") as out:
                for row in rows.rows(conn, name):
                    out.write(_encode(row) + "\n")
                    n += 1
                    if name == "assets":
                        ids.add(str(row["id"]))
                    elif name == "tenants" and row["id"] == SYSTEM_TENANT_ID:
                        n -= 1  # every library has it: an import keeps its own, so not counted
            if name != "meta":
                setattr(summary, {"api_keys": "keys", "webhook_endpoints": "webhooks"}.get(
                    name, name), n)
    objects = folder / "objects"
    for top in ("assets/", "trash/"):
        for key in storage.list_keys(top):
            if _owner_id(key) not in ids:
                continue  # not an asset of this library (a leftover): not worth carrying
            target = objects.joinpath(*key.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            with storage.open(key) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, _CHUNK)
            summary.objects += 1
            summary.bytes += target.stat().st_size
    (folder / "manifest.json").write_text(json.dumps(
        {"format": FORMAT, "version": VERSION, "schema": migrate.current(db),
         "exportedMs": now_ms(), "counts": {"tenants": summary.tenants, "keys": summary.keys,
                                            "assets": summary.assets,
                                            "webhooks": summary.webhooks,
                                            "objects": summary.objects}}, indent=2))
    log.info("library.exported", extra={"folder": str(folder), "assets": summary.assets,
                                        "objects": summary.objects})
    return summary


def _read(folder: Path, name: str) -> Iterator[dict[str, Any]]:
    rows = TransferRepository()
    with open(folder / f"{name}.jsonl", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield rows.parse(name, json.loads(line))


def _check_target(conn: Connection) -> None:
    if not TransferRepository().is_empty(conn):
        raise TransferError("the target library is not empty (it has assets or API keys); "
                            "import into a new database and bucket")


def import_library(db: Database, storage: Storage, folder: Path) -> Summary:
    """Load an export into an empty library: objects first, then the rows in one transaction."""
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise TransferError(f"{folder} holds no mediashelf export (manifest.json is missing)")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("format") != FORMAT or manifest.get("version") not in _READABLE:
        raise TransferError("unknown export format")
    with db.read() as conn:
        _check_target(conn)
    summary = Summary()
    types = {str(r["id"]): (r["mime_type"], r["thumb_mime"]) for r in _read(folder, "assets")}
    objects = folder / "objects"
    if objects.is_dir():
        for path in sorted(p for p in objects.rglob("*") if p.is_file()):
            key = path.relative_to(objects).as_posix()
            mime, thumb_mime = types.get(_owner_id(key) or "", (None, None))
            content_type = mime if key.endswith("/original") else thumb_mime
            writer = storage.writer(key, content_type)
            try:
                with open(path, "rb") as fh:
                    while chunk := fh.read(_CHUNK):
                        writer.write(chunk)
                writer.commit()
            except BaseException:
                writer.abort()
                raise
            summary.objects += 1
            summary.bytes += path.stat().st_size
    rows, repo, jobs = TransferRepository(), AssetRepository(), JobRepository()
    with db.write() as conn:
        _check_target(conn)
        have = rows.tenant_ids(conn)
        for row in _read(folder, "tenants"):
            if row["id"] in have:
                continue  # the system tenant, made when the target first started
            rows.insert(conn, "tenants", row)
            summary.tenants += 1
        for row in _read(folder, "api_keys"):
            rows.insert(conn, "api_keys", row)
            summary.keys += 1
        batch: list[Asset] = []
        for row in _read(folder, "assets"):
            batch.append(rows.asset(row))
            if len(batch) >= _BATCH:
                summary.assets += _load(conn, repo, jobs, batch)
                batch = []
        summary.assets += _load(conn, repo, jobs, batch)
        if (folder / "webhook_endpoints.jsonl").is_file():  # exports from before webhooks lack it
            for row in _read(folder, "webhook_endpoints"):
                rows.insert(conn, "webhook_endpoints", row)
                summary.webhooks += 1
        for row in _read(folder, "meta"):
            rows.put_meta(conn, row)
    log.info("library.imported", extra={"folder": str(folder), "assets": summary.assets,
                                        "objects": summary.objects})
    return summary


def _load(conn: Connection, repo: AssetRepository, jobs: JobRepository,
          batch: list[Asset]) -> int:
    """Insert the rows with their counts; what was still PROCESSING is queued again."""
    repo.bulk_insert(conn, batch)
    for a in batch:
        if a.status is AssetStatus.PROCESSING and a.deleted_ms is None:
            jobs.enqueue(conn, a.id, JobKind.IMPORT if a.file_key is None else JobKind.PROCESS,
                         now_ms())
    return len(batch)
