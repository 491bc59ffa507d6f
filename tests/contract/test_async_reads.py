"""AsyncReads on PostgreSQL (the event loop's asynchronous connections) and LocalReads on SQLite
(the driver's own connection of the thread) read the very pages and assets the pool's
connections read, for any listing: every order, searches, tags, digests, deep pages from either
end, and an asset by id."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.contract.test_repositories import new_tenant
from tests.support.library import make_asset

from mediashelf.db.assets import AssetRepository, visible_read
from mediashelf.db.database import Database
from mediashelf.db.listing import Listing, Step, Steps
from mediashelf.db.sql import fetch
from mediashelf.domain import AssetStatus, AssetType, ListQuery, Sort, now_ms
from mediashelf.errors import Unavailable
from mediashelf.words import query_words

_STATUSES = [AssetStatus.READY, AssetStatus.PROCESSING, AssetStatus.FAILED]
_WORDS = ["sunset", "beach", "café", "🎬 clip", "drone", "city", "näive", "office"]
_TAGS = ["b-roll", "music", "outdoor", "4k"]


def _digest(i: int) -> str:
    return hashlib.sha256(str(i % 40).encode()).hexdigest()


def _fill(db: Database) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """Two owners, 1,400 assets across types, statuses, names, tags, digests and metadata."""
    owners = [new_tenant(db), new_tenant(db)]
    base = now_ms() - 10_000_000
    made = []
    for i in range(1400):
        asset = make_asset(owners[1 if i % 5 == 0 else 0], list(AssetType)[i % 3],
                           _STATUSES[1 if i % 7 == 0 else 2 if i % 11 == 0 else 0],
                           base + i * 1000,
                           name=f"{_WORDS[i % 8]} {_WORDS[(i // 8) % 8]} {i}")
        made.append(dataclasses.replace(
            asset, sha256=_digest(i), size_bytes=1000 + (i * 7919) % 5000,
            duration_ms=None if i % 3 == 1 else (i * 104729) % 90_000,
            has_audio=None if i % 4 == 0 else i % 2 == 0,
            tags=sorted({_TAGS[i % 4], _TAGS[(i // 4) % 4]}),
            extra={"shot": i, "note": "naïve ✓"} if i % 6 == 0 else {}))
    with db.write() as conn:
        AssetRepository().bulk_insert(conn, made)
    return owners, [a.id for a in made[::97]]


_QUERIES = st.builds(
    lambda types, statuses, size, page, sort, q, tags: ListQuery(
        types=tuple(types), statuses=tuple(statuses), page_size=size, page=page, sort=sort,
        q=None if q is None else query_words(q), tags=frozenset(tags)),
    st.sets(st.sampled_from(list(AssetType)), min_size=1),
    st.sets(st.sampled_from(_STATUSES), min_size=1),
    st.sampled_from([1, 7, 20, 100]),
    st.integers(1, 1500),
    st.sampled_from(list(Sort)),
    st.none() | st.sampled_from([*_WORDS, "sun", "caf", "nothing", "..."]),
    st.sets(st.sampled_from(_TAGS), max_size=2))

_DIGESTS = st.builds(
    lambda statuses, size, page, digests: ListQuery(
        statuses=tuple(statuses), page_size=size, page=page, sha256=tuple(sorted(digests))),
    st.sets(st.sampled_from(_STATUSES), min_size=1),
    st.sampled_from([1, 20]), st.integers(1, 40),
    st.sets(st.sampled_from([_digest(i) for i in range(45)]), min_size=1, max_size=3))


def _assets_read_as_the_pool(database: Database, owner: uuid.UUID, ids: list[uuid.UUID],
                             rows: Callable[[Step], list[Any]]) -> None:
    """Each asset's one statement (visible_read) gives the same rows through `rows` as through
    the pool."""
    for asset_id in ids:
        step, _form = visible_read(database.engine.dialect.name, asset_id, [owner])
        with database.read() as conn:
            expected = fetch(conn, *step)
        assert rows(step) == expected


def test_the_loops_reads_are_the_snapshot_pools(database: Database) -> None:
    reads = database.async_reads()
    if reads is None:
        pytest.skip("SQLite's reads are not awaited on the loop")
    owners, some = _fill(database)
    name = database.engine.dialect.name
    loop = asyncio.new_event_loop()
    seen: set[str] = set()

    @settings(max_examples=80, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(_QUERIES | _DIGESTS, st.booleans())
    def check(query: ListQuery, both: bool) -> None:
        mine = owners if both else owners[:1]
        with database.read() as conn:
            expected = Listing().read(conn, mine, query)
        # a fresh Listing each: its memos must not hide a statement of either path
        page = loop.run_until_complete(
            reads.listing(functools.partial(Listing().steps, name, mine, query)))
        assert page == expected
        seen.add("rows" if page.rows else "empty")

    try:
        check()
        _assets_read_as_the_pool(database, owners[0], some,
                                 lambda step: loop.run_until_complete(reads.rows(step)))
        loop.run_until_complete(reads.close())
    finally:
        loop.close()
    assert seen == {"rows", "empty"}


def test_the_local_reads_are_the_pools(database: Database) -> None:
    """On SQLite, LocalReads (the driver's own connection of the thread) reads the very pages
    and assets the pool reads; a listing whose counts are known at the versions runs without
    BEGIN, as its one checked page statement."""
    reads = database.sync_reads()
    if reads is None:
        pytest.skip("PostgreSQL's reads are awaited on the loop (above)")
    owners, some = _fill(database)
    name = database.engine.dialect.name
    seen: set[str] = set()
    ran: list[str] = []

    @settings(max_examples=80, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(_QUERIES | _DIGESTS, st.booleans())
    def check(query: ListQuery, both: bool) -> None:
        mine = owners if both else owners[:1]
        with database.read() as conn:
            expected = Listing().read(conn, mine, query)
        listing = Listing()  # fresh: its memos must not hide a statement of either path
        page = reads.listing(functools.partial(listing.steps, name, mine, query))
        assert page == expected
        seen.add("rows" if page.rows else "empty")
        ran.clear()
        again = reads.listing(functools.partial(listing.steps, name, mine, query),
                              functools.partial(listing.guess, name, mine, query,
                                                expected.versions))
        assert again == expected
        if listing.guess(name, mine, query, expected.versions) is not None:
            seen.add("guessed")
            assert "BEGIN" not in ran, ran

    try:
        reads._conn().set_trace_callback(ran.append)
        check()
        _assets_read_as_the_pool(database, owners[0], some, reads.rows)
    finally:
        reads.close()
    assert seen == {"rows", "empty", "guessed"}


def test_a_failed_local_read_is_a_503_and_the_next_one_reads(database: Database) -> None:
    """A statement that fails inside the listing's transaction answers Unavailable (503), and
    the thread's next read runs on a fresh connection, not inside the failed transaction."""
    reads = database.sync_reads()
    if reads is None:
        pytest.skip("SQLite only")
    owners, _some = _fill(database)
    name = database.engine.dialect.name
    query = ListQuery(page_size=5)

    def broken() -> Steps:
        yield ("SELECT * FROM no_such_table", ()), tuple
        raise AssertionError("not reached")

    try:
        with pytest.raises(Unavailable):
            reads.listing(broken)
        page = reads.listing(functools.partial(Listing().steps, name, owners, query))
        assert len(page.rows) == 5 and not reads._conn().in_transaction
    finally:
        reads.close()
