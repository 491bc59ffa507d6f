"""Identical cache misses in flight are read once: the requests that arrive while the first is
being read wait for it and answer its bytes; a first request that fails or goes away does not
leave the others hanging, and a failure is not kept. A write leaves the cached replies of other
types and tenants as they were."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from mediashelf.domain import AssetStatus, AssetType, now_ms
from tests.support.inproc import InProcess
from tests.support.library import insert, make_asset, tenant_id_of

N = 12


@pytest.fixture
def app(make_app: Callable[..., InProcess]) -> InProcess:
    made = make_app(run_worker=False)
    # On SQLite a bounded read runs on the event loop, where no two can be in flight at once:
    # these tests hold the threads' path, which searches take there and every read elsewhere.
    made.app.state.replies._on_loop = False
    return made


def test_reads_on_the_loop_need_no_thread(make_app: Callable[..., InProcess]) -> None:
    """With every read thread taken, a listing by date and an asset are still answered (on
    SQLite read on the loop, on PostgreSQL awaited on the loop's own connections); a search
    waits for a thread on SQLite, not on PostgreSQL."""
    app = make_app(run_worker=False)
    key = app.new_key(f"loop-{uuid.uuid4().hex[:8]}")
    some = _fill(app, key, per_type=3)
    sqlite = app.services.db.local_reads
    replies = app.app.state.replies

    async def go() -> dict[str, bool]:
        async with app.async_client(headers={"x-api-key": key}) as client:
            async with _reads_held(app, connections=False):
                calls = {"list": client.get("/v1/assets", params={"pageSize": 5}),
                         "oldest": client.get("/v1/assets", params={"sort": "createdAt"}),
                         "asset": client.get(f"/v1/assets/{some[0]}"),
                         "search": client.get("/v1/assets", params={"q": "nothing"})}
                tasks = {name: asyncio.ensure_future(c) for name, c in calls.items()}
                await asyncio.sleep(0.5)
                done = {name: t.done() for name, t in tasks.items()}
            replies_ = await asyncio.gather(*tasks.values())
            assert {r.status_code for r in replies_} == {200}
            return done

    done: dict[str, bool] = app.run(go)
    assert done == {"list": True, "oldest": True, "asset": True, "search": not sqlite}
    assert len(replies.list_reads) == 0


def _fill(app: InProcess, key: str, per_type: int = 30) -> list[uuid.UUID]:
    tid = tenant_id_of(app.services, key)
    base = now_ms() - 10_000_000
    made = [make_asset(tid, t, AssetStatus.READY, base + i * 1000 + n)
            for n, t in enumerate(AssetType) for i in range(per_type)]
    insert(app.services, made)
    return [a.id for a in made]


@asynccontextmanager
async def _reads_held(app: InProcess, connections: bool = True) -> AsyncIterator[None]:
    """Every read thread of the app taken (and, on PostgreSQL, every connection the loop's
    listings are read on), so misses queue until the block ends."""
    reads = app.app.state.replies._reads
    slots = reads._slots if reads is not None and connections else None
    for _ in range(reads.size if slots is not None else 0):
        await slots.acquire()
    pool = app.app.state.replies.threads
    release, taken = threading.Event(), threading.Semaphore(0)

    def hold() -> None:
        taken.release()
        release.wait(60)

    held = [pool.submit(hold) for _ in range(pool._max_workers)]
    for _ in held:
        await asyncio.to_thread(taken.acquire)
    try:
        yield
    finally:
        release.set()
        for f in held:
            f.result(10)
        for _ in range(reads.size if slots is not None else 0):
            slots.release()


async def _until(check: Callable[[], bool]) -> None:
    for _ in range(2000):  # the requests queue on the same loop: a few turns of it
        if check():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the requests never all waited")


def _together(app: InProcess, key: str, path: str, flight: Any, *,
              cancel_first: bool = False) -> list[httpx.Response]:
    """N identical requests in flight at once; the first maybe cancelled while it waits."""

    async def go() -> list[httpx.Response]:
        async with app.async_client(headers={"x-api-key": key}) as client:
            joined = flight.joined
            async with _reads_held(app):
                first = asyncio.ensure_future(client.get(path))
                await _until(lambda: len(flight) == 1)
                rest = [asyncio.ensure_future(client.get(path)) for _ in range(N - 1)]
                await _until(lambda: flight.joined - joined == N - 1)
                if cancel_first:
                    first.cancel()
            replies: list[Awaitable[httpx.Response]] = rest if cancel_first else [first, *rest]
            return list(await asyncio.gather(*replies))

    result: list[httpx.Response] = app.run(go)
    return result


def _counted(outcome: str) -> float:
    """mediashelf_replies_total of listings (this process's registry: the app runs here)."""
    return REGISTRY.get_sample_value("mediashelf_replies_total",
                                     {"kind": "list", "outcome": outcome}) or 0.0


def test_identical_cold_listings_are_read_once(app: InProcess) -> None:
    key = app.new_key(f"flight-{uuid.uuid4().hex[:8]}")
    _fill(app, key)
    replies = app.app.state.replies
    started, hits = replies.list_reads.started, replies._lists.hits
    counted = {o: _counted(o) for o in ("miss", "read")}
    got = _together(app, key, "/v1/assets?pageSize=50&type=VIDEO,AUDIO", replies.list_reads)
    assert replies.list_reads.started - started == 1
    assert _counted("miss") - counted["miss"] == N and _counted("read") - counted["read"] == 1
    assert {r.status_code for r in got} == {200} and len({r.content for r in got}) == 1
    assert len(got[0].json()) == 50 and got[0].headers["x-total-count"] == "60"
    assert len(replies.list_reads) == 0  # nothing left in flight
    with app.client(key) as client:  # the one read was kept: the next is a hit
        again = client.get("/v1/assets", params={"pageSize": 50, "type": "VIDEO,AUDIO"})
    assert again.content == got[0].content and replies._lists.hits == hits + 1


def test_a_leader_that_goes_away_leaves_its_answer_to_the_others(app: InProcess) -> None:
    key = app.new_key(f"flight-{uuid.uuid4().hex[:8]}")
    _fill(app, key)
    replies = app.app.state.replies
    started = replies.list_reads.started
    got = _together(app, key, "/v1/assets?pageSize=20&page=2", replies.list_reads,
                    cancel_first=True)
    assert len(got) == N - 1 and {r.status_code for r in got} == {200}
    assert len({r.content for r in got}) == 1 and len(got[0].json()) == 20
    assert replies.list_reads.started - started == 1 and len(replies.list_reads) == 0


def test_a_failed_read_reaches_every_waiter_and_is_not_kept(app: InProcess) -> None:
    key = app.new_key(f"flight-{uuid.uuid4().hex[:8]}")
    replies = app.app.state.replies
    missing = f"/v1/assets/{uuid.uuid4()}"
    started = replies.get_reads.started
    got = _together(app, key, missing, replies.get_reads)
    assert {r.status_code for r in got} == {404} and len({r.content for r in got}) == 1
    assert got[0].json()["code"] == 404
    assert replies.get_reads.started - started == 1 and len(replies.get_reads) == 0
    with app.client(key) as client:
        assert client.get(missing).status_code == 404
    assert replies.get_reads.started - started == 2  # read again: the failure was not kept


def test_a_write_keeps_other_types_and_tenants_cached(app: InProcess) -> None:
    a, b = (app.new_key(f"inval-{uuid.uuid4().hex[:8]}") for _ in range(2))
    ids_a, _ = _fill(app, a, 5), _fill(app, b, 5)
    video = str(ids_a[2 * 5])  # the first VIDEO of tenant A (types in AssetType's order)
    audio = str(ids_a[0])
    lists, gets = app.app.state.replies._lists, app.app.state.replies._gets
    with app.client(a) as ca, app.client(b) as cb:
        views = {"a-audio": (ca, "/v1/assets?type=AUDIO"), "a-all": (ca, "/v1/assets"),
                 "a-audio-asset": (ca, f"/v1/assets/{audio}"),
                 "a-video-asset": (ca, f"/v1/assets/{video}"),
                 "b-video": (cb, "/v1/assets?type=VIDEO")}
        first = {name: c.get(path).content for name, (c, path) in views.items()}

        def hit(name: str) -> bool:
            client, path = views[name]
            before = lists.hits + gets.hits
            res = client.get(path)
            assert res.status_code == 200
            return lists.hits + gets.hits == before + 1 and res.content == first[name]

        assert all(hit(name) for name in views)  # all kept
        renamed = ca.patch(f"/v1/assets/{video}", json={"name": "Renamed clip"})
        assert renamed.status_code == 200
        assert hit("a-audio") and hit("a-audio-asset") and hit("b-video")  # still kept
        assert not hit("a-all") and not hit("a-video-asset")  # the write shows in these
        assert "Renamed clip" in ca.get("/v1/assets").text
        assert ca.get(f"/v1/assets/{video}").json()["name"] == "Renamed clip"
