"""The served OpenAPI document checked against the real server's answers by schemathesis: no
server error, and every answer's status, headers and body as the document says, on each backend.

schemathesis runs as its command (`schemathesis run`), the interface it keeps stable: its
phases (examples, coverage of boundary values, fuzzing, stateful sequences through the links it
infers) and its checks, bounded to a few examples per operation and a fixed seed.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

from tests.support.server import Server

# A body the document cannot promise is accepted: an upload must be real media, an import's
# URL a public https one. Every other check schemathesis has holds.
EXCLUDED_CHECKS = "positive_data_acceptance"
EXAMPLES = 5  # per operation and phase: the coverage phase adds its boundary values


def test_the_server_answers_as_its_document_says(make_server: Callable[..., Server],
                                                 tmp_path: Path) -> None:
    # With its worker (/readyz is 503 while jobs wait for none); fuzzed imports name no
    # reachable host. The tus routes are left to their protocol tests (tuspy and raw HTTP in
    # tests/inproc/test_tus*.py): their headers are a protocol that a schema fuzzer can only
    # half describe (Tus-Resumable checked before the key, offsets that depend on state).
    # The event stream never ends an answer: tests/api/test_events_stream.py reads it.
    server = make_server()
    key = server.new_key(f"fuzz-{uuid.uuid4().hex[:8]}")
    run = subprocess.run(
        [str(Path(sys.executable).with_name("schemathesis")), "run", f"{server.url}/openapi.json",
         "--url", server.url, "--header", f"x-api-key: {key}",
         "--max-examples", str(EXAMPLES), "--seed", "17", "--workers", "1",
         "--generation-database", "none", "--exclude-checks", EXCLUDED_CHECKS,
         "--exclude-path-regex", "^/v1/(uploads|events)", "--no-color", "--warnings", "off"],
        cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False)
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-8000:]
    selected = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", report)
    assert selected, report[-2000:]
    chosen, _total, tested = map(int, selected.groups())
    assert chosen == tested >= 9, report[-2000:]  # every operation selected, none skipped
