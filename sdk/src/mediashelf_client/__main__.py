"""`python -m mediashelf_client` and the light distribution's `mediashelf` script.

The terminal commands need the `cli` extra (typer, rich); without it, say how to get it, as
httpx does for its own command, rather than fail with an import error.
"""

from __future__ import annotations

import sys

CLI_PACKAGES = frozenset({"typer", "rich", "click"})


def main() -> None:
    """Run the terminal client, or explain in one line how to install it."""
    try:
        from mediashelf_client.cli import main as run
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in CLI_PACKAGES:
            raise
        print('error: the mediashelf commands need the cli extra: '
              'pip install "mediashelf-client[cli]"', file=sys.stderr)
        sys.exit(2)
    run()


if __name__ == "__main__":
    main()
