"""The API processes of `serve --workers N`, and the connections each holds, read from /proc
(as `ss -tnp` would show them): the server has no way to say it. The API processes are the
children multiprocessing started (so is the webhook deliverer) that listen on the port."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.support.server import Server


def spawned(parent: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{parent}/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:  # multiprocessing's resource tracker is a child too
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(int(pid))
            except OSError:  # gone meanwhile
                continue
    return sorted(found)


def alive(pid: int) -> bool:
    """The process runs: it exists and is not a zombie waiting for its parent."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _sockets(port: int, state: str) -> set[int]:
    """Socket inodes on the port, server side, in a TCP state (01 established, 0A listening)."""
    inodes: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == state and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(int(fields[9]))
    return inodes


def connections_by_process(pids: list[int], port: int, state: str = "01") -> dict[int, int]:
    live = _sockets(port, state)
    counts: dict[int, int] = {}
    for pid in pids:
        held = 0
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:  # the process is gone
            fds = []
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:  # closed meanwhile
                continue
            if target.startswith("socket:[") and int(target[8:-1]) in live:
                held += 1
        counts[pid] = held
    return counts


def both_listening(server: Server, killed: int | None = None) -> list[int]:
    """The two API processes, once each listens (the server answers as soon as one does).

    A killed process keeps its sockets until the kernel has torn it down, so it is waited out.
    """
    deadline = time.monotonic() + 30
    while True:
        listening = connections_by_process(spawned(server.proc.pid),  # type: ignore[union-attr]
                                           server.port, "0A")
        pids = sorted(pid for pid, held in listening.items() if held)
        if len(pids) == 2 and max(listening.values()) == 1 and killed not in pids:
            return pids
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.1)
