"""Tenants, keys, assets, counts, jobs.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_LIVE = sa.text("deleted_ms IS NULL")
_DELETED = sa.text("deleted_ms IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("revoked_ms", sa.BigInteger),
        sa.Column("last_used_ms", sa.BigInteger),
    )
    op.create_table(
        "assets",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("name", sa.String(256)),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
        sa.Column("mime_type", sa.String(128)),
        sa.Column("size_bytes", sa.BigInteger),
        sa.Column("sha256", sa.String(64)),
        sa.Column("width", sa.Integer),
        sa.Column("height", sa.Integer),
        sa.Column("duration_ms", sa.BigInteger),
        sa.Column("has_audio", sa.Boolean),
        sa.Column("failure_reason", sa.Text),
        sa.Column("blurhash", sa.String(128)),
        sa.Column("source_url", sa.Text),
        sa.Column("original_name", sa.String(512)),
        sa.Column("file_key", sa.String(256)),
        sa.Column("thumb_key", sa.String(256)),
        sa.Column("thumb_mime", sa.String(64)),
        sa.Column("deleted_ms", sa.BigInteger),
        sa.Column("extra", sa.JSON, nullable=False),
    )
    op.create_index("ix_assets_list", "assets", ["tenant_id", "type", "status", "id"],
                    sqlite_where=_LIVE, postgresql_where=_LIVE)
    op.create_index("ix_assets_deleted", "assets", ["deleted_ms"],
                    sqlite_where=_DELETED, postgresql_where=_DELETED)
    op.create_table(
        "asset_counts",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("type", sa.String(8), primary_key=True),
        sa.Column("status", sa.String(12), primary_key=True),
        sa.Column("n", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("asset_id", sa.Uuid, sa.ForeignKey("assets.id", ondelete="CASCADE"),
                  nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("run_after_ms", sa.BigInteger, nullable=False),
        sa.Column("lease_owner", sa.String(128)),
        sa.Column("lease_expires_ms", sa.BigInteger),
        sa.Column("last_error", sa.Text),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_jobs_ready", "jobs", ["state", "run_after_ms"])
    op.create_index("ix_jobs_lease", "jobs", ["state", "lease_expires_ms"])
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("meta", "jobs", "asset_counts", "assets", "api_keys", "tenants"):
        op.drop_table(table)
