"""Quotas: budgets shared by every API process, counted in the database, spent from memory.

A budget's window starts at its bucket's first request (so a burst never straddles a boundary
it did not choose) and its row in the database says how many units all processes have taken
in it. A process takes units in slices (2 % of the budget, at most 100,000, or as many as
requests are waiting for them): it goes back to the database only when its slice is spent,
with one statement that never hands out more than the budget. So the total admitted in a
window never exceeds the budget, whatever the number of processes; a slice left unspent in one
process when the window ends is lost, which can refuse up to one slice per process early.
Budgets under 100 are taken a unit at a time: exact.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from math import ceil
from typing import NamedTuple

from anyio import to_thread

from mediashelf.db.database import Database
from mediashelf.db.quotas import QuotaRepository
from mediashelf.settings import Rate

log = logging.getLogger("mediashelf.limits")

_PURGE_EVERY_S = 60.0  # ended windows are forgotten this often, in memory and in the database
_SLICE_MAX = 100_000  # a large budget still reserves a few times a window per process


def slice_size(limit: int) -> int:
    """Units a process reserves at once for a budget of `limit`."""
    return max(1, min(limit // 50, _SLICE_MAX))


class Left(NamedTuple):  # a tuple: made on every request, and cheaper to make than a dataclass
    """After a request: whether it was admitted, what the budget has left, when it renews."""

    admitted: bool
    remaining: int
    reset: int  # whole seconds until the window ends


class _Bucket:
    __slots__ = ("expires", "granted", "refill", "spent", "spent_out", "used", "waiting")

    def __init__(self) -> None:
        self.expires = 0.0  # the window's end (wall clock, seconds); 0: not reserved yet
        self.granted = 0  # units this process reserved in the window
        self.spent = 0  # ... and used
        self.used = 0  # units all processes had reserved, as of the last reservation
        self.spent_out = False  # the database had nothing left to give in this window
        self.refill: asyncio.Future[None] | None = None
        self.waiting = 0  # requests waiting for the refill under way


class Quotas:
    """Named buckets, each with a budget; one instance per API process."""

    def __init__(self, db: Database, repo: QuotaRepository,
                 clock: Callable[[], float] = time.time) -> None:
        self._db, self._repo, self._clock = db, repo, clock
        self._buckets: dict[str, _Bucket] = {}
        self._next_purge = self._next_db_purge = clock() + _PURGE_EVERY_S

    def take_now(self, names: tuple[str, ...], rates: tuple[Rate, ...]
                 ) -> tuple[int, ...] | None:
        """As take() of each named bucket, when this process's slices hold a unit of every one
        (no await, one clock read: the common case costs a dict lookup a bucket): what each
        budget has left and its seconds to renewal, flat, as the RateLimit field writes them.
        None, with nothing taken, when one must be asked of the database or is spent."""
        now = self._clock()
        buckets = self._buckets
        numbers: list[int] = []
        for name, rate in zip(names, rates):  # noqa: B905 (a rate a name)
            bucket = buckets.get(name)
            if bucket is None or bucket.refill is not None or now >= bucket.expires \
                    or bucket.spent >= bucket.granted:
                for earlier in names[:len(numbers) // 2]:
                    self.give_back(earlier)
                return None
            bucket.spent = spent = bucket.spent + 1
            left = rate.count - bucket.used + bucket.granted - spent
            numbers += (left if left > 0 else 0, ceil(bucket.expires - now))
        return tuple(numbers)

    async def take(self, name: str, rate: Rate) -> Left:
        """One unit of the named bucket's budget, if it has one left in this window."""
        now = self._clock()
        if now >= self._next_purge:
            self._forget_ended(now)
        bucket = self._buckets.get(name)
        if bucket is None:
            bucket = self._buckets[name] = _Bucket()
        while True:
            if now >= bucket.expires:  # a new window: nothing of the last one carries over
                bucket.granted = bucket.spent = 0
                bucket.spent_out = False
            elif bucket.spent < bucket.granted:
                bucket.spent += 1
                return Left(True, _remaining(bucket, rate), _seconds(bucket.expires - now))
            elif bucket.spent_out:
                return Left(False, 0, _seconds(bucket.expires - now))
            await self._refill(name, bucket, rate)
            now = self._clock()

    def give_back(self, name: str) -> None:
        """Return the unit just taken (another budget refused the request)."""
        bucket = self._buckets.get(name)
        if bucket is not None and bucket.spent > 0:
            bucket.spent -= 1

    async def _refill(self, name: str, bucket: _Bucket, rate: Rate) -> None:
        if bucket.refill is not None:  # another request is already asking: wait for it
            bucket.waiting += 1
            try:
                await asyncio.shield(bucket.refill)
            finally:
                bucket.waiting -= 1
            return
        bucket.refill = asyncio.get_running_loop().create_future()
        try:
            # the slice, or more when more requests wait than it holds: none asks again
            want = max(slice_size(rate.count), bucket.waiting + 1)
            granted, used, expires = await to_thread.run_sync(self._reserve, name, want, rate)
            if expires != bucket.expires:  # a window of its own: counts start again
                bucket.granted = bucket.spent = 0
                bucket.expires = expires
            bucket.granted += granted
            bucket.used = used
            bucket.spent_out = granted == 0
        finally:
            bucket.refill.set_result(None)
            bucket.refill = None

    def _reserve(self, name: str, want: int, rate: Rate) -> tuple[int, int, float]:
        now_ms = int(self._clock() * 1000)
        try:
            with self._db.write() as conn:
                row = self._repo.reserve(conn, name, want, rate.count, now_ms,
                                         rate.window * 1000)
            if now_ms >= self._next_db_purge * 1000:  # on this thread: off the event loop
                self._next_db_purge = now_ms / 1000 + _PURGE_EVERY_S
                with self._db.write() as conn:
                    self._repo.purge(conn, now_ms - 1000)
        except Exception:
            # Bookkeeping must not fail the request: without the database this process admits
            # one slice per window on its own (a request needing a key fails on its own anyway).
            log.warning("limits.reserve_failed", exc_info=True, extra={"bucket": name})
            return want, want, (now_ms + rate.window * 1000) / 1000
        return row.granted, row.used, row.expires_ms / 1000

    def _forget_ended(self, now: float) -> None:
        self._next_purge = now + _PURGE_EVERY_S
        ended = [name for name, b in self._buckets.items() if b.expires <= now and not b.refill]
        for name in ended:
            del self._buckets[name]


def _remaining(bucket: _Bucket, rate: Rate) -> int:
    """What is left for everyone: the budget less what all processes had reserved when this
    one last asked, plus what this one holds unspent (other processes' slices may be spent
    since, so it can be a little high; it is never below what this process can admit)."""
    return max(0, rate.count - bucket.used + bucket.granted - bucket.spent)


def _seconds(delta: float) -> int:
    return max(1, int(-(-delta // 1)))  # rounded up: a client waiting that long finds it renewed
