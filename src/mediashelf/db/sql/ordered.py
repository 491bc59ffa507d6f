"""The listing's statements for searches, tag filters and sort orders, in either dialect.

sqlite.py and postgresql.py name them with their own placeholder and text-search condition;
the shapes are the same. Every order ends with the id in the same direction, so no two rows
tie and pages neither repeat nor skip; nullable keys (size, duration) put their NULLs last in
the order asked, and first when the page is read from the other end.
"""

from __future__ import annotations

import functools

from mediashelf.db.sql import column_list
from mediashelf.domain import Sort

# sort -> (key column or None for the id alone, descending when read forward)
ORDERS: dict[Sort, tuple[str | None, bool]] = {
    Sort.NEWEST: (None, True), Sort.OLDEST: (None, False),
    Sort.NAME: ("name_key", False), Sort.NAME_DESC: ("name_key", True),
    Sort.LARGEST: ("size_bytes", True), Sort.LONGEST: ("duration_ms", True),
}
_NULLABLE = {"size_bytes", "duration_ms"}


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


@functools.cache
def groups_page(mark: str, groups: int, sort: Sort, forward: bool, cast: str) -> str:
    """Rows `skip` to `skip + shown` of the sort (from the chosen end), merged from each
    (owner, type, status) group's own index range, each read up to its own most; the page
    comes out in the sort's forward order."""
    column = ORDERS[sort][0]
    keys = f"id, {column}" if column else "id"
    order = order_by(sort, forward)
    parts = [f"SELECT * FROM (SELECT {keys} FROM assets WHERE tenant_id = {mark} AND type = "
             f"{mark} AND status = {mark} AND deleted_ms IS NULL ORDER BY {order} "
             f"LIMIT {mark}) AS g{i}" for i in range(groups)]
    return (f"SELECT {column_list('a.', {'extra': cast} if cast else None)} FROM assets a "
            f"JOIN (SELECT {keys} FROM ({' UNION ALL '.join(parts)}) AS m ORDER BY {order} "
            f"LIMIT {mark} OFFSET {mark}) AS p ON a.id = p.id "
            f"ORDER BY {order_by(sort, True, 'a.')}")


def where(mark: str, owners: int, types: int, statuses: int, text: str | None,
          tags: int) -> str:
    """The conditions of a search: live, the owners', of the types and statuses, matching the
    text condition (if any) and carrying every tag."""
    conds = [f"a.tenant_id IN ({_marks(mark, owners)})", f"a.type IN ({_marks(mark, types)})",
             f"a.status IN ({_marks(mark, statuses)})", "a.deleted_ms IS NULL"]
    if text:
        conds.append(text)
    conds += [f"a.id IN (SELECT t.asset_id FROM asset_tags t WHERE t.tag = {mark} "
              f"AND t.tenant_id IN ({_marks(mark, owners)}))"] * tags
    return " AND ".join(conds)


@functools.cache
def count_matching(mark: str, owners: int, types: int, statuses: int, text: str | None,
                   tags: int) -> str:
    return (f"SELECT COUNT(*) AS n FROM assets a "
            f"WHERE {where(mark, owners, types, statuses, text, tags)}")


@functools.cache
def page_matching(mark: str, owners: int, types: int, statuses: int, text: str | None,
                  tags: int, sort: Sort, forward: bool, cast: str) -> str:
    """A page of a search, in the sort's order read forward or from the other end."""
    return (f"SELECT {column_list('a.', {'extra': cast} if cast else None)} FROM assets a "
            f"WHERE {where(mark, owners, types, statuses, text, tags)} "
            f"ORDER BY {order_by(sort, forward, 'a.')} LIMIT {mark} OFFSET {mark}")
