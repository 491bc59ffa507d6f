"""Revision 0003 on SQLite and PostgreSQL: the declared-type flag leaves `extra` for a column."""

from __future__ import annotations

import json
import uuid
from importlib.resources import files
from typing import Any

import orjson
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediashelf.db import migrate
from mediashelf.db.assets import AssetRepository
from mediashelf.db.database import Database
from mediashelf.db.listing import Listing
from mediashelf.domain import AssetStatus, AssetType, ListQuery, Page, now_ms, uuid7

# The tables as revision 0002 left them (only the columns a row needs).
OLD_TENANTS = sa.table("tenants", sa.column("id", sa.Uuid), sa.column("name", sa.String),
                       sa.column("created_ms", sa.BigInteger))
OLD_ASSETS = sa.table("assets", sa.column("id", sa.Uuid), sa.column("tenant_id", sa.Uuid),
                      sa.column("name", sa.String),
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
        by_listing = _listed(Listing().read(conn, [tenant], query))
    for asset_id, (extra, flag) in zip(ids, rows, strict=True):
        rest = [(k, v) for k, v in extra.items() if k != "declaredType"]
        asset, row = one_by_one[asset_id], by_listing[asset_id]
        assert asset is not None
        assert asset.declared_type is (flag is not False)  # no flag was read as declared
        assert bool(row.declared_type) is (flag is not False)
        assert list(asset.extra.items()) == rest  # the metadata, in its order
        assert list(orjson.loads(row.extra or "{}").items()) == rest

    migrate.downgrade(database, "0002")
    back = _raw_extras(database)
    for asset_id, (extra, flag) in zip(ids, rows, strict=True):
        rest = {k: v for k, v in extra.items() if k != "declaredType"}
        assert back[asset_id] == {**rest, "declaredType": flag is not False}
    migrate.upgrade(database)


def _listed(page: Page) -> dict[uuid.UUID, Any]:
    """A listing's stored rows by id, in its order."""
    assert page.form is not None or not page.rows
    return {uuid.UUID(page.form.id_text(r.id)): r for r in page.rows} if page.form else {}


def _head() -> str | None:
    cfg = Config()
    cfg.set_main_option("script_location", str(files("mediashelf.db") / "migrations"))
    return ScriptDirectory.from_config(cfg).get_current_head()


def test_new_assets_carry_the_column(database: Database) -> None:
    assert migrate.current(database) == _head()  # the newest revision, whichever it is
    with database.read() as conn:
        columns = {c["name"]: c for c in sa.inspect(conn).get_columns("assets")}
    assert columns["declared_type"]["nullable"] is False


def test_revision_0004_makes_existing_assets_searchable_and_tags_the_music(
        database: Database) -> None:
    tenant = _start_at_0002(database)
    migrate.upgrade(database, "0003")
    system = uuid.UUID("00000000-0000-7000-8000-000000000000")
    rows = [(tenant, "Café Terrace.jpg", {}), (tenant, None, {}),
            (system, "Warm Piano", {"builtin": "music", "mood": "emotional"}),
            (system, "Warm Piano", {})]  # the same name, not the built-in track: no tags
    ids = [uuid7() for _ in rows]
    with database.write() as conn:
        if not conn.execute(sa.text("SELECT 1 FROM tenants WHERE name = 'system'")).first():
            conn.execute(OLD_TENANTS.insert().values(id=system, name="system",
                                                     created_ms=now_ms()))
        for asset_id, (owner, name, extra) in zip(ids, rows, strict=True):
            conn.execute(OLD_ASSETS.insert().values(
                id=asset_id, tenant_id=owner, name=name, type="IMAGE", status="READY",
                created_ms=now_ms(), updated_ms=now_ms(), extra=extra))
        for owner in (tenant, system):  # what the listing reads first
            conn.execute(OLD_COUNTS.insert().values(tenant_id=owner, type="IMAGE",
                                                    status="READY", n=2))
    migrate.upgrade(database)
    repo = AssetRepository()
    with database.read() as conn:
        assert repo.get(conn, ids[2]).tags == ["emotional", "gentle", "piano", "solo piano"]
        assert repo.get(conn, ids[3]).tags == [] and repo.get(conn, ids[0]).tags == []
        found = Listing().read(conn, [tenant, system], ListQuery(q=("cafe", "ter")))
        assert list(_listed(found)) == [ids[0]] and found.total == 1
        tagged = Listing().read(conn, [tenant, system], ListQuery(tags=frozenset({"piano"})))
        assert list(_listed(tagged)) == [ids[2]]
