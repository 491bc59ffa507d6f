"""Admin commands say which library they act on and never create one unless asked."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from mediashelf.cli.base import library_line
from mediashelf.settings import Settings
from tests.support.server import Server

MakeServer = Callable[..., Server]


def _tables(database_url: str) -> list[str]:
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1),
                              poolclass=sa.pool.NullPool)
    try:
        return sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_admin_commands_refuse_a_new_library_and_init_creates_it(
        make_server: MakeServer, media: dict[str, Path], tmp_path: Path) -> None:
    srv = make_server(start=False)
    export = tmp_path / "export"
    for cmd in (["keys", "create", "--tenant", "acme"], ["keys", "list"],
                ["keys", "revoke", "msk_nope"], ["assets", "restore", str(uuid.uuid4())],
                ["library", "export", str(export)], ["system", "import", str(media["png"])]):
        res = srv.cli(*cmd, check=False)
        assert res.returncode == 2, (cmd, res.stderr)
        line, error = res.stderr.strip().splitlines()
        assert line.startswith("library: ") and res.stdout == ""
        assert error.startswith("error: no library here: the data directory "
                                f"{srv.data_dir} ")
        assert "MEDIASHELF_DATA_DIR" in error and "--init" in error
        assert not srv.data_dir.exists() and not export.exists()  # nothing made on disk
        if "MEDIASHELF_DATABASE_URL" in srv.env:  # nor in the database
            assert _tables(srv.env["MEDIASHELF_DATABASE_URL"]) == []

    created = srv.cli("keys", "create", "--tenant", "acme", "--init")
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("msk_")
    listed = srv.cli("keys", "list")
    assert key[:10] in listed.stdout and "acme" in listed.stdout
    line = listed.stderr.splitlines()[0]
    if "MEDIASHELF_DATABASE_URL" in srv.env:
        url = sa.engine.make_url(srv.env["MEDIASHELF_DATABASE_URL"])
        assert line.startswith(f"library: postgresql://{url.username}@{url.host}")
        assert line.endswith(f", files in {srv.env['MEDIASHELF_STORAGE_URL']}")
        assert not url.password or url.password not in line
    else:
        assert line == (f"library: sqlite:///{srv.data_dir / 'mediashelf.db'}, "
                        f"files in {srv.data_dir / 'files'}")


def test_keys_in_an_empty_folder_create_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIASHELF_")}
    for extra in ({}, {"MEDIASHELF_DATA_DIR": "."}):
        for cmd in (["keys", "list"], ["keys", "create", "--tenant", "x"]):
            res = subprocess.run([sys.executable, "-m", "mediashelf", *cmd], cwd=tmp_path,
                                 env={**env, **extra}, capture_output=True, text=True,
                                 timeout=60)
            assert res.returncode == 2, res.stderr
            data_dir = (tmp_path / extra.get("MEDIASHELF_DATA_DIR", ".mediashelf")).resolve()
            assert res.stderr.splitlines() == [
                f"library: sqlite:///{data_dir / 'mediashelf.db'}, files in {data_dir / 'files'}",
                f"error: no library here: the data directory {data_dir} has no library database "
                "yet. Set MEDIASHELF_DATA_DIR (or MEDIASHELF_DATABASE_URL) to the server's, or "
                "pass --init to create a new library"]
            assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("database", "storage", "expected"), [
    ("postgresql://ops:s3cret@db.internal:5433/media?sslmode=require&password=s3cret",
     "s3://bucket/library", "library: postgresql://ops@db.internal:5433/media, "
                            "files in s3://bucket/library"),
    ("postgresql+psycopg://ops@db/media", "s3://user:s3cret@bucket/p?region=x",
     "library: postgresql://ops@db/media, files in s3://bucket/p"),
    ("sqlite:////srv/lib/my%20db.db", "file:///srv/lib/my%20files",
     "library: sqlite:////srv/lib/my db.db, files in /srv/lib/my files"),
])
def test_the_library_line_hides_secrets(database: str, storage: str, expected: str) -> None:
    line = library_line(Settings(database_url=database, storage_url=storage))
    assert line == expected and "s3cret" not in line
