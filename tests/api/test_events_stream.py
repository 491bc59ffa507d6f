"""GET /v1/events over real HTTP with a real SSE client (httpx-sse), on every backend."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from httpx_sse import EventSource, ServerSentEvent, connect_sse
from tests.support.library import tenant_id_of
from tests.support.server import Server, upload, wait_for

FINAL = ("asset.ready", "asset.failed")


@contextmanager
def stream(server: Server, key: str, **headers: str) -> Iterator[EventSource]:
    """An open stream of the key's tenant (its headers answered)."""
    with httpx.Client(base_url=server.url, timeout=httpx.Timeout(60, connect=10)) as client, \
            connect_sse(client, "GET", "/v1/events",
                        headers={"x-api-key": key, **headers}) as source:
        assert source.response.status_code == 200, source.response.read()
        assert source.response.headers["content-type"].startswith("text/event-stream")
        yield source


def take(events: Iterator[ServerSentEvent], until: Callable[[list[ServerSentEvent]], bool]
         ) -> list[ServerSentEvent]:
    got: list[ServerSentEvent] = []
    for event in events:
        got.append(event)
        if until(got):
            return got
    raise AssertionError(f"the stream ended after {[e.event for e in got]}")


def finished(ids: set[str]) -> Callable[[list[ServerSentEvent]], bool]:
    def check(got: list[ServerSentEvent]) -> bool:
        return ids <= {e.json()["data"]["id"] for e in got if e.event in FINAL}
    return check


def stored_ids(server: Server, key: str) -> list[int]:
    tenant = tenant_id_of(server.services, key)
    return [e.id for e in server.services.events.read(tenant, 0, 10_000)]


def test_uploads_stream_until_ready(server: Server, api_key: str, client: httpx.Client,
                                    media: dict[str, Path]) -> None:
    with stream(server, api_key) as source:
        created = [upload(client, media[kind], name=f"flux {kind} ☕")
                   for kind in ("png", "mp3", "corrupt")]
        got = take(source.iter_sse(), finished({c["id"] for c in created}))
    by_asset: dict[str, list[str]] = {}
    for event in got:
        body = event.json()
        assert event.event == body["type"] and event.id.isdigit()
        assert body["timestamp"].endswith("Z")
        by_asset.setdefault(body["data"]["id"], []).append(event.event)
    assert by_asset[created[0]["id"]] == ["asset.created", "asset.ready"]
    assert by_asset[created[1]["id"]] == ["asset.created", "asset.ready"]
    assert by_asset[created[2]["id"]] == ["asset.created", "asset.failed"]
    ids = [int(e.id) for e in got]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    ready = next(e.json()["data"] for e in got if e.event == "asset.ready")
    assert ready == {**client.get(f"/v1/assets/{ready['id']}").json(),
                     "fileUrl": ready["fileUrl"], "thumbnailUrl": ready["thumbnailUrl"]}
    with httpx.Client() as anonymous:  # the links the event carries work
        assert anonymous.get(ready["fileUrl"]).status_code == 200


def test_resume_after_a_drop_without_gap_or_loss(server: Server, api_key: str,
                                                 client: httpx.Client,
                                                 media: dict[str, Path]) -> None:
    first = upload(client, media["png"])
    with stream(server, api_key, **{"Last-Event-ID": "0"}) as source:
        before = take(source.iter_sse(), lambda got: len(got) >= 1)  # then the line drops
    assert before[0].event == "asset.created"
    more = [upload(client, media["png"]) for _ in range(3)]
    client.delete(f"/v1/assets/{more[0]['id']}")
    for asset in (first, *more[1:]):
        wait_for(client, asset["id"])
    expected = stored_ids(server, api_key)
    with stream(server, api_key, **{"Last-Event-ID": before[-1].id}) as source:
        after = take(source.iter_sse(), lambda got: int(got[-1].id) >= expected[-1])
    assert [int(e.id) for e in before + after] == expected
    with httpx.Client(base_url=server.url, timeout=60) as raw, connect_sse(
            raw, "GET", f"/v1/events?since={expected[1]}&types=asset.deleted",
            headers={"Authorization": f"Bearer {api_key}"}) as source:
        (deleted,) = take(source.iter_sse(), lambda got: True)
    assert deleted.event == "asset.deleted" and deleted.json()["data"]["id"] == more[0]["id"]
    assert deleted.json()["data"]["fileUrl"] is None


def test_a_tenant_sees_only_its_own_events(server: Server, media: dict[str, Path]) -> None:
    a, b = (server.new_key(f"t-{uuid.uuid4().hex[:8]}") for _ in range(2))
    with server.client(a) as client_a, server.client(b) as client_b, \
            stream(server, b) as source_b:
        for _ in range(2):
            upload(client_a, media["png"])
        mine = upload(client_b, media["png"])
        got = take(source_b.iter_sse(), finished({mine["id"]}))
    assert {e.json()["data"]["id"] for e in got} == {mine["id"]}


