"""The mediashelf command: the server's commands (serve.py, admin.py) and the client's."""

from __future__ import annotations

import sys

import typer
from typer._click import exceptions as click_exc  # Typer ships its own Click

from mediashelf.cli import admin, serve
from mediashelf.cli.base import Failure
from mediashelf.errors import ConfigError, MediashelfError
from mediashelf_client.cli import register as register_human_commands

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="mediashelf: a self-hosted media asset library for AI video pipelines.")
serve.register(app)  # serve, worker
admin.register(app)  # migrate, keys, system, assets, library
register_human_commands(app)  # ls, upload, import, get, rm, open: the SDK from a terminal


def main(argv: list[str] | None = None) -> None:
    """Entry point: run a command; errors become one line on stderr and a non-zero exit."""
    try:
        code = app(args=argv, standalone_mode=False)  # returns, not raises, a typer.Exit code
        if isinstance(code, int) and code:
            sys.exit(code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(130)
    except click_exc.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except (MediashelfError, Failure) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        print(f"error: {_describe(exc)}", file=sys.stderr)
        sys.exit(1)


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
