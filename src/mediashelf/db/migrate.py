"""Bring the schema up to date with the Alembic revisions shipped in the package."""

from __future__ import annotations

from importlib.resources import files

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from mediashelf.db.database import Database

_PG_LOCK = 727_001  # advisory lock id: one migrator at a time when many processes start together


def upgrade(db: Database) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(files("mediashelf.db") / "migrations"))
    with db.engine.begin() as conn:
        if not db.is_sqlite:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def current(db: Database) -> str | None:
    with db.engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
