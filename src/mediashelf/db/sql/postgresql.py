"""The driver statements for PostgreSQL (psycopg, `%s` placeholders, native UUIDs).

Each statement's text depends only on its shape, never on its values, so psycopg prepares it
once per connection and the listing's pool keeps its generic plan (see open_database).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Hashable, Sequence

from mediashelf.db.sql import (
    TEXT_COLUMNS,
    KeyRow,
    Statement,
    column_list,
    key_versions,
    ordered,
    version_columns,
)
from mediashelf.domain import SYSTEM_TENANT_ID, ApiKey, AssetType, RowForm


def _search(words: Sequence[str]) -> str:
    return " & ".join(f"'{w}':*" for w in words)


def _row_params(words: Sequence[str]) -> list[str]:
    return [_search(words)] if words else []


# The search column (revision 0004) is a tsvector of the folded words, indexed with GIN; each
# word is a quoted lexeme matched as a prefix (letters and digits only, see mediashelf.words).
# A row alone is checked with `IS TRUE`, which no index answers: the walk stays in the order's
# index. A read driven by the text (or tag) index finds the ids through that index alone and
# looks each row up by id (fenced subqueries, OFFSET 0, and a LATERAL lookup): the planner,
# misjudging prefix matches, would otherwise walk the whole order or hash the owner's rows.
_BY_ID = "CROSS JOIN LATERAL (SELECT * FROM assets WHERE id = {} OFFSET 0) AS a"
FLAVOUR = ordered.Flavour(
    mark="%s", cast="{}::text",
    text_from="(SELECT id FROM assets WHERE search @@ %s::tsquery OFFSET 0) AS d "
              + _BY_ID.format("d.id"),
    text_cond="TRUE", row_cond="(a.search @@ %s::tsquery) IS TRUE", per_word=False,
    tag_from="asset_tags t0 " + _BY_ID.format("t0.asset_id"), fence=" OFFSET 0",
    search=_search, row_params=_row_params,
    id_at="CAST(lpad(to_hex({}), 12, '0') || '00000000000000000000' AS uuid)",
    count_text=("assets a", "a.search @@ %s::tsquery"))


def bind_id(value: uuid.UUID) -> Hashable:
    """psycopg binds and returns uuid columns as UUIDs."""
    return value


_TEXT = {c: "{}::text" for c in TEXT_COLUMNS}  # a listed row's ids and JSON, as text


def row_form() -> RowForm:
    """Listed rows hold their ids as text, spelled as the wire spells them."""
    return _FORM


_FORM = RowForm(str, str(SYSTEM_TENANT_ID))


def _marks(n: int) -> str:
    return ", ".join(["%s"] * n)


# Any number of keys, one text: the key batcher sends the hashes of concurrent requests at once.
_LIVE_KEYS = (
    "SELECT k.id, k.tenant_id, t.name AS tenant_name, k.prefix, k.created_ms, k.revoked_ms, "
    "k.last_used_ms, "
    f"{version_columns('k.tenant_id', 'own')}, {version_columns('%s', 'system')}, "
    "k.key_hash FROM api_keys k JOIN tenants t ON t.id = k.tenant_id "
    "WHERE k.key_hash = ANY(%s) AND k.revoked_ms IS NULL")


def live_keys(hashes: Sequence[str]) -> Statement:
    """The live keys with these hashes, as KeyRow."""
    return _LIVE_KEYS, (*[SYSTEM_TENANT_ID] * len(AssetType), list(hashes))


def key(row: KeyRow) -> ApiKey:
    found = ApiKey(id=row.id, tenant_id=row.tenant_id, tenant_name=row.tenant_name,
                   prefix=row.prefix, created_ms=row.created_ms, revoked_ms=row.revoked_ms,
                   last_used_ms=row.last_used_ms)
    found.versions = key_versions(row)
    return found


def _filters(owners: int, types: int, statuses: int) -> str:
    return (f"tenant_id IN ({_marks(owners)}) AND type IN ({_marks(types)}) "
            f"AND status IN ({_marks(statuses)})")


@functools.cache
def _groups(owners: int, types: int, statuses: int) -> str:
    return ("SELECT tenant_id, type, status, n FROM asset_counts WHERE "
            f"{_filters(owners, types, statuses)} AND n > 0 UNION ALL "
            "SELECT tenant_id, type, NULL, version FROM type_versions "
            f"WHERE tenant_id IN ({_marks(owners)}) AND type IN ({_marks(types)})")


def groups(owners: Sequence[Hashable], types: Sequence[str],
           statuses: Sequence[str]) -> Statement:
    """The non-empty groups' counts, then (status NULL) the versions of the owners' types,
    as GroupRow."""
    return (_groups(len(owners), len(types), len(statuses)),
            (*owners, *types, *statuses, *owners, *types))


@functools.cache
def _buckets(owners: int, types: int, statuses: int, within: bool, desc: bool) -> str:
    return (f"SELECT bucket, SUM(n) AS n FROM asset_buckets WHERE "
            f"{_filters(owners, types, statuses)} AND level = %s"
            f"{' AND bucket >= %s AND bucket < %s' if within else ''} GROUP BY bucket "
            f"ORDER BY bucket {'DESC' if desc else 'ASC'}")


def buckets(owners: Sequence[Hashable], types: Sequence[str], statuses: Sequence[str],
            level: int, within: tuple[int, int] | None, desc: bool) -> Statement:
    """The matching rows per bucket of one level (within a parent's range), as BucketRow."""
    return (_buckets(len(owners), len(types), len(statuses), within is not None, desc),
            (*owners, *types, *statuses, level, *(within or ())))


_COLUMNS = column_list("", _TEXT)


@functools.cache
def _digest_filter(owners: int, types: int, statuses: int, digests: int) -> str:
    return (f"{_filters(owners, types, statuses)} AND sha256 IN ({_marks(digests)}) "
            "AND deleted_ms IS NULL")


def digest_page(owners: Sequence[Hashable], types: Sequence[str], statuses: Sequence[str],
                digests: Sequence[str], limit: int, offset: int) -> Statement:
    """The live assets with one of these SHA-256 digests, newest first, as AssetRow (the
    ?sha256= listing: a handful of rows, found through ix_assets_sha256)."""
    where = _digest_filter(len(owners), len(types), len(statuses), len(digests))
    return (f"SELECT {_COLUMNS} FROM assets WHERE {where} ORDER BY assets.id DESC "
            "LIMIT %s OFFSET %s",
            (*owners, *types, *statuses, *digests, limit, offset))


def digest_count(owners: Sequence[Hashable], types: Sequence[str], statuses: Sequence[str],
                 digests: Sequence[str]) -> Statement:
    """How many rows digest_page has in all, as CountRow."""
    where = _digest_filter(len(owners), len(types), len(statuses), len(digests))
    return f"SELECT COUNT(*) AS n FROM assets WHERE {where}", \
        (*owners, *types, *statuses, *digests)


# the statements shared with the other dialect (ordered.py)
groups_page = FLAVOUR.groups_page
count_matching = FLAVOUR.count_matching
page_matching = FLAVOUR.page_matching
page = FLAVOUR.page  # a page near either end
located_page = FLAVOUR.located_page  # a deep page that finds its finest bucket itself
checked = FLAVOUR.checked  # a page read only at known versions (Listing.guess)
visible = FLAVOUR.visible  # an asset by id (db/assets.visible_read)


# Every SET expression reads the row as it was, so `granted` is exactly what `used` grows by.
_RESERVE = """
INSERT INTO rate_limits (bucket, used, granted, expires_ms)
VALUES ({p}, {lo}({p}, {p}), {lo}({p}, {p}), {p} + {p})
ON CONFLICT (bucket) DO UPDATE SET
  granted = CASE WHEN rate_limits.expires_ms <= {p} THEN {lo}({p}, {p})
            ELSE {lo}({p}, {hi}({p} - rate_limits.used, 0)) END,
  used = CASE WHEN rate_limits.expires_ms <= {p} THEN {lo}({p}, {p})
         ELSE rate_limits.used + {lo}({p}, {hi}({p} - rate_limits.used, 0)) END,
  expires_ms = CASE WHEN rate_limits.expires_ms <= {p} THEN {p} + {p}
               ELSE rate_limits.expires_ms END
RETURNING granted, used, expires_ms""".format(p="%s", lo="LEAST", hi="GREATEST")


def reserve_quota(bucket: str, want: int, limit: int, now_ms: int, window_ms: int) -> Statement:
    """See Dialect.reserve_quota; rows as QuotaRow."""
    return _RESERVE, (bucket, want, limit, want, limit, now_ms, window_ms,
                      now_ms, want, limit, want, limit,
                      now_ms, want, limit, want, limit,
                      now_ms, now_ms, window_ms)

