"""Revision 0003 on SQLite and PostgreSQL: the declared-type flag leaves `extra` for a column."""

from __future__ import annotations

import json
import uuid
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediashelf.db import migrate
from mediashelf.db.assets import AssetRepository
from mediashelf.db.database import Database
from mediashelf.db.listing import Listing
from mediashelf.domain import AssetStatus, AssetType, ListQuery, now_ms, uuid7

# The tables as revision 0002 left them (only the columns a row needs).
OLD_TENANTS = sa.table("tenants", sa.column("id", sa.Uuid), sa.column("name", sa.String),
                       sa.column("created_ms", sa.BigInteger))
OLD_ASSETS = sa.table("assets", sa.column("id", sa.Uuid), sa.column("tenant_id", sa.Uuid),
                      sa.column("type", sa.String), sa.column("status", sa.String),
                      sa.column("created_ms", sa.BigInteger),
                      sa.column("updated_ms", sa.BigInteger), sa.column("extra", sa.JSON))
OLD_COUNTS = sa.table("asset_counts", sa.column("tenant_id", sa.Uuid), sa.column("type", sa.String),
                      sa.column("status", sa.String), sa.column("n", sa.BigInteger))

_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                max_size=12)
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=6)
_FLAGS = st.sampled_from([True, False, None])  # None: no flag at all


@st.composite
def old_extras(draw: st.DrawFn) -> tuple[dict[str, Any], bool | None]:
    """An `extra` as revisions before 0003 wrote it: metadata, the flag somewhere among it."""
    pairs = list(draw(st.dictionaries(_TEXT.filter(lambda k: k != "declaredType"), _VALUES,
                                      max_size=6)).items())
    flag = draw(_FLAGS)
    if flag is not None:
        pairs.insert(draw(st.integers(0, len(pairs))), ("declaredType", flag))
    return dict(pairs), flag


def _start_at_0002(db: Database) -> uuid.UUID:
    migrate.downgrade(db, "0002")
    tenant = uuid7()
    with db.write() as conn:
        conn.execute(sa.text("DELETE FROM assets"))
        conn.execute(sa.text("DELETE FROM asset_counts"))
        conn.execute(OLD_TENANTS.insert().values(id=tenant, name=f"t-{uuid.uuid4().hex}",
                                                 created_ms=now_ms()))
    return tenant


def _raw_extras(db: Database) -> dict[uuid.UUID, Any]:
    with db.read() as conn:
        rows = conn.execute(sa.text("SELECT id, extra FROM assets")).all()
    return {(r[0] if isinstance(r[0], uuid.UUID) else uuid.UUID(r[0])):
            (json.loads(r[1]) if isinstance(r[1], str) else r[1]) for r in rows}


# The database is one per test, not per example: each example starts by taking it back to 0002.
@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(old_extras(), min_size=1, max_size=12))
def test_the_flag_becomes_a_column_and_back(database: Database,
                                            rows: list[tuple[dict[str, Any], bool | None]]
                                            ) -> None:
    tenant = _start_at_0002(database)
    ids = [uuid7() for _ in rows]
    with database.write() as conn:
        for asset_id, (extra, _) in zip(ids, rows, strict=True):
            conn.execute(OLD_ASSETS.insert().values(
                id=asset_id, tenant_id=tenant, type="IMAGE", status="READY",
                created_ms=now_ms(), updated_ms=now_ms(), extra=extra))
        conn.execute(OLD_COUNTS.insert().values(tenant_id=tenant, type="IMAGE", status="READY",
                                                n=len(rows)))  # what the listing reads first

    migrate.upgrade(database)
    repo = AssetRepository()
    with database.read() as conn:
        one_by_one = {i: repo.get(conn, i) for i in ids}
        # the listing decodes its rows by named columns: the new column must be among them
        query = ListQuery(types=(AssetType.IMAGE,), statuses=(AssetStatus.READY,), page_size=100)
        listed = Listing().read(conn, [tenant], query).items
    by_listing = {a.id: a for a in listed}
    for asset_id, (extra, flag) in zip(ids, rows, strict=True):
        rest = [(k, v) for k, v in extra.items() if k != "declaredType"]
        for asset in (one_by_one[asset_id], by_listing[asset_id]):
            assert asset is not None
            assert asset.declared_type is (flag is not False)  # no flag was read as declared
            assert list(asset.extra.items()) == rest  # the metadata, in its order

    migrate.downgrade(database, "0002")
    back = _raw_extras(database)
    for asset_id, (extra, flag) in zip(ids, rows, strict=True):
        rest = {k: v for k, v in extra.items() if k != "declaredType"}
        assert back[asset_id] == {**rest, "declaredType": flag is not False}
    migrate.upgrade(database)


def test_new_assets_carry_the_column(database: Database) -> None:
    assert migrate.current(database) is not None and migrate.current(database) >= "0003"
    with database.read() as conn:
        columns = {c["name"]: c for c in sa.inspect(conn).get_columns("assets")}
    assert columns["declared_type"]["nullable"] is False
