"""Revision 0005 on SQLite and PostgreSQL: the idempotency keys' table and the digest and
source-URL indexes come and go; the assets stay."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from tests.support.library import make_asset

from mediashelf.db import migrate
from mediashelf.db.assets import AssetRepository
from mediashelf.db.database import Database
from mediashelf.db.keys import KeyRepository
from mediashelf.domain import AssetStatus, AssetType, Tenant, now_ms


def _shape(database: Database) -> tuple[bool, set[str]]:
    with database.read() as conn:
        inspector = sa.inspect(conn)
        return (inspector.has_table("idempotency_keys"),
                {ix["name"] for ix in inspector.get_indexes("assets") if ix["name"]})


def test_0005_up_and_down(database: Database) -> None:
    tenant = Tenant(uuid.uuid4(), f"t-{uuid.uuid4().hex[:8]}", now_ms())
    made = make_asset(tenant.id, AssetType.IMAGE, AssetStatus.READY, now_ms())
    made.sha256, made.source_url = "ab" * 32, "https://example.com/a.png"
    with database.write() as conn:
        KeyRepository().insert_tenant(conn, tenant)
        AssetRepository().insert(conn, made)
    has_table, indexes = _shape(database)
    assert has_table and {"ix_assets_sha256", "ix_assets_source"} <= indexes
    migrate.downgrade(database, "0003")
    has_table, indexes = _shape(database)
    assert not has_table and not {"ix_assets_sha256", "ix_assets_source"} & indexes
    migrate.upgrade(database)
    with database.read() as conn:
        found = AssetRepository().live_copy(conn, made.tenant_id, AssetType.IMAGE,
                                            sha256="ab" * 32)
        by_url = AssetRepository().live_copy(conn, made.tenant_id, AssetType.IMAGE,
                                             source_url="https://example.com/a.png")
    assert found is not None and by_url is not None and found.id == by_url.id == made.id
