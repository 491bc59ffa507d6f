"""The SDK and GET /v1/events: Client.events(), wait_until_ready by the stream, and polling on
a server without one (an Argil-shaped scripted server)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediashelf_client import AsyncClient, Client, Event, NotFoundError, ProcessingFailedError
from mediashelf_client._events import Parser
from tests.sdk.conftest import Scripted
from tests.sdk.test_retries import ARGIL_ASSET
from tests.support.server import Server


class Recorder(httpx.HTTPTransport):
    """The network, and a note of each request's method and path."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path))
        return super().handle_request(request)


def test_events_follow_an_upload_and_resume_after_an_id(server: Server, api_key: str,
                                                        media: dict[str, Path]) -> None:
    got: list[Event] = []
    opened = threading.Event()

    with Client(server.url, api_key) as sdk:
        def follow() -> None:
            stream = sdk.events(after=0)  # a new tenant: all of its events, whenever it opens
            opened.set()
            for event in stream:
                got.append(event)
                if event.type in ("asset.ready", "asset.failed"):
                    return

        reader = threading.Thread(target=follow, daemon=True)
        reader.start()
        opened.wait(10)
        asset = sdk.upload(media["png"], name="suivi ✓", dedupe=False)
        reader.join(60)
        assert [e.type for e in got] == ["asset.created", "asset.ready"]
        assert all(e.asset is not None and e.asset.id == asset.id for e in got)
        ready = got[1]
        assert ready.asset is not None and ready.asset.is_ready and ready.asset.file_url
        first_id = got[0].id
        assert first_id is not None and ready.id is not None and ready.id > first_id
        again = next(iter(sdk.events(after=first_id)))  # resumed: the next one, not a new one
        assert (again.id, again.type) == (ready.id, "asset.ready")


def test_wait_until_ready_listens_instead_of_polling(server: Server, api_key: str,
                                                     media: dict[str, Path]) -> None:
    recorder = Recorder()
    with Client(server.url, api_key, transport=recorder) as sdk:
        asset = sdk.upload(media["mp4"], dedupe=False)
        recorder.seen.clear()
        ready = sdk.wait_until_ready(asset, timeout=60)
        assert ready.is_ready and ready.id == asset.id
        gets = [p for m, p in recorder.seen if m == "GET" and p.startswith("/v1/assets/")]
        assert ("GET", "/v1/events") in recorder.seen
        assert len(gets) <= 1  # one look when the stream opened, then only the stream
        failed = sdk.upload(media["corrupt"], type="IMAGE", dedupe=False)
        with pytest.raises(ProcessingFailedError) as err:
            sdk.wait_until_ready(failed, timeout=60)
        assert err.value.asset.failure_reason


def test_events_need_a_server_that_streams(scripted: Scripted) -> None:
    with Client(scripted.url, "k") as sdk, pytest.raises(NotFoundError):
        next(iter(sdk.events()))


def test_wait_until_ready_polls_a_server_without_a_stream(scripted: Scripted) -> None:
    scripted.replies = [(404, {}, {"message": "Not Found"}),
                        (200, {}, {**ARGIL_ASSET, "status": "PROCESSING"}),
                        (200, {}, ARGIL_ASSET)]
    with Client(scripted.url, "k", retry_backoff=0.01) as sdk:
        ready = sdk.wait_until_ready(ARGIL_ASSET["id"], timeout=30, poll_interval=0.01)
    assert ready.is_ready
    assert [p.split("?")[0] for _, p, _ in scripted.requests] == [
        "/v1/events", f"/v1/assets/{ARGIL_ASSET['id']}", f"/v1/assets/{ARGIL_ASSET['id']}"]


@given(st.lists(st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20),
                max_size=5), st.integers(0, 2**62))
def test_the_parser_reads_what_a_server_writes(lines: list[str], event_id: int) -> None:
    """Any data (split over data: lines as a server writes it) comes back whole; comments and
    unknown fields are skipped."""
    parser = Parser()
    text = "\n".join(lines)
    raw = [": ping", f"id: {event_id}", "event: asset.ready", "retry: 10", "unknown: x",
           *[f"data: {line}" for line in text.split("\n")]]
    for line in raw:
        assert parser.feed(line) is None
    event = parser.feed("")
    assert event is not None
    assert (event.id, event.type, event.text) == (event_id, "asset.ready", text)
    assert parser.feed("") is None  # nothing more to dispatch


def test_the_async_client_listens_too(server: Server, api_key: str,
                                      media: dict[str, Path]) -> None:
    async def run() -> tuple[list[str], str]:
        async with AsyncClient(server.url, api_key) as sdk:
            asset = await sdk.upload(media["png"], dedupe=False)
            ready = await sdk.wait_until_ready(asset, timeout=60)
            seen: list[str] = []
            async for event in sdk.events(after=0, types=["asset.created", "asset.ready"]):
                if event.asset is not None and event.asset.id == asset.id:
                    seen.append(event.type)
                if seen == ["asset.created", "asset.ready"]:
                    break
            return seen, ready.status

    seen, status = asyncio.run(run())
    assert status == "READY" and seen == ["asset.created", "asset.ready"]
