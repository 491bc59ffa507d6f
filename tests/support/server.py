"""The real mediashelf server as a subprocess, and the helpers tests use to talk to it."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

# Ports for the servers tests start. A port the kernel picked (bind to 0) and that was let go
# could be picked again by another pytest process before our server bound it: its /healthz then
# answered for ours. Each pytest process (xdist worker) takes ports from its own band instead,
# in turn, below the kernel's range for port 0 and outgoing connections (32768 and up on Linux).
_BAND = 1500
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_START = 20000 + (int(_WORKER[2:]) if _WORKER[2:].isdigit() else 0) % 8 * _BAND
_next = [random.randrange(_BAND)]  # where in the band the next port is tried


def free_port() -> int:
    """A port that is free now and that no other pytest process of this run hands out."""
    for _ in range(_BAND):
        port = _START + _next[0]
        _next[0] = (_next[0] + 1) % _BAND
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:  # in use, or closing: the next one
                continue
        return port
    raise RuntimeError(f"no free port in {_START}-{_START + _BAND - 1}")


class Server:
    """`mediashelf serve` on a temporary data dir; `cli()` runs commands against the same dir.

    `command` is how mediashelf is run: this checkout's by default, or an installed one."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None,
                 args: tuple[str, ...] = (), backend: str = "sqlite-local",
                 command: tuple[str, ...] = (sys.executable, "-m", "mediashelf")) -> None:
        self.data_dir = data_dir
        self.command = command
        self.backend = backend  # see tests/support/backends.py
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "MEDIASHELF_DATA_DIR": str(data_dir),
                    "MEDIASHELF_PORT": str(self.port), "MEDIASHELF_SEED_MUSIC": "false",
                    "MEDIASHELF_POLL_INTERVAL": "0.2",
                    # every test client is 127.0.0.1: wrong keys sent by tests of other things
                    # must not slow down or refuse later ones (test_rate_limit* turn it on)
                    "MEDIASHELF_AUTH_FAILURE_LIMIT": "off", **(env or {})}
        self.args = args
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._services: Any = None

    def start(self, timeout: float = 60) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                [*self.command, "serve", *self.args], env=self.env,
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not come up:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        if self._services is not None:
            self._services.close()
            getattr(self._services.storage, "close", lambda: None)()  # S3: pooled sockets
            self._services = None
        return code

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-8000:] if self.log_path.exists() else ""

    def cli(self, *args: str, check: bool = True, timeout: float = 120,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run `mediashelf ARGS` on this server's data dir."""
        res = subprocess.run([*self.command, *args], capture_output=True,
                             text=True, env={**self.env, **(env or {})}, timeout=timeout)
        if check and res.returncode != 0:
            raise AssertionError(f"mediashelf {' '.join(args)} failed ({res.returncode}):\n"
                                 f"{res.stdout}\n{res.stderr}")
        return res

    def new_key(self, tenant: str) -> str:
        """A new API key, made in-process on the same database (the CLI path has its own test)."""
        plain, _ = self.services.keys.create(tenant)
        return str(plain)

    @property
    def services(self) -> Any:
        """In-process access to the same database and storage, for setting up large libraries."""
        if self._services is None:
            from mediashelf.app import build_services
            from mediashelf.settings import Settings

            env = {k[len("MEDIASHELF_"):].lower(): v for k, v in self.env.items()
                   if k.startswith("MEDIASHELF_")}
            self._services = build_services(Settings(**env), with_worker=False)
        return self._services

    def client(self, key: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"x-api-key": key} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)


def wait_for(client: httpx.Client, asset_id: str, timeout: float = 60) -> dict[str, Any]:
    """Poll an asset until it leaves PROCESSING."""
    deadline = time.monotonic() + timeout
    while True:
        res = client.get(f"/v1/assets/{asset_id}")
        assert res.status_code == 200, res.text
        body: dict[str, Any] = res.json()
        if body["status"] != "PROCESSING":
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"asset {asset_id} still PROCESSING after {timeout} s")
        time.sleep(0.1)


def upload(client: httpx.Client, path: Path, **fields: str) -> dict[str, Any]:
    """A new asset from the file: the shared sample files are uploaded again and again, so
    duplicates are kept (dedupe=false) unless a test asks otherwise."""
    fields.setdefault("dedupe", "false")
    with open(path, "rb") as fh:
        res = client.post("/v1/assets", files={"file": (path.name, fh)}, data=fields)
    assert res.status_code == 201, res.text
    body: dict[str, Any] = res.json()
    return body
