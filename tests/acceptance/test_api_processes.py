"""`serve --workers 2`: both API processes take connections, a dead one is replaced, a stop
stops them all and frees the port.

Which process holds which connection is read from the operating system (/proc), as `ss -tnp`
would show it: the server has no way to say it.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest
from tests.support.procs import alive, both_listening, connections_by_process
from tests.support.rawhttp import exchange, request
from tests.support.server import Server

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _burst(server: Server, key: str, n: int = 16) -> list[socket.socket]:
    """n keep-alive connections opened at once, each answered once and then held open."""
    socks = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(n)]
    request = (f"GET /v1/assets HTTP/1.1\r\nHost: x\r\nx-api-key: {key}\r\n\r\n").encode()
    for s in socks:
        s.sendall(request)
    for s in socks:
        s.settimeout(30)
        assert s.recv(65536).startswith(b"HTTP/1.1 200")
    return socks


def test_two_api_processes_share_the_connections(tmp_path: Path) -> None:
    server = Server(tmp_path / "lib", args=("--no-worker", "--workers", "2")).start()
    try:
        key = server.new_key("crowd")
        pids = both_listening(server)
        for _ in range(3):  # with one shared socket, one process often took a whole burst
            socks = _burst(server, key)
            try:
                held = connections_by_process(pids, server.port)
                assert sum(held.values()) == 16 and min(held.values()) >= 1, held
            finally:
                for s in socks:
                    s.close()
        for _ in range(6):  # each process has our protocol: a refusal is JSON, on any of them
            reply = exchange(server.port, request("GET", "/v1/assets?" + "a" * 20_000))
            assert reply.status == 414 and reply.json()["code"] == 414

        os.kill(pids[0], signal.SIGKILL)  # a crashed API process is replaced
        now = both_listening(server, killed=pids[0])
        assert pids[1] in now  # the survivor was left alone
        assert "serve.process_died" in server.log()
        for _ in range(20):
            assert httpx.get(server.url + "/v1/assets", headers={"x-api-key": key},
                             timeout=10).status_code == 200
        port, survivors = server.port, now
    finally:
        code = server.stop()
    assert code == 0
    for pid in survivors:
        assert not alive(pid)
    with socket.socket() as probe:  # the port is free again
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


def test_a_taken_port_fails_at_once(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = Server(tmp_path / "lib", args=("--no-worker", "--workers", "2"),
                        env={"MEDIASHELF_PORT": str(port)})
        server.port = port
        with pytest.raises(RuntimeError, match="server exited early"):
            server.start(timeout=30)
        assert "Address already in use" in server.log()
