"""The terminal client: `mediashelf ls|upload|import|get|rm|open` over the SDK (typer and rich).

The light distribution's `mediashelf` runs these commands alone (`main`); the server's `mediashelf`
adds them to its own commands with `register`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated

import typer
from typer._click import exceptions as click_exc  # Typer ships its own Click

from mediashelf_client._version import __version__
from mediashelf_client.cli.commands import add_commands

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="mediashelf: the terminal client of a mediashelf library.")


def _show_version(value: bool) -> None:
    if value:
        print(f"mediashelf {__version__}")
        raise typer.Exit()


def _options(version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_show_version,
        help="Print the version and exit")] = False) -> None:
    # No docstring: the app's own help stays the one given to typer.Typer().
    pass


def register(target: typer.Typer) -> None:
    """Add the client commands and the `--version` option to a `mediashelf` command."""
    target.callback()(_options)
    add_commands(target)


register(app)


def _plain(exc: Exception) -> tuple[str, int]:
    return f"{type(exc).__name__}: {exc}", 1


def run(target: typer.Typer, argv: list[str] | None = None,
        explain: Callable[[Exception], tuple[str, int]] = _plain) -> None:
    """Run a typer app as a command: its own exits kept; any other error becomes one line on
    stderr (what `explain` says of it) and a non-zero exit status, never a traceback."""
    try:
        code = target(args=argv, standalone_mode=False)  # returns, not raises, a typer.Exit code
        if isinstance(code, int) and code:
            sys.exit(code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.exit(130)
    except click_exc.ClickException as exc:
        _in_our_words(exc)
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except Exception as exc:
        message, status = explain(exc)
        print(f"error: {message}", file=sys.stderr)
        sys.exit(status)


# Typer checks option values with pydantic, whose words ("Input should be a valid integer,
# unable to parse string as an integer", "Value error, …") are a library's: these are ours.
_WORDS = {
    "int_parsing": "expected a whole number", "int_from_float": "expected a whole number",
    "float_parsing": "expected a number", "bool_parsing": "expected true or false",
    "greater_than_equal": "must be {ge} or more", "less_than_equal": "must be {le} or less",
    "greater_than": "must be more than {gt}", "less_than": "must be less than {lt}",
    "finite_number": "expected a finite number",
}


def _one_line(exc: click_exc.ClickException) -> str:
    """click's usage block (Usage:, Try …, Error:) as one line, with where to read more."""
    words = " ".join(exc.format_message().split())
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click_exc.UsageError) and ctx is not None:
        words += f" (see '{ctx.command_path} --help')"
    return words


def _in_our_words(exc: click_exc.ClickException) -> None:
    """Replace a pydantic message behind a bad option value with our own words."""
    errors = getattr(exc.__cause__, "errors", None)
    if not callable(errors) or not errors():
        return
    first = errors()[0]
    kind, ctx = first.get("type", ""), first.get("ctx") or {}
    if kind == "value_error" and "error" in ctx:
        words = str(ctx["error"])
    elif kind in _WORDS:
        words = _WORDS[kind].format(**ctx)
    else:
        words = str(first.get("msg", "")).removeprefix("Input ")
    shown = repr(first["input"]) if isinstance(first.get("input"), str) else None
    if shown and shown not in words:
        words = f"{shown}: {words}"
    exc.message = words


def main(argv: list[str] | None = None) -> None:
    """Entry point of the client alone."""
    run(app, argv)
