"""The event outbox: one row per asset event, written with the change it reports.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("asset_id", sa.Uuid, nullable=False),
        sa.Column("type", sa.String(24), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("asset", sa.Text, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_events_tenant", "events", ["tenant_id", "id"])
    op.create_index("ix_events_created", "events", ["created_ms"])


def downgrade() -> None:
    op.drop_index("ix_events_created", table_name="events")
    op.drop_index("ix_events_tenant", table_name="events")
    op.drop_table("events")
