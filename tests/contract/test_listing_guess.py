"""Listing.guess on SQLite and PostgreSQL: a listing read without a transaction at the versions
it was last read at (its page checked against them, after any bucket sums not known yet) is the
page the full listing reads, and no page at all once the library changed. And the one statement
that reads an asset on the loop (visible_read) reads what the listing does."""

from __future__ import annotations

import dataclasses
import random
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.contract.test_repositories import new_tenant
from tests.support.library import make_asset

from mediashelf.db.assets import AssetRepository, visible_read
from mediashelf.db.database import Database
from mediashelf.db.listing import Guess, Listing, drive
from mediashelf.db.sql import fetch
from mediashelf.domain import Asset, AssetStatus, AssetType, ListQuery, Page, Sort, now_ms

_STATUSES = [AssetStatus.READY, AssetStatus.PROCESSING, AssetStatus.FAILED]


def _fill(db: Database) -> list[uuid.UUID]:
    """Two owners, 2,600 assets in all across types and statuses, a second apart: enough for
    pages deeper than the listing reads without its bucket sums, from either end."""
    owners = [new_tenant(db), new_tenant(db)]
    base = now_ms() - 10_000_000
    made = [make_asset(owners[1 if i % 5 == 0 else 0], list(AssetType)[i % 3],
                       _STATUSES[1 if i % 7 == 0 else 2 if i % 11 == 0 else 0],
                       base + i * 1000) for i in range(2600)]
    with db.write() as conn:
        AssetRepository().bulk_insert(conn, made)
    return owners


_QUERIES = st.builds(
    lambda types, statuses, size, page, sort: ListQuery(
        types=tuple(types), statuses=tuple(statuses), page_size=size, page=page, sort=sort),
    st.sets(st.sampled_from(list(AssetType)), min_size=1),
    st.sets(st.sampled_from(_STATUSES[:2]), min_size=1),
    st.sampled_from([1, 7, 20, 100]),
    st.integers(1, 2700),
    st.sampled_from([Sort.NEWEST, Sort.OLDEST]))


def _drive(database: Database, guess: Guess) -> tuple[Page | None, int]:
    """The guess's statements run one by one, each in its own transaction (its own snapshot,
    as on the loop); what it returns, and how many statements it ran."""
    ran = 0
    try:
        step = next(guess)
        while True:
            with database.read() as conn:
                rows = fetch(conn, *step)
            ran += 1
            step = guess.send(rows)
    except StopIteration as done:
        return done.value, ran


