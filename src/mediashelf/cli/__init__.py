"""The mediashelf command: the server's commands (serve.py, admin.py) and the client's."""

from __future__ import annotations

import typer

from mediashelf.cli import admin, serve
from mediashelf.cli.base import Failure
from mediashelf.errors import ConfigError, MediashelfError
from mediashelf_client.cli import register as register_human_commands
from mediashelf_client.cli import run

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="mediashelf: a self-hosted media asset library for AI video pipelines.")
serve.register(app)  # serve, worker
admin.register(app)  # migrate, keys, system, assets, library
register_human_commands(app)  # ls, upload, import, get, rm, open: the SDK from a terminal


def main(argv: list[str] | None = None) -> None:
    """Entry point: run a command; errors become one line on stderr and a non-zero exit."""
    run(app, argv, _explain)


def _explain(exc: Exception) -> tuple[str, int]:
    """The one line an error prints, and the exit status: 2 for a bad setting."""
    if isinstance(exc, ConfigError):
        return str(exc), 2
    if isinstance(exc, MediashelfError | Failure):
        return str(exc), 1
    return _describe(exc), 1


def _describe(exc: Exception) -> str:
    from sqlalchemy.exc import OperationalError

    from mediashelf.storage.space import is_disk_full

    if is_disk_full(exc):
        return "the disk is full (or below MEDIASHELF_MIN_FREE_SPACE): free some space"
    if isinstance(exc, OperationalError):
        return "cannot reach the database (check MEDIASHELF_DATABASE_URL)"
    if isinstance(exc, PermissionError | FileNotFoundError):
        return f"cannot use the data folder: {exc.strerror} ({exc.filename})"
    return f"{type(exc).__name__}: {exc}"
