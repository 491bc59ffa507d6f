"""Listing: a page of live assets, its exact total and the listed types' versions, in one snapshot.

Searches and tag filters count their matches through the text and tag indexes and read their
page from the nearer end of the order; other orders merge the groups' own index ranges (one
index per order) and read the same way.

Totals come from the kept counts (asset_counts). A page near either end is read straight from
the groups' index ranges, merged; a page deeper than _DIRECT rows from both ends is found by
descending the bucket counts (asset_buckets) to the ~17-minute bucket where it starts, then
seeking there by id, so its cost does not grow with the page number. The statements are the
dialect's driver SQL (db/sql/). The listing itself does no I/O: Listing.steps yields each
statement and is sent its rows, so one listing runs on a thread on SQLAlchemy's connection
(Listing.read, the driver's own cursor: SQLAlchemy's statement and result machinery cost more
than these small reads do) or on the event loop on an asynchronous one (db/async_reads.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Generator, Hashable, Sequence
from typing import Any, NamedTuple

from sqlalchemy.engine import Connection

from mediashelf.db.schema import BUCKET_SHIFTS
from mediashelf.db.sql import (
    AssetRow,
    BucketRow,
    CheckedRow,
    CountRow,
    Dialect,
    GroupRow,
    Statement,
    dialect,
    fetch,
)
from mediashelf.domain import ListQuery, Page, Sort
from mediashelf.lru import BoundedLRU

_DIRECT = 1000  # pages within this many rows of either end are read without the buckets
_SUMS_ENTRIES, _SUMS_BYTES = 4096, 8 << 20
_TOTALS_ENTRIES = 4096
# A statement to run and the row shape (a NamedTuple) its rows are decoded as.
Step = tuple[Statement, type[tuple[Any, ...]]]
Steps = Generator[Step, list[Any], Page]  # sent each step's rows; returns the page

_HEADS_ENTRIES = 4096


# Listing.guess's statements, each its own snapshot; sent their rows, it returns the page, or
# None if the library had changed (then the listing is read as usual)
Guess = Generator[Step, list[Any], Page | None]


# a filtered page walks the order's index when that reads fewer rows than the match count
# (a row walked is read in order, one read through the text or tag index is a random seek
# and then sorted: a walked row costs no more)
WALK_FACTOR = 1


class Listing:
    def __init__(self) -> None:
        # bucket sums by (filter, parent bucket, library versions): a walk through the pages
        # reads the same coarse sums again and again, and equal versions mean equal sums
        self._sums: BoundedLRU[tuple[Hashable, ...], list[tuple[int, int]]] = BoundedLRU(
            _SUMS_ENTRIES, _SUMS_BYTES, lambda sums: 64 + 128 * len(sums))
        # a search's count by (search, library versions), for the same reason: paging through
        # one search counts its matches once, and equal versions mean an equal count
        self._totals: BoundedLRU[tuple[Hashable, ...], int] = BoundedLRU(
            _TOTALS_ENTRIES, _TOTALS_ENTRIES * 512, lambda _n: 256)
        # the groups' counts by (filter, library versions), for guess()
        self._heads: BoundedLRU[tuple[Hashable, ...], list[GroupRow]] = BoundedLRU(
            _HEADS_ENTRIES, _HEADS_ENTRIES * 4096, lambda heads: 128 + 128 * len(heads))

    def read(self, conn: Connection, owners: Sequence[uuid.UUID], query: ListQuery) -> Page:
        """steps() run on conn, in its transaction."""
        page = drive(self.steps(conn.dialect.name, owners, query), lambda s: fetch(conn, *s))
        assert page is not None  # steps always end with a page
        return page

    def steps(self, name: str, owners: Sequence[uuid.UUID], query: ListQuery) -> Steps:
        """The page `query` asks for of the owners' live assets (newest first), its total, the
        owners' versions, and each asset's stored row (hashable: equal rows, equal assets),
        read by the statements it yields, all in one snapshot, on dialect `name`."""
        sql = dialect(name)
        if query.sha256:
            return (yield from self._with_digests(sql, owners, query))
        keys = _keys(sql, owners, query)
        heads: list[GroupRow] = yield sql.groups(*keys), GroupRow
        versions = _versions(heads, keys[0], keys[1])
        self._heads.put(_heads_key(name, keys, versions), heads)
        return (yield from self._from_heads(name, sql, keys, query, heads, versions))

    def guess(self, name: str, owners: Sequence[uuid.UUID], query: ListQuery,
              versions: tuple[int, ...]) -> Guess | None:
        """A listing by date without a transaction, if the library is as it was at `versions`
        (the request key's, ListQuery.versions) the last time it was listed: then its counts
        are known, and only the bucket sums a deep page needs and the page itself are read,
        the page in one statement that checks the versions in its own snapshot. None if the
        counts are not known.

        Each statement is its own snapshot, all taken after the key was read. Versions only
        grow, and every write raises those of the pairs it changes: when the page's snapshot
        still holds the key's versions, nothing listed changed since the key was read, so the
        sums read in between are those of the same library."""
        if query.sha256 or not query.bounded:
            return None
        sql = dialect(name)
        keys = _keys(sql, owners, query)
        heads = self._heads.get(_heads_key(name, keys, versions))
        if heads is None:
            return None
        pairs = [(o, t) for o in keys[0] for t in keys[1]]
        return _checked(sql, self._from_heads(name, sql, keys, query, heads, versions), pairs,
                        versions)

    def _from_heads(self, name: str, sql: Dialect,
                    keys: tuple[list[Hashable], list[str], list[str]], query: ListQuery,
                    heads: list[GroupRow], versions: tuple[int, ...]) -> Steps:
        """The rest of steps(), once the groups' counts and versions are read."""
        groups = [g for g in heads if g.status is not None]
        if query.q is not None or query.tags:
            return (yield from self._search(name, sql, keys, query, versions, groups))
        total = sum(int(g.n) for g in groups)
        offset = query.offset
        if offset >= total:
            return Page(query, total, versions)
        shown = min(query.page_size, total - offset)  # page_size, or fewer on the last page
        # A page is read from the nearer end of its order, so the last page costs the first's.
        from_start = offset <= total - offset - shown
        skip = offset if from_start else total - offset - shown
        if query.sort not in (Sort.NEWEST, Sort.OLDEST):
            rows: list[AssetRow] = yield sql.groups_page(
                [(g.tenant_id, str(g.type), str(g.status), min(int(g.n), skip + shown))
                 for g in groups], query.sort, from_start, shown, skip), AssetRow
            return Page(query, total, versions, rows, sql.row_form())
        newest_first = from_start == (query.sort is Sort.NEWEST)  # oldest first: the other end
        rows = []
        if skip > _DIRECT:
            found = yield from self._locate(name, sql, keys, skip, newest_first, versions)
            if found is not None:
                rows = yield sql.located_page(
                    [(g.tenant_id, str(g.type), str(g.status), min(int(g.n), found.skip + shown))
                     for g in groups], *keys, found.within, newest_first, shown, found.skip
                ), AssetRow
        if not rows:  # near an end, or the sums ran out (they never should): no bound
            rows = yield sql.page(
                [(g.tenant_id, str(g.type), str(g.status), min(int(g.n), skip + shown))
                 for g in groups], newest_first, shown, skip), AssetRow
        if query.sort is Sort.OLDEST:
            rows.reverse()  # the page statement answers newest first
        return Page(query, total, versions, rows, sql.row_form())

    def _search(self, name: str, sql: Dialect,
                keys: tuple[list[Hashable], list[str], list[str]], query: ListQuery,
                versions: tuple[int, ...], groups: list[GroupRow]) -> Steps:
        """A page of a search or tag filter and its exact total, counted through the text and
        tag indexes. Few matches: the page is read through those indexes and sorted; many:
        by walking the order's own index and checking each row, from the nearer end."""
        if query.q == ():  # a search with no words in it matches nothing
            return Page(query, 0, versions)
        words, tags = query.q or (), sorted(query.tags)
        memo = (name, versions, *keys[0], *keys[1], *keys[2], words, *tags)
        total = self._totals.get(memo)
        if total is None:
            counted: list[CountRow] = yield sql.count_matching(*keys, words, tags), CountRow
            total = int(counted[0].n)
            self._totals.put(memo, total)
        offset = query.offset
        if offset >= total:
            return Page(query, total, versions)
        shown = min(query.page_size, total - offset)
        from_start = offset <= total - offset - shown
        skip = offset if from_start else total - offset - shown
        rows_in_groups = sum(int(g.n) for g in groups)
        # walking reads about (skip + shown) x rows / matches rows; the index reads `total`
        if WALK_FACTOR * (skip + shown) * rows_in_groups < total * total:
            rows: list[AssetRow] = yield sql.groups_page(
                [(g.tenant_id, str(g.type), str(g.status), min(int(g.n), skip + shown))
                 for g in groups], query.sort, from_start, shown, skip, words, tags), AssetRow
        else:
            rows = yield sql.page_matching(*keys, words, tags, query.sort, from_start, shown,
                                           skip), AssetRow
            if not from_start:
                rows.reverse()
        return Page(query, total, versions, rows, sql.row_form())

    def _with_digests(self, sql: Dialect, owners: Sequence[uuid.UUID],
                      query: ListQuery) -> Steps:
        """The ?sha256= listing: its own statement and exact count, over the digest index
        (a few rows per digest), instead of the counts and buckets the full listing walks."""
        if query.q is not None or query.tags or query.sort is not Sort.NEWEST:
            raise NotImplementedError("sha256 combines with type, status and scope only")
        ids = [sql.bind_id(o) for o in owners]
        types, statuses = [t.value for t in query.types], [s.value for s in query.statuses]
        heads: list[GroupRow] = yield sql.groups(ids, types, statuses), GroupRow
        versions = _versions(heads, ids, types)
        digests = list(query.sha256)
        counted: list[CountRow] = yield sql.digest_count(ids, types, statuses, digests), CountRow
        total = int(counted[0].n)
        if query.offset >= total:
            return Page(query, total, versions)
        rows: list[AssetRow] = yield sql.digest_page(ids, types, statuses, digests,
                                                     query.page_size, query.offset), AssetRow
        return Page(query, total, versions, rows, sql.row_form())

    def _locate(self, name: str, sql: Dialect,
                keys: tuple[list[Hashable], list[str], list[str]], skip: int,
                newest_first: bool, versions: tuple[int, ...]
                ) -> Generator[Step, list[Any], Located | None]:
        """Where row `skip` (from the chosen end) is, down to the parent of its finest bucket;
        None if the counts run out. The page statement sums the finest buckets itself: a
        random deep page would rarely find them known (there are thousands), and one round
        trip costs less than two."""
        before, within = 0, None
        for level in reversed(range(1, len(BUCKET_SHIFTS))):
            memo = (name, versions, newest_first, *keys[0], *keys[1], *keys[2],
                    level, within)
            sums = self._sums.get(memo)
            if sums is None:
                found: list[BucketRow] = yield (sql.buckets(*keys, level, within, newest_first),
                                                BucketRow)
                sums = [(int(b.bucket), int(b.n)) for b in found]
                self._sums.put(memo, sums)
            for bucket, n in sums:
                if before + n > skip:
                    span = BUCKET_SHIFTS[level] - BUCKET_SHIFTS[level - 1]
                    within = (bucket << span, (bucket + 1) << span)
                    break
                before += n
            else:
                return None
        assert within is not None
        return Located(within, skip - before)


class Located(NamedTuple):
    """A deep page's place down to its finest level's parent: that parent's range of finest
    buckets, and the rows of the way from the parent's edge."""

    within: tuple[int, int]
    skip: int


def drive(steps: Steps | Guess, read: Callable[[Step], list[Any]]) -> Page | None:
    """Run the statements steps yields with read(step), sending each its rows, and return
    what it returns (db/async_reads.py awaits the same loop)."""
    try:
        step = next(steps)
        while True:
            step = steps.send(read(step))
    except StopIteration as done:
        page: Page | None = done.value
        return page


def _checked(sql: Dialect, steps: Steps, pairs: list[tuple[Hashable, str]],
             versions: tuple[int, ...]) -> Guess:
    """steps, their page statement checked against the versions (see Listing.guess); a page
    past the end needs no statement at all."""
    try:
        statement, shape = next(steps)
        while True:
            if shape is not AssetRow:  # a bucket sum, as it is
                statement, shape = steps.send((yield statement, shape))
                continue
            rows: list[CheckedRow] = yield sql.checked(statement, pairs, versions), CheckedRow
            if not rows or not rows[0][0]:  # (fresh, *AssetRow): the library changed
                steps.close()
                return None
            # an empty page is one row of NULLs
            statement, shape = steps.send([AssetRow._make(r[1:]) for r in rows
                                           if r[1] is not None])
    except StopIteration as done:
        page: Page = done.value
        return page


def _keys(sql: Dialect, owners: Sequence[uuid.UUID],
          query: ListQuery) -> tuple[list[Hashable], list[str], list[str]]:
    """The listed owners (as the driver binds them), types and statuses."""
    return ([sql.bind_id(o) for o in owners], [t.value for t in query.types],
            [s.value for s in query.statuses])


def _heads_key(name: str, keys: tuple[list[Hashable], list[str], list[str]],
               versions: tuple[int, ...]) -> tuple[Hashable, ...]:
    """Where steps() keeps the groups' counts it read and guess() finds them."""
    return (name, *keys[0], *keys[1], *keys[2], versions)


def _versions(heads: Sequence[GroupRow], owners: Sequence[Hashable],
              types: Sequence[str]) -> tuple[int, ...]:
    """The versions of the listed (owner, type) pairs, owner by owner, as ListQuery.versions
    picks them from a key's."""
    kept = {(g.tenant_id, g.type): int(g.n) for g in heads if g.status is None}
    return tuple(kept.get((o, t), 0) for o in owners for t in types)
