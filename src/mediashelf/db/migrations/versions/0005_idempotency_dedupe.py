"""Idempotency keys (the first answer to a POST, kept per tenant and key), and the indexes that
find a tenant's live asset by its bytes' SHA-256 or by the URL it was imported from.

Revision ID: 0005
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_WITH_SHA = sa.text("deleted_ms IS NULL AND sha256 IS NOT NULL")
_WITH_URL = sa.text("deleted_ms IS NULL AND source_url IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("fingerprint", sa.String(64)),
        sa.Column("status", sa.Integer),
        sa.Column("body", sa.Text),
        sa.Column("headers", sa.JSON),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("expires_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_idempotency_expires", "idempotency_keys", ["expires_ms"])
    op.create_index("ix_assets_sha256", "assets", ["tenant_id", "sha256"],
                    sqlite_where=_WITH_SHA, postgresql_where=_WITH_SHA)
    # a hash index: a URL can be longer than a PostgreSQL B-tree entry may be
    op.create_index("ix_assets_source", "assets", ["source_url"], postgresql_using="hash",
                    sqlite_where=_WITH_URL, postgresql_where=_WITH_URL)


def downgrade() -> None:
    op.drop_index("ix_assets_source", "assets")
    op.drop_index("ix_assets_sha256", "assets")
    op.drop_index("ix_idempotency_expires", "idempotency_keys")
    op.drop_table("idempotency_keys")
