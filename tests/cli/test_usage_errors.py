"""A wrong command line is one clear line on stderr and exit status 2 (INTERFACE.md), not
click's three-line usage block."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(("args", "words"), [
    (["ls", "--sort", "bogus"], "'bogus' is not one of"),
    (["ls", "--scope", "bogus"], "'bogus'"),
    (["ls", "--page-size", "x"], "expected a whole number"),
    (["webhooks", "add", "https://hooks.example.com/x", "--events", "asset.ready"],
     "No such option: --events"),
    (["system", "import", "/nonexistent/tune 🎵.wav"], "does not exist"),
    (["no-such-command"], "No such command"),
])
def test_a_usage_error_is_one_line(args: list[str], words: str) -> None:
    res = subprocess.run([sys.executable, "-m", "mediashelf", *args], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 2, res.stderr
    assert res.stdout == ""
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], res.stderr
    assert "--help'" in lines[0]  # where to read more
