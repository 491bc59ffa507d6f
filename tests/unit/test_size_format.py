"""Sizes read the same in the server's messages, the terminal client and the web page."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mediashelf
from mediashelf.settings import format_size
from mediashelf_client.cli.common import size_text

FORMAT_JS = Path(mediashelf.__file__).parent / "web" / "format.js"
NODE = shutil.which("node")

# Unit edges, the rounding edges either side of them, and exact halves (1250 B is 1.25 kB:
# half up gives 1.3 kB where float rounding to even would give 1.2).
EDGES = [0, 1, 999, 1000, 1049, 1050, 1250, 1949, 1950, 9_999, 99_949, 99_950, 999_949,
         999_950, 1_000_000, 1_250_000, 50 * 10**6, 2 * 10**9, 999_950_000_000,
         10**12, 1_234_567_890_123_456, 2**53 - 1]


def js_sizes(values: list[int]) -> list[str]:
    """The web page's formatBytes, run by node on the same values."""
    if NODE is None:
        pytest.skip("node is not installed")
    script = ("import { formatBytes } from " + json.dumps(FORMAT_JS.as_uri()) + ";\n"
              "let text = ''; process.stdin.on('data', (d) => { text += d; });\n"
              "process.stdin.on('end', () => console.log(JSON.stringify("
              "JSON.parse(text).map(formatBytes))));")
    done = subprocess.run([NODE, "--input-type=module", "-e", script], input=json.dumps(values),
                          capture_output=True, text=True, timeout=30, check=True)
    result: list[str] = json.loads(done.stdout)
    return result


def test_the_rule_on_its_edges() -> None:
    expected = ["0 B", "1 B", "999 B", "1 kB", "1 kB", "1.1 kB", "1.3 kB", "1.9 kB", "2 kB",
                "10 kB", "99.9 kB", "100 kB", "999.9 kB", "1 MB", "1 MB", "1.3 MB", "50 MB",
                "2 GB", "1 TB", "1 TB", "1234.6 TB", "9007.2 TB"]
    assert [format_size(n) for n in EDGES] == expected
    assert [size_text(n) for n in EDGES] == expected
    assert js_sizes(EDGES) == expected


sizes = st.one_of(st.integers(0, 10**4), st.integers(0, 10**9), st.integers(0, 2**53 - 1))


@settings(max_examples=8, deadline=None)
@given(st.lists(sizes, min_size=1, max_size=200))
def test_server_client_and_page_agree(values: list[int]) -> None:
    python = [format_size(n) for n in values]
    assert [size_text(n) for n in values] == python
    assert js_sizes(values) == python
