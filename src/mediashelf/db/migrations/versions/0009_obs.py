"""Workers' heartbeats: a row per running worker, so that an idle worker is seen alive too;
and a job's `traceparent`, the span of the request that queued it (OpenTelemetry, if traced).

Revision ID: 0009
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("started_ms", sa.BigInteger, nullable=False),
        sa.Column("beat_ms", sa.BigInteger, nullable=False),
        sa.Column("concurrency", sa.Integer, nullable=False),
    )
    op.add_column("jobs", sa.Column("traceparent", sa.String(64)))


def downgrade() -> None:
    op.drop_column("jobs", "traceparent")
    op.drop_table("workers")
