"""The listing's statements for searches, tag filters and sort orders, in either dialect (and
the one-statement reads of the event loop: a page checked against versions, an asset by id).

sqlite.py and postgresql.py each describe their text search as a `Flavour`; the shapes are the
same. A filtered page is read one of two ways (db/listing.py picks by the match count):
driven by the text or tag index, then sorted (few matches), or walking the order's own index
per (owner, type, status) group and checking each row (many matches: a page is found after a
few dozen rows). Every order ends with the id in the same direction, so no two rows tie and
pages neither repeat nor skip; nullable keys (size, duration) put their NULLs last in the order
asked, and first when the page is read from the other end.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from mediashelf.db.schema import BUCKET_SHIFTS
from mediashelf.db.sql import TEXT_COLUMNS, Statement, column_list
from mediashelf.domain import Sort

# sort -> (key column or None for the id alone, descending when read forward)
ORDERS: dict[Sort, tuple[str | None, bool]] = {
    Sort.NEWEST: (None, True), Sort.OLDEST: (None, False),
    Sort.NAME: ("name_key", False), Sort.NAME_DESC: ("name_key", True),
    Sort.LARGEST: ("size_bytes", True), Sort.LONGEST: ("duration_ms", True),
}
_NULLABLE = {"size_bytes", "duration_ms"}


@dataclass(frozen=True)
class Flavour:
    """How a dialect searches: placeholders, the JSON cast, and its text conditions."""

    mark: str
    cast: str  # how the ids and the extra column are read as text ("" when they are text)
    text_from: str  # the FROM of a read driven by the text index (alias a for assets)
    text_cond: str  # its condition, one parameter: the whole search
    row_cond: str  # a check on one row; one parameter (per word when per_word)
    per_word: bool
    tag_from: str | None  # the FROM of a read driven by the tag table (None: let the planner)
    fence: str  # ends a subquery the planner must plan alone (driven reads: not in order)
    search: Callable[[Sequence[str]], str]  # the words as text_cond's parameter
    row_params: Callable[[Sequence[str]], list[str]]  # the words as row_cond's parameters
    id_at: str  # the smallest id of a millisecond given as `{}` (a UUIDv7's first 48 bits)
    count_text: tuple[str, str] | None = None  # FROM and condition counting a search, if not
    # text_from's (a count visits every match: the planner may hash rather than look up)

    def groups_page(self, groups: Sequence[tuple[Hashable, str, str, int]], sort: Sort,
                    forward: bool, shown: int, skip: int, words: Sequence[str] = (),
                    tags: Sequence[str] = ()) -> Statement:
        """Rows `skip` on of the sort from the chosen end, walking each group's order index and
        checking each row against the words and tags, as AssetRow in the sort's order."""
        checks = [*self.row_params(words), *tags]
        params = [v for owner, type_, status, most in groups
                  for v in (owner, type_, status, *checks, most)]
        return (groups_page(self, len(groups), sort, forward, len(words), len(tags)),
                (*params, shown, skip))

    def count_matching(self, owners: Sequence[Hashable], types: Sequence[str],
                       statuses: Sequence[str], words: Sequence[str],
                       tags: Sequence[str]) -> Statement:
        """How many live assets match a search (words as prefixes, every tag), as CountRow."""
        return (count_matching(self, len(owners), len(types), len(statuses), len(words),
                               len(tags)),
                tuple(self._driven_params(owners, types, statuses, words, tags)))

    def page_matching(self, owners: Sequence[Hashable], types: Sequence[str],
                      statuses: Sequence[str], words: Sequence[str], tags: Sequence[str],
                      sort: Sort, forward: bool, shown: int, skip: int) -> Statement:
        """A page of a search read through its index, in the sort's order read forward or
        from its end, as AssetRow."""
        return (page_matching(self, len(owners), len(types), len(statuses), len(words),
                              len(tags), sort, forward),
                (*self._driven_params(owners, types, statuses, words, tags), shown, skip))

    def page(self, groups: Sequence[tuple[Hashable, str, str, int]], desc: bool, shown: int,
             skip: int) -> Statement:
        """The `shown` rows after `skip` from the chosen end of the groups' index ranges (each
        read up to its own most) merged, newest first, as AssetRow."""
        params = [v for group in groups for v in group]
        return page(self, len(groups), desc), (*params, shown, skip)

    def located_page(self, groups: Sequence[tuple[Hashable, str, str, int]],
                     owners: Sequence[Hashable], types: Sequence[str], statuses: Sequence[str],
                     within: tuple[int, int], desc: bool, shown: int, skip: int) -> Statement:
        """page() past the finest bucket (level 0) within `within`, a parent bucket's range of
        them, that holds row `skip` from the chosen end, found by the statement itself from
        the bucket sums: a deep page in one statement. No rows if the sums run out first."""
        params = [v for group in groups for v in group]
        located = (len(owners), len(types), len(statuses))
        return (page(self, len(groups), desc, located),
                (skip, *owners, *types, *statuses, *within, skip, *params, shown))

    def checked(self, statement: Statement, pairs: Sequence[tuple[Hashable, str]],
                versions: Sequence[int]) -> Statement:
        """A page statement (rows as AssetRow, newest first) run only if the (owner, type)
        pairs' versions are these, in one snapshot; rows as CheckedRow, at least one."""
        params = [p for (owner, type_), version in zip(pairs, versions, strict=True)
                  for p in (owner, type_, version)]
        return checked(self, len(pairs), statement[0]), (*params, *statement[1])

    def visible(self, asset_id: Hashable, owners: Sequence[Hashable]) -> Statement:
        """The live asset with that id if one of owners has it, as AssetRow (no row: none)."""
        return visible(self, len(owners)), (asset_id, *owners)

    def _driven_params(self, owners: Sequence[Hashable], types: Sequence[str],
                       statuses: Sequence[str], words: Sequence[str],
                       tags: Sequence[str]) -> list[Hashable]:
        """In the order of _driven's text."""
        params: list[Hashable] = []
        rest = list(tags)
        if words:
            params.append(self.search(words))
        elif self.tag_from is not None:
            params += [rest.pop(0), *owners]
        return [*params, *owners, *types, *statuses, *rest]


