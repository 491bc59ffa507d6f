"""Whether the client named an asset's type: a column of its own instead of a flag in `extra`.

The flag lived in `extra` as "declaredType". Each row takes its value (false stays false; true,
or no flag at all, was read as declared) and loses the key; the other keys keep their order, so
an asset's metadata reads as before.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_KEY = "declaredType"


def upgrade() -> None:
    op.add_column("assets", sa.Column("declared_type", sa.Boolean, nullable=False,
                                      server_default=sa.false()))
    if op.get_bind().dialect.name == "postgresql":
        # `extra` is json (not jsonb): rebuilt from its pairs in their order, without the flag
        op.execute(f"""
            UPDATE assets SET
                declared_type = COALESCE(extra->>'{_KEY}', 'true') <> 'false',
                extra = COALESCE((SELECT json_object_agg(e.key, e.value ORDER BY e.n)
                                  FROM json_each(assets.extra) WITH ORDINALITY AS e(key, value, n)
                                  WHERE e.key <> '{_KEY}'), '{{}}'::json)""")
    else:
        op.execute(f"""
            UPDATE assets SET
                declared_type = COALESCE(json_type(extra, '$.{_KEY}'), 'true') <> 'false',
                extra = json_remove(extra, '$.{_KEY}')""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            UPDATE assets SET extra = (
                SELECT json_object_agg(p.key, p.value ORDER BY p.n) FROM (
                    SELECT '{_KEY}' AS key, to_json(assets.declared_type) AS value, 0 AS n
                    UNION ALL
                    SELECT e.key, e.value, e.n
                    FROM json_each(assets.extra) WITH ORDINALITY AS e(key, value, n)) AS p)""")
    else:
        op.execute(f"""
            UPDATE assets SET extra = json_set(
                extra, '$.{_KEY}', json(CASE WHEN declared_type THEN 'true' ELSE 'false' END))""")
    op.drop_column("assets", "declared_type")
