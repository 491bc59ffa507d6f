"""`serve --workers 2`: streams held by either API process get every event, written by the
worker in a third process (the supervisor), because each process reads the events table."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from httpx_sse import EventSource, connect_sse
from tests.support.procs import both_listening, connections_by_process
from tests.support.server import Server, upload

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def test_streams_on_both_api_processes_get_every_event(make_server: Callable[..., Server],
                                                       media: dict[str, Path]) -> None:
    server = make_server(args=("--workers", "2"))
    key = server.new_key("two-processes")
    pids = both_listening(server)
    with ExitStack() as stack:
        sources: list[EventSource] = []
        for _ in range(40):  # until each process holds some of the streams
            client = stack.enter_context(httpx.Client(base_url=server.url, timeout=60))
            source = stack.enter_context(connect_sse(client, "GET", "/v1/events",
                                                     headers={"x-api-key": key}))
            assert source.response.status_code == 200
            sources.append(source)
            held = connections_by_process(pids, server.port)
            if len(sources) >= 4 and min(held.values()) >= 2:
                break
        assert min(connections_by_process(pids, server.port).values()) >= 2
        with server.client(key) as client:
            ids = {upload(client, media[kind])["id"] for kind in ("png", "mp3")}
        for source in sources:
            seen: dict[str, list[str]] = {}
            for event in source.iter_sse():
                seen.setdefault(event.json()["data"]["id"], []).append(event.event)
                if all(seen.get(i, [])[-1:] == ["asset.ready"] for i in ids):
                    break
            assert set(seen) == ids
            assert all(types == ["asset.created", "asset.ready"] for types in seen.values())
