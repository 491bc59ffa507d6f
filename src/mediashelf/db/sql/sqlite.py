"""The driver statements for SQLite (sqlite3, `?` placeholders; UUIDs kept as 32 hex digits)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Hashable, Sequence

from mediashelf.db.sql import (
    KeyRow,
    Statement,
    column_list,
    key_versions,
    ordered,
    version_columns,
)
from mediashelf.domain import SYSTEM_TENANT_ID, ApiKey, AssetType, RowForm


def _search(words: Sequence[str]) -> str:
    return " ".join(f'"{w}"*' for w in words)


def _row_params(words: Sequence[str]) -> list[str]:
    return [f"% {w}%" for w in words]  # words hold letters and digits only: no LIKE wildcards


# The FTS5 table (revision 0004) indexes assets.rowid; its `ascii` tokenizer splits the folded
# words exactly as mediashelf.words made them (on spaces), and keeps 1 to 3 letter prefixes.
# A word is a quoted string (no FTS5 syntax reaches it) matched as a prefix; all must match. A
# row alone is checked with LIKE on the same words: the same answer, without the index.
FLAVOUR = ordered.Flavour(
    mark="?", cast="",
    text_from="asset_fts CROSS JOIN assets a ON a.rowid = asset_fts.rowid",
    text_cond="asset_fts MATCH ?", row_cond="(' ' || a.search_text) LIKE ?", per_word=True,
    tag_from="asset_tags t0 CROSS JOIN assets a ON a.id = t0.asset_id", fence="",
    search=_search, row_params=_row_params,
    id_at="printf('%012x', {}) || '00000000000000000000'")


def bind_id(value: uuid.UUID) -> Hashable:
    """As sa.Uuid stores it on SQLite: 32 hex digits."""
    return value.hex


def _id_text(value: str) -> str:
    """A stored id as str(UUID) spells it (sa.Uuid stores the lowercase hex digits)."""
    return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"


def row_form() -> RowForm:
    """Listed rows hold their ids as sa.Uuid stores them: 32 hex digits."""
    return _FORM


_FORM = RowForm(_id_text, SYSTEM_TENANT_ID.hex)


def _id(value: str) -> uuid.UUID:
    return uuid.UUID(int=int(value, 16))


def _marks(n: int) -> str:
    return ", ".join("?" * n)


@functools.cache
def _live_keys(n: int) -> str:
    return ("SELECT k.id, k.tenant_id, t.name AS tenant_name, k.prefix, k.created_ms, "
            "k.revoked_ms, k.last_used_ms, "
            f"{version_columns('k.tenant_id', 'own')}, {version_columns('?', 'system')}, "
            "k.key_hash FROM api_keys k JOIN tenants t ON t.id = k.tenant_id "
            f"WHERE k.key_hash IN ({_marks(n)}) AND k.revoked_ms IS NULL")


_SYSTEM = SYSTEM_TENANT_ID.hex


def live_keys(hashes: Sequence[str]) -> Statement:
    """The live keys with these hashes, as KeyRow."""
    return _live_keys(len(hashes)), (*[_SYSTEM] * len(AssetType), *hashes)


def key(row: KeyRow) -> ApiKey:
    found = ApiKey(id=_id(row.id), tenant_id=_id(row.tenant_id), tenant_name=row.tenant_name,
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
            f"{_filters(owners, types, statuses)} AND level = ?"
            f"{' AND bucket >= ? AND bucket < ?' if within else ''} GROUP BY bucket "
            f"ORDER BY bucket {'DESC' if desc else 'ASC'}")


def buckets(owners: Sequence[Hashable], types: Sequence[str], statuses: Sequence[str],
            level: int, within: tuple[int, int] | None, desc: bool) -> Statement:
    """The matching rows per bucket of one level (within a parent's range), as BucketRow."""
    return (_buckets(len(owners), len(types), len(statuses), within is not None, desc),
            (*owners, *types, *statuses, level, *(within or ())))


@functools.cache
def _digest_filter(owners: int, types: int, statuses: int, digests: int) -> str:
    return (f"{_filters(owners, types, statuses)} AND sha256 IN ({_marks(digests)}) "
            "AND deleted_ms IS NULL")


def digest_page(owners: Sequence[Hashable], types: Sequence[str], statuses: Sequence[str],
                digests: Sequence[str], limit: int, offset: int) -> Statement:
    """The live assets with one of these SHA-256 digests, newest first, as AssetRow (the
    ?sha256= listing: a handful of rows, found through ix_assets_sha256)."""
    where = _digest_filter(len(owners), len(types), len(statuses), len(digests))
    return (f"SELECT {column_list('')} FROM assets WHERE {where} ORDER BY id DESC "
            "LIMIT ? OFFSET ?", (*owners, *types, *statuses, *digests, limit, offset))


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
RETURNING granted, used, expires_ms""".format(p="?", lo="MIN", hi="MAX")


def reserve_quota(bucket: str, want: int, limit: int, now_ms: int, window_ms: int) -> Statement:
    """See Dialect.reserve_quota; rows as QuotaRow."""
    return _RESERVE, (bucket, want, limit, want, limit, now_ms, window_ms,
                      now_ms, want, limit, want, limit,
                      now_ms, want, limit, want, limit,
                      now_ms, now_ms, window_ms)

