"""A version number per (owner, type) instead of per owner: a write raises only its asset's
type's, so a cached listing or asset of another type (or another owner) stays valid.

Revision ID: 0013
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None

_TYPES = ("AUDIO", "IMAGE", "VIDEO")  # as AssetType, frozen for this revision


def upgrade() -> None:
    op.create_table(
        "type_versions",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("type", sa.String(8), primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
    )  # a missing row is version 0; the first write makes it 1
    # each type starts at its owner's old number, so no version ever goes back
    for type_ in _TYPES:
        op.execute(sa.text("INSERT INTO type_versions (tenant_id, type, version) "
                           "SELECT tenant_id, :t, version FROM library_versions"
                           ).bindparams(t=type_))
    op.drop_table("library_versions")


def downgrade() -> None:
    op.create_table(
        "library_versions",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO library_versions (tenant_id, version) "
               "SELECT tenant_id, MAX(version) FROM type_versions GROUP BY tenant_id")
    op.drop_table("type_versions")
