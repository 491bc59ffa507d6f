"""Quotas on SQLite and PostgreSQL: two instances on one database stand for two API processes.

Whatever the interleaving, a window never admits more than its budget, and at most one slice
per process less; budgets under 100 are exact; a window renews once it has ended.
"""

from __future__ import annotations

import asyncio
import random

from mediashelf.db.database import Database
from mediashelf.db.quotas import QuotaRepository
from mediashelf.services.quotas import Quotas, slice_size
from mediashelf.settings import Rate


class Clock:
    """Wall time the test moves by hand (both 'processes' read the same one)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def _takes(quotas: list[Quotas], name: str, rate: Rate, n: int) -> list[bool]:
    """n requests in flight together, each on a process picked at random."""
    rng = random.Random(7)
    lefts = await asyncio.gather(*(rng.choice(quotas).take(name, rate) for _ in range(n)))
    return [left.admitted for left in lefts]


def test_processes_never_admit_more_than_the_budget(database: Database) -> None:
    clock = Clock()
    procs = [Quotas(database, QuotaRepository(), clock) for _ in range(2)]
    rate = Rate(1000, 60)
    admitted = sum(asyncio.run(_takes(procs, "key:a:reads:60", rate, 1500)))
    assert 1000 - 2 * slice_size(1000) <= admitted <= 1000
    clock.now += 30  # the same window: still spent
    assert not any(asyncio.run(_takes(procs, "key:a:reads:60", rate, 50)))
    clock.now += 31  # a new window
    assert sum(asyncio.run(_takes(procs, "key:a:reads:60", rate, 1500))) >= 1000 - 40


def test_a_small_budget_is_exact_and_says_what_is_left(database: Database) -> None:
    clock = Clock()
    procs = [Quotas(database, QuotaRepository(), clock) for _ in range(2)]
    rate = Rate(7, 10)

    async def alternate() -> list[tuple[bool, int, int]]:
        out = []
        for i in range(10):
            left = await procs[i % 2].take("tenant:b:writes:10", rate)
            out.append((left.admitted, left.remaining, left.reset))
            clock.now += 0.5
        return out

    got = asyncio.run(alternate())
    assert [g[0] for g in got] == [True] * 7 + [False] * 3
    assert [g[1] for g in got] == [6, 5, 4, 3, 2, 1, 0, 0, 0, 0]
    assert [g[2] for g in got] == [10, 10, 9, 9, 8, 8, 7, 7, 6, 6]  # seconds to the window's end
    assert sum(asyncio.run(_takes(procs, "other", rate, 9))) == 7
