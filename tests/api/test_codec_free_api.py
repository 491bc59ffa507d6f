"""An API process without a worker never loads a decoder: uploads, listings and reads run on
the codec-free media vocabulary, and the built-in music is left to processes with a worker."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from tests.support.server import Server, upload

DECODERS = ("PIL", "av", "numpy", "pebble")

# `mediashelf serve --no-worker`, reporting at exit which decoder modules the process loaded.
REPORTING_SERVE = ("-c", "import atexit, sys\n"
                   f"atexit.register(lambda: print('decoders loaded:', [m for m in {DECODERS!r} "
                   "if m in sys.modules], flush=True))\n"
                   "from mediashelf.cli import main\n"
                   "main(sys.argv[1:])\n")


def test_an_api_process_loads_no_decoder(make_server: Callable[..., Server],
                                         media: dict[str, Path]) -> None:
    api = make_server({"MEDIASHELF_SEED_MUSIC": "true"}, args=("--no-worker",), start=False)
    api.command = (sys.executable, *REPORTING_SERVE)
    api.start()
    key = api.new_key("light")
    with api.client(key) as c:
        asset = upload(c, media["mp4"], name="clip")
        assert asset["type"] == "VIDEO" and asset["status"] == "PROCESSING"
        listed = c.get("/v1/assets", params={"status": "PROCESSING", "scope": "mine"})
        assert listed.status_code == 200 and [a["id"] for a in listed.json()] == [asset["id"]]
        assert c.get(f"/v1/assets/{asset['id']}").json()["name"] == "clip"
        everything = {"status": "PROCESSING,READY,FAILED", "scope": "system"}
        assert c.get("/v1/assets", params=everything).json() == []  # no music seeded here
    assert api.stop() == 0
    found = re.findall(r"decoders loaded: (.*)", api.log())
    assert found == ["[]"], api.log()
