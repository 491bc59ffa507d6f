"""The listing's statements for searches, tag filters and sort orders, in either dialect.

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
from dataclasses import dataclass

from mediashelf.db.sql import column_list
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
    cast: str  # how the extra column is read as text ("" when it is text)
    text_from: str  # the FROM of a read driven by the text index (alias a for assets)
    text_cond: str  # its condition, one parameter: the whole search
    row_cond: str  # a check on one row; one parameter (per word when per_word)
    per_word: bool
    tag_from: str | None  # the FROM of a read driven by the tag table (None: let the planner)


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
    return (f"SELECT {column_list('x.', {'extra': f.cast} if f.cast else None)} FROM assets x "
            f"JOIN (SELECT {keys} FROM ({' UNION ALL '.join(parts)}) AS m ORDER BY {order} "
            f"LIMIT {f.mark} OFFSET {f.mark}) AS p ON x.id = p.id "
            f"ORDER BY {order_by(sort, True, 'x.')}")


def _driven(f: Flavour, owners: int, types: int, statuses: int, words: int,
            tags: int) -> tuple[str, str]:
    """FROM and WHERE of a read driven by the text index, else by the first tag's rows.
    Parameters: [text search | first tag, owners], owners, types, statuses, then the tags."""
    m = f.mark
    where = [f"a.tenant_id IN ({_marks(m, owners)})", f"a.type IN ({_marks(m, types)})",
             f"a.status IN ({_marks(m, statuses)})", "a.deleted_ms IS NULL"]
    if words:
        return f.text_from, " AND ".join([f.text_cond, *where, *[_has_tag(m)] * tags])
    if f.tag_from is not None:
        first = f"t0.tag = {m} AND t0.tenant_id IN ({_marks(m, owners)})"
        return f.tag_from, " AND ".join([first, *where, *[_has_tag(m)] * (tags - 1)])
    return "assets a", " AND ".join([*where, *[_has_tag(m)] * tags])


@functools.cache
def count_matching(f: Flavour, owners: int, types: int, statuses: int, words: int,
                   tags: int) -> str:
    source, where = _driven(f, owners, types, statuses, words, tags)
    return f"SELECT COUNT(*) AS n FROM {source} WHERE {where}"


@functools.cache
def page_matching(f: Flavour, owners: int, types: int, statuses: int, words: int, tags: int,
                  sort: Sort, forward: bool) -> str:
    """A page of a search driven by its index, in the sort's order read forward or from the
    other end."""
    source, where = _driven(f, owners, types, statuses, words, tags)
    return (f"SELECT {column_list('a.', {'extra': f.cast} if f.cast else None)} FROM {source} "
            f"WHERE {where} ORDER BY {order_by(sort, forward, 'a.')} "
            f"LIMIT {f.mark} OFFSET {f.mark}")
