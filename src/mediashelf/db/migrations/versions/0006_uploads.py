"""Resumable (tus) uploads: their offset, metadata, storage state, expiry and write lock.

Revision ID: 0006
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("length", sa.BigInteger, nullable=False),
        sa.Column("received", sa.BigInteger, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
        sa.Column("expires_ms", sa.BigInteger, nullable=False),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("name", sa.String(256)),
        sa.Column("filename", sa.String(512)),
        sa.Column("declared_type", sa.String(8)),
        sa.Column("content_type", sa.String(128)),
        sa.Column("dedupe", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("state", sa.JSON, nullable=False),
        sa.Column("asset_id", sa.Uuid),
        sa.Column("lock_token", sa.String(32)),
        sa.Column("lock_expires_ms", sa.BigInteger),
    )
    op.create_index("ix_uploads_expires", "uploads", ["expires_ms"])


def downgrade() -> None:
    op.drop_index("ix_uploads_expires", table_name="uploads")
    op.drop_table("uploads")