def order_by(sort: Sort, forward: bool, prefix: str = "") -> str:
    """The ORDER BY list of a sort, read forward or from its other end."""
    column, desc = ORDERS[sort]
    desc = desc if forward else not desc
    way = "DESC" if desc else "ASC"
    keys = [f"{prefix}id {way}"]
    if column is not None:
        nulls = (" NULLS LAST" if desc else " NULLS FIRST") if column in _NULLABLE else ""
        keys.insert(0, f"{prefix}{column} {way}{nulls}")
    return ", ".join(keys)


def _marks(mark: str, n: int) -> str:
    return ", ".join([mark] * n)


def _has_tag(mark: str) -> str:
    return (f"EXISTS (SELECT 1 FROM asset_tags t WHERE t.tag = {mark} "
            "AND t.tenant_id = a.tenant_id AND t.asset_id = a.id)")


def row_checks(f: Flavour, words: int, tags: int) -> list[str]:
    """The conditions one row is checked against (parameters: the row search, then tags)."""
    text = [f.row_cond] * (words if f.per_word else min(words, 1))
    return [*text, *[_has_tag(f.mark)] * tags]


@functools.cache
def groups_page(f: Flavour, groups: int, sort: Sort, forward: bool, words: int = 0,
                tags: int = 0) -> str:
    """Rows `skip` to `skip + shown` of the sort (from the chosen end), merged from each
    (owner, type, status) group's own index range, each read up to its own most, its rows
    checked against the search; the page comes out in the sort's forward order."""
    column = ORDERS[sort][0]
    keys = f"id, {column}" if column else "id"
    inner = f"a.id, a.{column}" if column else "a.id"
    checks = "".join(f" AND {c}" for c in row_checks(f, words, tags))
    order = order_by(sort, forward)
    parts = [f"SELECT * FROM (SELECT {inner} FROM assets a WHERE a.tenant_id = {f.mark} AND "
             f"a.type = {f.mark} AND a.status = {f.mark} AND a.deleted_ms IS NULL{checks} "
             f"ORDER BY {order_by(sort, forward, 'a.')} LIMIT {f.mark}) AS g{i}"
             for i in range(groups)]
    return (f"SELECT {column_list('x.', _text(f))} FROM assets x "
            f"JOIN (SELECT {keys} FROM ({' UNION ALL '.join(parts)}) AS m ORDER BY {order} "
            f"LIMIT {f.mark} OFFSET {f.mark}) AS p ON x.id = p.id "
            f"ORDER BY {order_by(sort, True, 'x.')}")