def test_a_guessed_listing_is_the_listing(database: Database) -> None:
    owners = _fill(database)
    listing = Listing()
    name = database.engine.dialect.name
    guessed, summed = 0, 0

    @settings(max_examples=60, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(_QUERIES, st.booleans(), st.booleans())
    def check(query: ListQuery, both: bool, known_sums: bool) -> None:
        nonlocal guessed, summed
        mine = owners if both else owners[:1]
        assert listing.guess(name, mine, query, (10**9,) * len(mine) * len(query.types)) is None
        with database.read() as conn:
            page = listing.read(conn, mine, query)
        # or only the counts known (the first page read), not the sums a deep page needs
        fresh = listing if known_sums else Listing()
        if not known_sums:
            with database.read() as conn:
                fresh.read(conn, mine, dataclasses.replace(query, page=1))
        guess = fresh.guess(name, mine, query, page.versions)
        assert guess is not None
        found, ran = _drive(database, guess)
        assert found == page
        if query.offset >= page.total:
            assert ran == 0  # past the end: the counts say so
        guessed += 1
        summed += ran > 1
        stale = list(page.versions)
        stale[-1] -= 1  # a write since: the versions read are not the ones guessed at
        old = listing.guess(name, mine, query, tuple(stale))
        assert old is None  # no counts kept at versions never read

    check()
    assert guessed > 20
    # pages deep enough for the bucket sums (past _DIRECT rows from either end), not known yet
    every = (AssetStatus.READY, AssetStatus.PROCESSING)
    for sort in (Sort.NEWEST, Sort.OLDEST):
        for size, page_no in ((1, 1150), (7, 160), (20, 57), (100, 12)):
            query = ListQuery(statuses=every, page_size=size, page=page_no, sort=sort)
            with database.read() as conn:
                page = listing.read(conn, owners, query)
            assert 1000 < query.offset < page.total - 1000 and page.rows
            fresh = Listing()
            with database.read() as conn:
                fresh.read(conn, owners, dataclasses.replace(query, page=1))
            guess = fresh.guess(name, owners, query, page.versions)
            assert guess is not None
            found, ran = _drive(database, guess)
            assert found == page and ran > 1
            summed += 1
    assert summed >= 8


def test_a_guess_made_before_a_write_reads_no_page(database: Database) -> None:
    owners = _fill(database)
    listing = Listing()
    name = database.engine.dialect.name
    query = ListQuery(page_size=50, page=3)
    with database.read() as conn:
        page = listing.read(conn, owners, query)
    guess = listing.guess(name, owners, query, page.versions)
    assert guess is not None
    with database.write() as conn:
        AssetRepository().insert(conn, make_asset(owners[1], AssetType.VIDEO, AssetStatus.READY,
                                                  now_ms()))
    assert _drive(database, guess) == (None, 1)
    with database.read() as conn:
        fresh = listing.read(conn, owners, query)
    assert fresh.total == page.total + 1 and fresh.versions != page.versions


def test_an_asset_read_alone_is_its_listed_row(database: Database) -> None:
    owners = _fill(database)
    name = database.engine.dialect.name
    repo = AssetRepository()
    with database.read() as conn:
        page = Listing().read(conn, owners, ListQuery(page_size=30))
        assert page.form is not None
        listed = {page.form.id_text(row.id): row for row in page.rows}
        picked = [repo.get(conn, uuid.UUID(i)) for i in list(listed)[::7]]
    stranger = new_tenant(database)
    for asset in picked:
        assert asset is not None
        step, form = visible_read(name, asset.id, owners)
        with database.read() as conn:
            assert fetch(conn, *step) == [listed[str(asset.id)]]
            assert form == page.form
            # another tenant's asset is not seen; nor a deleted one
            assert fetch(conn, *visible_read(name, asset.id, [stranger])[0]) == []
    with database.write() as conn:
        repo.mark_deleted(conn, picked[0], now_ms())
    with database.read() as conn:
        assert fetch(conn, *visible_read(name, picked[0].id, owners)[0]) == []


def _spread(db: Database) -> tuple[list[uuid.UUID], list[Asset]]:
    """Two owners, 3,000 assets over about 9 days in bursts and gaps: many finest buckets
    (~17 minutes) under several parents (~19 hours), some empty, some crowded."""
    owners = [new_tenant(db), new_tenant(db)]
    rnd = random.Random(13)
    ms, made = now_ms() - 9 * 86_400_000, []
    for i in range(3000):
        ms += rnd.choice([1, 40, 900, 60_000, 600_000, 3_600_000 if i % 97 == 0 else 5])
        made.append(make_asset(owners[i % 3 == 0], list(AssetType)[i % 3],
                               _STATUSES[1 if i % 7 == 0 else 0], ms))
    with db.write() as conn:
        AssetRepository().bulk_insert(conn, made)
    return owners, made


def _recorded(database: Database, steps: Any) -> tuple[Page | None, list[str]]:
    """What steps (a listing's or a guess's) return, and the texts of the statements run."""
    texts: list[str] = []

    def read(step: Any) -> list[Any]:
        texts.append(step[0][0])
        with database.read() as conn:
            return fetch(conn, *step)

    return drive(steps, read), texts


def test_a_deep_page_finds_its_finest_bucket_in_its_own_statement(database: Database) -> None:
    owners, made = _spread(database)
    name = database.engine.dialect.name
    every = (AssetStatus.READY, AssetStatus.PROCESSING)
    listing = Listing()

    @settings(max_examples=60, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.sampled_from([1, 7, 50, 100]), st.integers(0, 2999),
           st.sampled_from([Sort.NEWEST, Sort.OLDEST]), st.booleans())
    def check(size: int, row: int, sort: Sort, both: bool) -> None:
        mine = owners if both else owners[:1]
        model = sorted((a.id for a in made if a.tenant_id in mine),
                       reverse=sort is Sort.NEWEST)
        query = ListQuery(statuses=every, page_size=size, page=row // size + 1, sort=sort)
        page, texts = _recorded(database, listing.steps(name, mine, query))
        assert page is not None and page.total == len(model)
        form = page.form
        listed = [uuid.UUID(form.id_text(r.id)) for r in page.rows] if form else []
        assert listed == model[query.offset:query.offset + size]
        deep = min(query.offset, len(model) - query.offset - size) > 1000
        # a deep page reads the finest sums in its own statement, never on their own
        assert sum("WITH k AS" in t for t in texts) == deep
        assert not any("level = %s" in t or "level = ?" in t for t in texts[-1:])
        if deep:  # and once its coarser sums are known, a guess is that one statement
            again = listing.guess(name, mine, query, page.versions)
            assert again is not None
            found, ran = _recorded(database, again)
            assert found == page and len(ran) == 1

    check()


def test_a_deep_page_is_right_when_the_finest_sums_run_out(database: Database) -> None:
    """Sums that fall short (they never should) leave the page to be read without them."""
    owners, _ = _spread(database)
    name = database.engine.dialect.name
    query = ListQuery(statuses=(AssetStatus.READY, AssetStatus.PROCESSING), page_size=20,
                      page=60)
    with database.read() as conn:
        page = Listing().read(conn, owners, query)
    with database.write() as conn:
        conn.exec_driver_sql("DELETE FROM asset_buckets WHERE level = 0")
    found, texts = _recorded(database, Listing().steps(name, owners, query))
    assert found == page and sum("WITH k AS" in t for t in texts) == 1
