"""Fill a library of N assets quickly, through the project's own data layer (bulk inserts)."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mediashelf.db.assets import AssetRepository
from mediashelf.domain import (
    SYSTEM_TENANT_ID,
    Asset,
    AssetStatus,
    AssetType,
    ListQuery,
    Scope,
    now_ms,
    uuid7,
)

TENANTS = ("acme", "globex", "initech")
SYSTEM_SHARE = 0.01  # the shared music library: 1 % of the rows, all AUDIO and READY
# Spread over all rows: 10 % AUDIO, 45 % IMAGE, 45 % VIDEO; 90 % READY, 7 % PROCESSING, 3 % FAILED.
# The system library's rows are AUDIO/READY, so the tenants' own shares are set to keep the totals.
_TENANT_TYPES = ((AssetType.AUDIO, 9), (AssetType.IMAGE, 45), (AssetType.VIDEO, 45))
_TENANT_STATUSES = ((AssetStatus.READY, 89), (AssetStatus.PROCESSING, 7), (AssetStatus.FAILED, 3))
SPAN_DAYS = 365  # created over the last year, uniformly (a library that grew steadily)
_BATCH = 20_000
_MIME = {AssetType.AUDIO: "audio/mp4", AssetType.IMAGE: "image/jpeg",
         AssetType.VIDEO: "video/mp4"}
# Words and a tag with known shares, for the search cases (bench/search.py): by row number, so
# the rows' other draws (owner, type, status, time) stay those of earlier runs.
RARE_WORD, COMMON_WORD, TAG = "aurora", "beach", "drone"  # 0.1 %, 30 % and 5 % of the rows


def labels(i: int) -> tuple[list[str], list[str]]:
    """Row i's name words and tags."""
    found = []
    if i % 1000 == 7:
        found.append("Aurora")
    if i % 10 in (1, 4, 7):
        found.append("Beach")
    return found, ([TAG] if i % 20 == 3 else [])


@dataclass
class Library:
    keys: dict[str, str] = field(default_factory=dict)  # tenant name -> API key
    tenant_ids: dict[str, uuid.UUID] = field(default_factory=dict)
    counts: dict[tuple[str, str, str], int] = field(default_factory=dict)  # owner, type, status
    some_ids: dict[str, str] = field(default_factory=dict)  # tenant -> one READY asset id
    # (owner, status, word or "#tag") -> rows: the search cases' exact totals, counted here
    labelled: dict[tuple[str, str, str], int] = field(default_factory=dict)
    fill_seconds: float = 0.0


def _asset(owner: uuid.UUID, type_: AssetType, status: AssetStatus, ms: int, i: int) -> Asset:
    asset_id = uuid7(ms)
    ready = status is AssetStatus.READY
    found, tags = labels(i)
    return Asset(
        id=asset_id, tenant_id=owner, name=" ".join([*found, type_.value.lower(), f"{i:07d}"]),
        tags=tags, type=type_,
        status=status, created_ms=ms, updated_ms=ms, mime_type=_MIME[type_] if ready else None,
        size_bytes=1_000_000 + i % 997, sha256=None, width=1920 if type_ is not AssetType.AUDIO
        else None, height=1080 if type_ is not AssetType.AUDIO else None,
        duration_ms=30_000 if type_ is not AssetType.IMAGE and ready else None,
        original_name=f"file-{i:07d}.{_MIME[type_].split('/')[1]}",
        file_key=f"assets/{asset_id}/original",
        thumb_key=f"assets/{asset_id}/thumb.webp" if ready else None,
        thumb_mime="image/webp" if ready else None,
        failure_reason="the file could not be decoded" if status is AssetStatus.FAILED else None,
        declared_type=False)


def _rows(n: int, owners: list[uuid.UUID], seed: int) -> Iterator[list[Asset]]:
    """Batches of assets in creation order (appends to the indexes, as a live library does)."""
    rnd = random.Random(seed)
    end = now_ms() - 60_000
    start = end - SPAN_DAYS * 86_400_000
    times = sorted(rnd.randint(start, end) for _ in range(n))
    types, tw = zip(*_TENANT_TYPES, strict=True)
    statuses, sw = zip(*_TENANT_STATUSES, strict=True)
    batch: list[Asset] = []
    for i, ms in enumerate(times):
        if rnd.random() < SYSTEM_SHARE:
            batch.append(_asset(SYSTEM_TENANT_ID, AssetType.AUDIO, AssetStatus.READY, ms, i))
        else:
            batch.append(_asset(rnd.choice(owners), rnd.choices(types, tw)[0],
                                rnd.choices(statuses, sw)[0], ms, i))
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def fill(services: Any, n: int, seed: int = 6) -> Library:
    """Tenants, one key each, and n assets spread over them and the system library."""
    lib = Library()
    for name in TENANTS:
        plain, key = services.keys.create(name)
        lib.keys[name], lib.tenant_ids[name] = plain, key.tenant_id
    owners = [lib.tenant_ids[t] for t in TENANTS]
    repo = AssetRepository()
    started = time.perf_counter()
    for batch in _rows(n, owners, seed):
        with services.db.write() as conn:
            repo.bulk_insert(conn, batch)
        for a in batch:
            k = (str(a.tenant_id), a.type.value, a.status.value)
            lib.counts[k] = lib.counts.get(k, 0) + 1
            for label in [*(a.name or "").lower().split(), *(f"#{t}" for t in a.tags)]:
                if label in (RARE_WORD, COMMON_WORD, f"#{TAG}"):
                    at = (str(a.tenant_id), a.status.value, label)
                    lib.labelled[at] = lib.labelled.get(at, 0) + 1
    lib.fill_seconds = time.perf_counter() - started
    for name, tid in lib.tenant_ids.items():
        page = services.assets.list(tid, ListQuery(scope=Scope.MINE, page_size=1))
        assert page.form is not None, "a filled library lists something"
        lib.some_ids[name] = page.form.id_text(page.rows[0].id)
    return lib


def open_library(data_dir: Path, database_url: str) -> Any:
    """The services of a library at data_dir on database_url, schema up to date."""
    from mediashelf.app import build_services
    from mediashelf.db import migrate
    from mediashelf.services.system_library import SystemLibrary
    from mediashelf.settings import Settings

    settings = Settings(data_dir=data_dir, database_url=database_url, seed_music=False)
    services = build_services(settings, with_worker=False)
    migrate.upgrade(services.db)
    SystemLibrary(services.db, services.assets).ensure_tenant()
    return services
