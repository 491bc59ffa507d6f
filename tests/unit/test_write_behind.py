"""WriteBehind (api/behind.py): one write in flight on a thread, in order; a failed write's error
comes out of the next put or wait; a cancelled waiter leaves the write to finish."""

from __future__ import annotations

import asyncio
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediashelf.api.behind import WriteBehind


@settings(max_examples=25, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=20))
def test_pieces_are_written_in_order_one_at_a_time(pieces: list[bytes]) -> None:
    written: list[bytes] = []
    busy = threading.Lock()

    def write(data: bytes) -> None:
        assert busy.acquire(blocking=False), "two writes at once"
        try:
            written.append(data)
        finally:
            busy.release()

    async def run() -> None:
        behind = WriteBehind(write)
        for piece in pieces:
            await behind.put(piece)
        await behind.wait()

    asyncio.run(run())
    assert written == pieces


def test_a_failed_write_raises_at_the_next_put_and_nothing_after_it_is_written() -> None:
    written: list[bytes] = []

    def write(data: bytes) -> None:
        if data == b"bad":
            raise OSError("disk full")
        written.append(data)

    async def run() -> None:
        behind = WriteBehind(write)
        await behind.put(b"a")
        await behind.put(b"bad")
        with pytest.raises(OSError, match="disk full"):
            await behind.put(b"c")
        await behind.wait()  # the error was told once

    asyncio.run(run())
    assert written == [b"a"]


def test_a_cancelled_wait_leaves_the_write_to_end_and_the_next_wait_sees_it() -> None:
    release = threading.Event()
    ended = threading.Event()

    def write(data: bytes) -> None:
        release.wait(5)
        ended.set()

    async def run() -> None:
        behind = WriteBehind(write)
        await behind.put(b"slow")
        waiter = asyncio.create_task(behind.wait())
        await asyncio.sleep(0.01)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert not ended.is_set()  # still writing: nothing may touch the writer yet
        release.set()
        await behind.wait()
        assert ended.is_set()

    asyncio.run(run())
