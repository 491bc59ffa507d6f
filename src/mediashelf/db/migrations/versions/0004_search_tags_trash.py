"""Tags, search and sorting: an asset's tags, its folded search words and sort name, a tag table,
the databases' own text index (FTS5 on SQLite, a tsvector on PostgreSQL) and one index per order.

The words are folded in Python (mediashelf.words), so both databases index the same ones; the
backfill does the same for existing rows, and tags the built-in music by mood and genre.

Revision ID: 0004
Revises: 0003
"""

import json
import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_BATCH = 5_000
_SYSTEM = "00000000-0000-7000-8000-000000000000"
# The built-in tracks' tags by name (mood and genre), frozen for this revision.
_MUSIC = {
    "Morning Light": ["acoustic", "calm", "folk", "hopeful"],
    "Upbeat Corporate": ["business", "corporate", "positive", "upbeat"],
    "Lo-fi Study": ["hip-hop", "jazzy", "lo-fi", "relaxed"],
    "Cinematic Rise": ["building", "cinematic", "dramatic", "epic"],
    "Tech Pulse": ["electronic", "energetic", "modern"],
    "Warm Piano": ["emotional", "gentle", "piano", "solo piano"],
    "Playful Pizzicato": ["light", "orchestral", "playful", "quirky"],
    "Deep Focus": ["ambient", "concentration", "spacious"],
}
_WORD = re.compile(r"[^\W_]+")


def _fold(text: str) -> str:  # as mediashelf.words.fold, frozen here
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _words(text: str) -> list[str]:
    return _WORD.findall(_fold(text))


_SQLITE_TRIGGERS = (
    """CREATE TRIGGER assets_search_ai AFTER INSERT ON assets BEGIN
         INSERT INTO asset_fts(rowid, search_text) VALUES (new.rowid, new.search_text);
       END""",
    """CREATE TRIGGER assets_search_ad AFTER DELETE ON assets BEGIN
         INSERT INTO asset_fts(asset_fts, rowid, search_text)
         VALUES ('delete', old.rowid, old.search_text);
       END""",
    """CREATE TRIGGER assets_search_au AFTER UPDATE OF search_text ON assets BEGIN
         INSERT INTO asset_fts(asset_fts, rowid, search_text)
         VALUES ('delete', old.rowid, old.search_text);
         INSERT INTO asset_fts(rowid, search_text) VALUES (new.rowid, new.search_text);
       END""",
)
_ORDERS = {"name": "name_key", "size": "size_bytes", "duration": "duration_ms"}


def upgrade() -> None:
    conn = op.get_bind()
    pg = conn.dialect.name == "postgresql"
    op.add_column("assets", sa.Column("tags", sa.Text, nullable=False, server_default="[]"))
    op.add_column("assets", sa.Column("search_text", sa.Text, nullable=False,
                                      server_default=""))
    if pg:  # byte order, as on SQLite: the same names sort the same way on both
        op.execute("ALTER TABLE assets ADD COLUMN name_key text COLLATE \"C\" NOT NULL "
                   "DEFAULT ''")
    else:
        op.add_column("assets", sa.Column("name_key", sa.Text, nullable=False,
                                          server_default=""))
    tags_table = op.create_table(
        "asset_tags",
        sa.Column("tag", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("asset_id", sa.Uuid, primary_key=True),
    )
    assert tags_table is not None
    op.create_index("ix_asset_tags_asset", "asset_tags", ["asset_id"])
    _backfill(conn, tags_table)
    for label, column in _ORDERS.items():
        nulls = " NULLS FIRST" if pg and column != "name_key" else ""
        op.execute(f"CREATE INDEX ix_assets_by_{label} ON assets "
                   f"(tenant_id, type, status, {column}{nulls}, id) WHERE deleted_ms IS NULL")
    if pg:
        # the words as they are: no parser, no dictionary (they were folded in Python)
        op.execute("ALTER TABLE assets ADD COLUMN search tsvector GENERATED ALWAYS AS "
                   "(array_to_tsvector(string_to_array(search_text, ' '))) STORED")
        op.execute("CREATE INDEX ix_assets_search ON assets USING gin (search)")
    else:
        # the words come folded and space-separated: `ascii` splits them exactly there (and
        # folds nothing more); prefix indexes make short prefixes as quick as whole words
        op.execute("CREATE VIRTUAL TABLE asset_fts USING fts5(search_text, content='assets', "
                   "content_rowid='rowid', tokenize='ascii', prefix='1 2 3')")
        op.execute("INSERT INTO asset_fts(asset_fts) VALUES ('rebuild')")
        for trigger in _SQLITE_TRIGGERS:
            op.execute(trigger)


def _backfill(conn: sa.Connection, tags_table: sa.Table) -> None:
    assets = sa.table("assets", sa.column("id", sa.Uuid), sa.column("tenant_id", sa.Uuid),
                      sa.column("name", sa.String), sa.column("extra", sa.JSON),
                      sa.column("tags", sa.Text), sa.column("search_text", sa.Text),
                      sa.column("name_key", sa.Text))
    update = assets.update().where(assets.c.id == sa.bindparam("b_id")).values(
        tags=sa.bindparam("b_tags"), search_text=sa.bindparam("b_search"),
        name_key=sa.bindparam("b_key"))
    rows = conn.execute(sa.select(assets.c.id, assets.c.tenant_id, assets.c.name,
                                  assets.c.extra)).all()
    changes, tag_rows = [], []
    for asset_id, tenant_id, name, extra in rows:
        tags: list[str] = []
        if str(tenant_id) == _SYSTEM and isinstance(extra, dict) \
                and extra.get("builtin") == "music":
            tags = _MUSIC.get(name or "", [])
        tag_rows += [{"tag": t, "tenant_id": tenant_id, "asset_id": asset_id} for t in tags]
        words = [*_words(name or ""), *(w for t in tags for w in _words(t))]
        changes.append({"b_id": asset_id, "b_tags": json.dumps(tags), "b_search": " ".join(words),
                        "b_key": _fold(name or "")[:256]})
    for i in range(0, len(changes), _BATCH):
        conn.execute(update, changes[i:i + _BATCH])
    for i in range(0, len(tag_rows), _BATCH):
        op.bulk_insert(tags_table, tag_rows[i:i + _BATCH])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_assets_search")
        op.drop_column("assets", "search")
    else:
        for name in ("assets_search_ai", "assets_search_ad", "assets_search_au"):
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE asset_fts")
    for label in _ORDERS:
        op.drop_index(f"ix_assets_by_{label}", "assets")
    op.drop_index("ix_asset_tags_asset", "asset_tags")
    op.drop_table("asset_tags")
    for column in ("name_key", "search_text", "tags"):
        op.drop_column("assets", column)
