"""Counts per (owner, type, status, time bucket), for reaching any page without walking to it;
and a version number per owner, raised by every write, for reusing unchanged listings.

Revision ID: 0002
Revises: 0001
"""

from collections import Counter

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SHIFTS = (20, 26, 32)  # as BUCKET_SHIFTS in mediashelf.db.schema, frozen for this revision
_BATCH = 50_000


def upgrade() -> None:
    buckets = op.create_table(
        "asset_buckets",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("type", sa.String(8), primary_key=True),
        sa.Column("status", sa.String(12), primary_key=True),
        sa.Column("level", sa.SmallInteger, primary_key=True),
        sa.Column("bucket", sa.BigInteger, primary_key=True),
        sa.Column("n", sa.BigInteger, nullable=False),
    )
    assert buckets is not None
    op.create_table(
        "library_versions",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
    )  # a missing row is version 0; the first write makes it 1
    # Backfill from the live rows. The bucket comes from the id's embedded creation time (the
    # listing orders by id), which both databases store differently: computed here, in Python.
    assets = sa.table("assets", sa.column("id", sa.Uuid), sa.column("tenant_id", sa.Uuid),
                      sa.column("type", sa.String), sa.column("status", sa.String),
                      sa.column("deleted_ms", sa.BigInteger))
    conn = op.get_bind()
    counts: Counter[tuple[object, str, str, int, int]] = Counter()
    rows = conn.execute(sa.select(assets.c.id, assets.c.tenant_id, assets.c.type,
                                  assets.c.status).where(assets.c.deleted_ms.is_(None)))
    for asset_id, tenant_id, type_, status in rows:
        ms = asset_id.int >> 80
        for level, shift in enumerate(_SHIFTS):
            counts[(tenant_id, type_, status, level, ms >> shift)] += 1
    items = [{"tenant_id": k[0], "type": k[1], "status": k[2], "level": k[3], "bucket": k[4],
              "n": n} for k, n in counts.items()]
    for i in range(0, len(items), _BATCH):
        op.bulk_insert(buckets, items[i:i + _BATCH])


def downgrade() -> None:
    op.drop_table("library_versions")
    op.drop_table("asset_buckets")
