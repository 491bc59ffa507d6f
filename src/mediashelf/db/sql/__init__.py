"""The statements run on the driver itself (the listing, the key lookup), one module per dialect.

sqlite.py and postgresql.py name the same statements, each in its own SQL and placeholders,
with the parameters in the order its text takes them; both decode rows by the names of the
columns their statements select, which must be the fields of the row shapes below.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Hashable, Sequence
from typing import Any, NamedTuple, Protocol, TypeVar

from sqlalchemy.engine import Connection

from mediashelf.domain import ApiKey, Asset, AssetType, RowForm, Sort

Statement = tuple[str, tuple[Any, ...]]  # driver SQL and its parameters


class KeyRow(NamedTuple):
    """A live key, its tenant's name and the versions of its tenant's and the system library's
    types (in AssetType's order)."""

    id: Any
    tenant_id: Any
    tenant_name: str
    prefix: str
    created_ms: int
    revoked_ms: int | None
    last_used_ms: int | None
    own_audio: int | None
    own_image: int | None
    own_video: int | None
    system_audio: int | None
    system_image: int | None
    system_video: int | None
    key_hash: str


def version_columns(owner: str, label: str) -> str:
    """The selected columns of KeyRow's versions of one owner (an SQL expression), per type."""
    return ", ".join(
        f"(SELECT v.version FROM type_versions v WHERE v.tenant_id = {owner} "
        f"AND v.type = '{t.value}') AS {label}_{t.value.lower()}" for t in AssetType)


def key_versions(row: KeyRow) -> tuple[int, ...]:
    """ApiKey.versions from a KeyRow: the tenant's per type, then the system library's."""
    return tuple(int(v or 0) for v in (row.own_audio, row.own_image, row.own_video,
                                       row.system_audio, row.system_image, row.system_video))


class QuotaRow(NamedTuple):
    """A reservation's outcome: the units handed out now, the window's total, its end."""

    granted: int
    used: int
    expires_ms: int


class GroupRow(NamedTuple):
    """A non-empty (owner, type, status) group's count, or (status NULL) the version of an
    owner's type."""

    tenant_id: Hashable
    type: str | None
    status: str | None
    n: int


class CountRow(NamedTuple):
    n: int


class BucketRow(NamedTuple):
    bucket: int
    n: int


class AssetRow(NamedTuple):
    """A listed asset's stored row (Asset's fields, in the driver's own types, TEXT_COLUMNS as
    text): written to the wire as it is, and hashable, so a page's rows can be compared with
    those its kept wire bytes were made from."""

    id: Any
    tenant_id: Any
    name: str | None
    type: str
    status: str
    created_ms: int
    updated_ms: int
    mime_type: str | None
    size_bytes: int | None
    sha256: str | None
    width: int | None
    height: int | None
    duration_ms: int | None
    has_audio: Any
    failure_reason: str | None
    blurhash: str | None
    source_url: str | None
    original_name: str | None
    file_key: str | None
    thumb_key: str | None
    thumb_mime: str | None
    deleted_ms: int | None
    extra: str | None  # JSON text
    declared_type: Any
    tags: str  # JSON text


class CheckedRow(tuple[Any, ...]):
    """A row of Dialect.checked (ordered.Flavour.checked): whether the versions were as
    expected, then an AssetRow's columns (all NULL for the one row of an empty page)."""

    __slots__ = ()
    _fields = ("fresh", *AssetRow._fields)

    @classmethod
    def _make(cls, row: Sequence[Any]) -> CheckedRow:
        return cls(row)


assert AssetRow._fields == tuple(f.name for f in dataclasses.fields(Asset)), "Asset's fields"


class Dialect(Protocol):
    """What sqlite.py and postgresql.py each provide."""

    def bind_id(self, value: uuid.UUID) -> Hashable:
        """A UUID as this driver binds it and returns it."""
        ...

    def row_form(self) -> RowForm:
        """How this driver's listed rows (AssetRow) spell ids."""
        ...

    def live_keys(self, hashes: Sequence[str]) -> Statement: ...
    def visible(self, asset_id: Hashable, owners: Sequence[Hashable]) -> Statement: ...
    def checked(self, statement: Statement, pairs: Sequence[tuple[Hashable, str]],
                versions: Sequence[int]) -> Statement: ...

    def reserve_quota(self, bucket: str, want: int, limit: int, now_ms: int,
                      window_ms: int) -> Statement:
        """Up to `want` units of the bucket's window (a new window once the last has ended),
        never past `limit` in all: one statement, whatever other processes do meanwhile."""
        ...

    def key(self, row: KeyRow) -> ApiKey: ...
    def groups(self, owners: Sequence[Hashable], types: Sequence[str],
               statuses: Sequence[str]) -> Statement: ...
    def buckets(self, owners: Sequence[Hashable], types: Sequence[str], statuses: Sequence[str],
                level: int, within: tuple[int, int] | None, desc: bool) -> Statement: ...
    def page(self, groups: Sequence[tuple[Hashable, str, str, int]], desc: bool, shown: int,
             skip: int) -> Statement: ...
    def located_page(self, groups: Sequence[tuple[Hashable, str, str, int]],
                     owners: Sequence[Hashable], types: Sequence[str], statuses: Sequence[str],
                     within: tuple[int, int], desc: bool, shown: int, skip: int
                     ) -> Statement: ...
    def digest_page(self, owners: Sequence[Hashable], types: Sequence[str],
                    statuses: Sequence[str], digests: Sequence[str], limit: int,
                    offset: int) -> Statement: ...
    def digest_count(self, owners: Sequence[Hashable], types: Sequence[str],
                     statuses: Sequence[str], digests: Sequence[str]) -> Statement: ...
    def groups_page(self, groups: Sequence[tuple[Hashable, str, str, int]], sort: Sort,
                    forward: bool, shown: int, skip: int, words: Sequence[str] = (),
                    tags: Sequence[str] = ()) -> Statement: ...
    def count_matching(self, owners: Sequence[Hashable], types: Sequence[str],
                       statuses: Sequence[str], words: Sequence[str],
                       tags: Sequence[str]) -> Statement: ...
    def page_matching(self, owners: Sequence[Hashable], types: Sequence[str],
                      statuses: Sequence[str], words: Sequence[str], tags: Sequence[str],
                      sort: Sort, forward: bool, shown: int, skip: int) -> Statement: ...


def dialect(name: str) -> Dialect:
    """The statements for a SQLAlchemy dialect name ("sqlite" or "postgresql")."""
    if name == "sqlite":
        from mediashelf.db.sql import sqlite

        return sqlite
    from mediashelf.db.sql import postgresql

    return postgresql


R = TypeVar("R", bound=tuple[Any, ...])


_CHECKED: set[tuple[str, type]] = set()  # (statement, shape) pairs whose columns matched


def named(cursor: Any, statement: str, rows: Sequence[Sequence[Any]],
          shape: type[R]) -> list[R]:
    """A statement's rows as `shape` (a NamedTuple), once the statement's columns (the
    cursor's description) are found to be its fields: a text's columns never change."""
    if (statement, shape) not in _CHECKED:
        names = tuple(column[0] for column in cursor.description or ())
        if names != shape._fields:  # type: ignore[attr-defined]
            raise RuntimeError(f"the statement's columns {names} are not {shape.__name__}'s")
        _CHECKED.add((statement, shape))
    return [shape._make(row) for row in rows]  # type: ignore[attr-defined]


def fetch(conn: Connection, statement: Statement, shape: type[R]) -> list[R]:
    """The statement's rows as `shape`, read through the driver's own cursor in conn's
    transaction: SQLAlchemy's result machinery costs more than these small reads do."""
    return fetch_on(conn.connection.driver_connection, statement, shape)


def fetch_on(driver: Any, statement: Statement, shape: type[R]) -> list[R]:
    """The statement's rows as `shape`, on a driver's (DB-API) connection."""
    cursor = driver.cursor()
    try:
        cursor.execute(*statement)
        return named(cursor, statement[0], cursor.fetchall(), shape)
    finally:
        cursor.close()


# AssetRow's columns a dialect whose driver returns other types reads as text: a listed row
# then goes to the wire as it is (services/wire.py), and stays hashable
TEXT_COLUMNS = ("id", "tenant_id", "extra")


def column_list(prefix: str, cast: dict[str, str] | None = None) -> str:
    """AssetRow's columns, qualified by prefix, some wrapped in a cast (`{}` is the column)."""
    cast = cast or {}
    return ", ".join(f"{cast[f].format(prefix + f)} AS {f}" if f in cast else prefix + f
                     for f in AssetRow._fields)