def test_an_unknown_or_swept_id_asks_for_a_resync(server: Server, api_key: str,
                                                  client: httpx.Client,
                                                  media: dict[str, Path]) -> None:
    with stream(server, api_key, **{"Last-Event-ID": "999999999999999"}) as source:
        events = source.iter_sse()
        resync = next(events)
        assert resync.event == "resync"
        body = resync.json()
        assert body["type"] == "resync" and body["lastEventId"] == int(resync.id)
        created = upload(client, media["png"])
        got = take(events, finished({created["id"]}))
    assert int(got[0].id) > int(resync.id)


@pytest.mark.parametrize(("headers", "query"), [
    ({"Last-Event-ID": "abc"}, ""), ({"Last-Event-ID": "-1"}, ""),
    ({}, "?lastEventId=1e3"), ({}, "?since=" + "9" * 40), ({}, "?types=asset.moved"),
    ({}, "?types=asset.ready,%F0%9F%8E%89"),
])
def test_bad_resume_ids_and_types_are_400(server: Server, api_key: str,
                                          headers: dict[str, str], query: str) -> None:
    res = httpx.get(server.url + "/v1/events" + query,
                    headers={"x-api-key": api_key, **headers}, timeout=10)
    assert res.status_code == 400
    assert set(res.json()) == {"code", "message"} and res.json()["code"] == 400


def test_a_key_is_needed(server: Server) -> None:
    for headers in ({}, {"x-api-key": "msk_wrong"}):
        res = httpx.get(server.url + "/v1/events", headers=headers, timeout=10)
        assert res.status_code == 401 and res.json()["code"] == 401


def test_heartbeats_and_no_stream_left_behind(make_server: Callable[..., Server]) -> None:
    srv = make_server({"MEDIASHELF_EVENT_HEARTBEAT": "0.2"})
    key = srv.new_key("beats")
    with httpx.Client(base_url=srv.url, timeout=30) as client:
        opened = [client.stream("GET", "/v1/events", headers={"x-api-key": key})
                  for _ in range(3)]
        responses = [o.__enter__() for o in opened]
        lines = responses[0].iter_lines()
        assert next(line for line in lines if line.startswith(":")) == ": ping"
        until_metric(srv, 3)
        for o in opened:
            o.__exit__(None, None, None)
    until_metric(srv, 0)  # the server saw each client go and dropped its subscription


def until_metric(srv: Server, value: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        text = httpx.get(srv.url + "/metrics", timeout=10).text
        line = next((ln for ln in text.splitlines()
                     if ln.startswith("mediashelf_event_streams ")), "")
        if line and float(line.split()[1]) == value:
            return
        assert time.monotonic() < deadline, f"open streams: {line!r}, want {value}"
        time.sleep(0.1)


def test_opening_a_stream_spends_the_read_budget(make_server: Callable[..., Server]) -> None:
    srv = make_server({"MEDIASHELF_RATE_LIMIT_READS": "2/day"})
    key = srv.new_key("budget")
    with ExitStack() as stack:
        for _ in range(2):
            stack.enter_context(stream(srv, key))
        refused = httpx.get(srv.url + "/v1/events", headers={"x-api-key": key}, timeout=10)
    assert refused.status_code == 429 and refused.json()["code"] == 429
    assert int(refused.headers["retry-after"]) > 0


def test_a_server_stops_with_streams_open(make_server: Callable[..., Server]) -> None:
    srv = make_server()
    key = srv.new_key("stop")
    with stream(srv, key) as source:
        assert srv.stop() == 0  # the streams end with the server, they do not hold it up
        assert list(source.iter_sse()) == []


@pytest.mark.parametrize(("sent", "quoted"), [
    ("12é3".encode(), "12é3"), ("東京".encode(), "東京"), (b"\xff7", "\\xff7"),
    (("9" * 100 + "é").encode(), "9" * 64 + "…"),
])
def test_a_bad_last_event_id_is_quoted_as_sent(server: Server, api_key: str, sent: bytes,
                                               quoted: str) -> None:
    """Header bytes are read as Latin-1: UTF-8 text was quoted back as 'Ã©'."""
    res = httpx.get(server.url + "/v1/events",
                    headers={"x-api-key": api_key, "Last-Event-ID": sent}, timeout=10)
    assert res.status_code == 400
    assert res.json()["message"] == (f"invalid header 'Last-Event-ID' '{quoted}': expected "
                                     "an event id (a whole number)")
