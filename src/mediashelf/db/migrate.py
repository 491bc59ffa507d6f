"""Bring the schema up to date with the Alembic revisions shipped in the package."""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from mediashelf.db.database import Database, engine_url

_PG_LOCK = 727_001  # advisory lock id: one migrator at a time when many processes start together


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema up to `revision`, the newest by default."""
    _run(db, command.upgrade, revision)


def downgrade(db: Database, revision: str) -> None:
    """Take the schema back to an older revision, undoing the newer ones' changes."""
    _run(db, command.downgrade, revision)


def _run(db: Database, step: Callable[[Config, str], None], revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(files("mediashelf.db") / "migrations"))
    # A write transaction from the start (BEGIN IMMEDIATE on SQLite): two processes starting on
    # one new library at once then take turns, where two deferred transactions that both read
    # the schema and then write would fail one of them at once with "database is locked".
    with db.write() as conn:
        if not db.is_sqlite:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
        cfg.attributes["connection"] = conn
        step(cfg, revision)


def current(db: Database) -> str | None:
    with db.engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def schema_exists(url: str) -> bool:
    """Whether a library's database is there, checked without creating anything."""
    if url.startswith("sqlite"):
        # Connecting would create the file: look for it instead.
        path = sa.engine.make_url(url).database
        return not path or path == ":memory:" or Path(path).is_file()
    engine = sa.create_engine(engine_url(url), poolclass=sa.pool.NullPool,
                              connect_args={"connect_timeout": 10})
    try:
        with engine.connect() as conn:
            return sa.inspect(conn).has_table("alembic_version")
    finally:
        engine.dispose()