@functools.cache
def page(f: Flavour, groups: int, desc: bool, located: tuple[int, int, int] | None = None
         ) -> str:
    """Rows `skip` to `skip + shown` from the chosen end of the groups' id ranges, each read
    up to its own most, merged; newest first. Located (given the counts of owners, types and
    statuses: see Flavour.located_page), each range starts past the finest bucket `k` holding
    row `skip`: the first, from that end, whose running sum passes `skip`. Its edge on that
    end is the groups' id bound, and the rows of the way still to skip are the OFFSET."""
    m, way = f.mark, "DESC" if desc else "ASC"
    head, seek, offset = "", "", m
    if located is not None:
        owners, types, statuses = located
        edge = f"(bucket + 1) << {BUCKET_SHIFTS[0]}" if desc else f"bucket << {BUCKET_SHIFTS[0]}"
        sums = (f"SELECT bucket, SUM(n) AS n FROM asset_buckets WHERE tenant_id IN "
                f"({_marks(m, owners)}) AND type IN ({_marks(m, types)}) AND status IN "
                f"({_marks(m, statuses)}) AND level = 0 AND bucket >= {m} AND bucket < {m} "
                "GROUP BY bucket")
        head = (f"WITH k AS MATERIALIZED (SELECT {f.id_at.format(edge)} AS bound, "
                f"CAST({m} - (upto - n) AS BIGINT) AS rest FROM (SELECT bucket, n, "
                f"SUM(n) OVER (ORDER BY bucket {way}) AS upto FROM ({sums}) AS s) AS c "
                f"WHERE upto > {m} ORDER BY bucket {way} LIMIT 1) ")
        seek = f" AND id {'<' if desc else '>='} (SELECT bound FROM k)"
        offset = "COALESCE((SELECT rest FROM k), 0)"  # SQLite refuses a NULL OFFSET
    parts = [f"SELECT id FROM (SELECT id FROM assets WHERE tenant_id = {m} AND type = {m} "
             f"AND status = {m} AND deleted_ms IS NULL{seek} ORDER BY id {way} "
             f"LIMIT {m}) AS g{i}" for i in range(groups)]
    return (f"{head}SELECT {column_list('a.', _text(f))} FROM assets a "
            f"JOIN (SELECT id FROM ({' UNION ALL '.join(parts)}) AS m ORDER BY id {way} "
            f"LIMIT {m} OFFSET {offset}) AS p ON a.id = p.id ORDER BY a.id DESC")


@functools.cache
def checked(f: Flavour, pairs: int, page: str) -> str:
    """See Flavour.checked: the versions compared, then the page joined when they are equal."""
    same = " AND ".join(
        f"(SELECT COALESCE(MAX(version), 0) FROM type_versions WHERE tenant_id = {f.mark} "
        f"AND type = {f.mark}) = {f.mark}" for _ in range(pairs))
    return (f"SELECT v.fresh, p.* FROM (SELECT {same or 'TRUE'} AS fresh) AS v "
            f"LEFT JOIN ({page}) AS p ON v.fresh ORDER BY p.id DESC")


@functools.cache
def visible(f: Flavour, owners: int) -> str:
    return (f"SELECT {column_list('', _text(f))} FROM assets WHERE id = {f.mark} "
            f"AND tenant_id IN ({_marks(f.mark, owners)}) AND deleted_ms IS NULL")


def _text(f: Flavour) -> dict[str, str] | None:
    """The listed columns read as text: ids as the wire spells them, JSON as stored."""
    return {c: f.cast for c in TEXT_COLUMNS} if f.cast else None


def _driven(f: Flavour, owners: int, types: int, statuses: int, words: int,
            tags: int, counting: bool = False) -> tuple[str, str]:
    """FROM and WHERE of a read driven by the text index, else by the first tag's rows.
    Parameters: [text search | first tag, owners], owners, types, statuses, then the tags."""
    m = f.mark
    where = [f"a.tenant_id IN ({_marks(m, owners)})", f"a.type IN ({_marks(m, types)})",
             f"a.status IN ({_marks(m, statuses)})", "a.deleted_ms IS NULL"]
    if words:
        source, cond = f.count_text if counting and f.count_text else (f.text_from, f.text_cond)
        return source, " AND ".join([cond, *where, *[_has_tag(m)] * tags])
    if f.tag_from is not None:
        first = f"t0.tag = {m} AND t0.tenant_id IN ({_marks(m, owners)})"
        return f.tag_from, " AND ".join([first, *where, *[_has_tag(m)] * (tags - 1)])
    return "assets a", " AND ".join([*where, *[_has_tag(m)] * tags])


@functools.cache
def count_matching(f: Flavour, owners: int, types: int, statuses: int, words: int,
                   tags: int) -> str:
    source, where = _driven(f, owners, types, statuses, words, tags, counting=True)
    return f"SELECT COUNT(*) AS n FROM {source} WHERE {where}"


@functools.cache
def page_matching(f: Flavour, owners: int, types: int, statuses: int, words: int, tags: int,
                  sort: Sort, forward: bool) -> str:
    """A page of a search driven by its index, in the sort's order read forward or from the
    other end."""
    source, where = _driven(f, owners, types, statuses, words, tags)
    column = ORDERS[sort][0]
    keys = f"id, {column}" if column else "id"
    inner = f"a.id, a.{column}" if column else "a.id"
    return (f"SELECT {column_list('x.', _text(f))} FROM assets x "
            f"JOIN (SELECT {keys} FROM (SELECT {inner} FROM {source} WHERE {where}{f.fence}) "
            f"AS m ORDER BY {order_by(sort, forward)} LIMIT {f.mark} OFFSET {f.mark}) AS p "
            f"ON x.id = p.id ORDER BY {order_by(sort, forward, 'x.')}")
