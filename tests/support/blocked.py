"""Run Python with some top-level packages made unimportable, as if they were not installed."""

from __future__ import annotations

import os
from pathlib import Path


def blocked_env(folder: Path, names: tuple[str, ...]) -> dict[str, str]:
    """The environment of a process in which importing any of `names` fails as if absent."""
    for name in names:  # first on the path, each stub raises what a missing package raises
        (folder / name).mkdir(parents=True, exist_ok=True)
        message = f"No module named {name!r}"
        (folder / name / "__init__.py").write_text(
            f"raise ModuleNotFoundError({message!r}, name={name!r})\n")
    path = os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}
