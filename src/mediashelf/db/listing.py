"""Listing: a page of live assets, its exact total and the listed types' versions, in one snapshot.

Searches and tag filters count their matches through the text and tag indexes and read their
page from the nearer end of the order; other orders merge the groups' own index ranges (one
index per order) and read the same way.

Totals come from the kept counts (asset_counts). A page near either end is read straight from
the groups' index ranges, merged; a page deeper than _DIRECT rows from both ends is found by
descending the bucket counts (asset_buckets) to the ~17-minute bucket where it starts, then
seeking there by id, so its cost does not grow with the page number. The statements are the
dialect's driver SQL (db/sql/), run on the driver's own cursor: SQLAlchemy's statement and
result machinery cost more than these small reads do (the transaction is still SQLAlchemy's).
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Sequence

from sqlalchemy.engine import Connection

from mediashelf.db.schema import BUCKET_SHIFTS
from mediashelf.db.sql import (
    AssetRow,
    BucketRow,
    CountRow,
    Dialect,
    GroupRow,
    dialect,
    fetch,
)
from mediashelf.domain import ListQuery, Page, Sort
from mediashelf.lru import BoundedLRU

_DIRECT = 1000  # pages within this many rows of either end are read without the buckets
_SUMS_ENTRIES, _SUMS_BYTES = 4096, 8 << 20
_TOTALS_ENTRIES = 4096
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

    def read(self, conn: Connection, owners: Sequence[uuid.UUID], query: ListQuery) -> Page:
        """The page `query` asks for of the owners' live assets (newest first), its total, the
        owners' versions, and each asset's stored row (hashable: equal rows, equal assets)."""
        sql = dialect(conn.dialect.name)
        if query.sha256:
            return self._with_digests(conn, sql, owners, query)
        ids = [sql.bind_id(o) for o in owners]
        types, statuses = [t.value for t in query.types], [s.value for s in query.statuses]
        heads = fetch(conn, sql.groups(ids, types, statuses), GroupRow)
        groups = [g for g in heads if g.status is not None]
        versions = _versions(heads, ids, types)
        if query.q is not None or query.tags:
            return self._search(conn, sql, (ids, types, statuses), query, versions, groups)
        total = sum(int(g.n) for g in groups)
        offset = query.offset
        if offset >= total:
            return Page(query, total, versions)
        shown = min(query.page_size, total - offset)  # page_size, or fewer on the last page
        # A page is read from the nearer end of its order, so the last page costs the first's.
        from_start = offset <= total - offset - shown
        skip = offset if from_start else total - offset - shown
        if query.sort not in (Sort.NEWEST, Sort.OLDEST):
            rows = fetch(conn, sql.groups_page(
                [(g.tenant_id, str(g.type), str(g.status), min(int(g.n), skip + shown))
                 for g in groups], query.sort, from_start, shown, skip), AssetRow)
            return Page(query, total, versions, rows, sql.row_form())
        newest_first = from_start == (query.sort is Sort.NEWEST)  # oldest first: the other end
        bound: uuid.UUID | None = None
        if skip > _DIRECT:
            found = self._locate(conn, sql, (ids, types, statuses), skip, newest_first,
                                 versions)
            if found is not None:
                bound, skip = found
        rows = fetch(conn, sql.page(
            [(g.tenant_id, str(g.type), str(g.status), min(int(g.n), skip + shown))
             for g in groups], bound, newest_first, shown, skip), AssetRow)
        if query.sort is Sort.OLDEST:
            rows.reverse()  # the page statement answers newest first
        return Page(query, total, versions, rows, sql.row_form())

    def _search(self, conn: Connection, sql: Dialect,
                keys: tuple[list[Hashable], list[str], list[str]], query: ListQuery,
                versions: tuple[int, ...], groups: list[GroupRow]) -> Page:
        """A page of a search or tag filter and its exact total, counted through the text and
        tag indexes. Few matches: the page is read through those indexes and sorted; many:
        by walking the order's own index and checking each row, from the nearer end."""
        if query.q == ():  # a search with no words in it matches nothing
            return Page(query, 0, versions)
        words, tags = query.q or (), sorted(query.tags)
        memo = (conn.dialect.name, versions, *keys[0], *keys[1], *keys[2], words, *tags)
        total = self._totals.get(memo)
        if total is None:
            total = int(fetch(conn, sql.count_matching(*keys, words, tags), CountRow)[0].n)
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
            rows = fetch(conn, sql.groups_page(
                [(g.tenant_id, str(g.type), str(g.status), min(int(g.n), skip + shown))
                 for g in groups], query.sort, from_start, shown, skip, words, tags), AssetRow)
        else:
            rows = fetch(conn, sql.page_matching(*keys, words, tags, query.sort, from_start,
                                                 shown, skip), AssetRow)
            if not from_start:
                rows.reverse()
        return Page(query, total, versions, rows, sql.row_form())

    def _with_digests(self, conn: Connection, sql: Dialect, owners: Sequence[uuid.UUID],
                      query: ListQuery) -> Page:
        """The ?sha256= listing: its own statement and exact count, over the digest index
        (a few rows per digest), instead of the counts and buckets the full listing walks."""
        if query.q is not None or query.tags or query.sort is not Sort.NEWEST:
            raise NotImplementedError("sha256 combines with type, status and scope only")
        ids = [sql.bind_id(o) for o in owners]
        types, statuses = [t.value for t in query.types], [s.value for s in query.statuses]
        versions = _versions(fetch(conn, sql.groups(ids, types, statuses), GroupRow), ids,
                             types)
        digests = list(query.sha256)
        total = int(fetch(conn, sql.digest_count(ids, types, statuses, digests), CountRow)[0].n)
        if query.offset >= total:
            return Page(query, total, versions)
        rows = fetch(conn, sql.digest_page(ids, types, statuses, digests, query.page_size,
                                           query.offset), AssetRow)
        return Page(query, total, versions, rows, sql.row_form())

    def _locate(self, conn: Connection, sql: Dialect,
                keys: tuple[list[Hashable], list[str], list[str]], skip: int,
                newest_first: bool, versions: tuple[int, ...]) -> tuple[uuid.UUID, int] | None:
        """The id bound of the finest bucket holding row `skip` (from the chosen end), and how
        many rows of the way remain to skip past that bound; None if the counts run out."""
        before, chosen = 0, -1
        for level in reversed(range(len(BUCKET_SHIFTS))):
            within = None
            if chosen >= 0:
                span = BUCKET_SHIFTS[level + 1] - BUCKET_SHIFTS[level]
                within = (chosen << span, (chosen + 1) << span)
            memo = (conn.dialect.name, versions, newest_first, *keys[0], *keys[1], *keys[2],
                    level, within)
            sums = self._sums.get(memo)
            if sums is None:
                sums = [(int(b.bucket), int(b.n)) for b in fetch(
                    conn, sql.buckets(*keys, level, within, newest_first), BucketRow)]
                self._sums.put(memo, sums)
            for bucket, n in sums:
                if before + n > skip:
                    chosen = bucket
                    break
                before += n
            else:
                return None
        ms = (chosen + 1 if newest_first else chosen) << BUCKET_SHIFTS[0]
        return uuid.UUID(int=ms << 80), skip - before


def _versions(heads: Sequence[GroupRow], owners: Sequence[Hashable],
              types: Sequence[str]) -> tuple[int, ...]:
    """The versions of the listed (owner, type) pairs, owner by owner, as ListQuery.versions
    picks them from a key's."""
    kept = {(g.tenant_id, g.type): int(g.n) for g in heads if g.status is None}
    return tuple(kept.get((o, t), 0) for o in owners for t in types)
