"""The event outbox on SQLite and PostgreSQL: ids a tenant's reader never skips, the sweep."""

from __future__ import annotations

import random
import threading
import time
import uuid

import pytest
import sqlalchemy as sa
from tests.contract.test_repositories import new_tenant

from mediashelf.db.database import Database
from mediashelf.db.events import EventRepository
from mediashelf.db.schema import events as events_table
from mediashelf.domain import Asset, AssetStatus, AssetType, EventType, now_ms, uuid7

repo = EventRepository()


def an_asset(tenant: uuid.UUID) -> Asset:
    return Asset(id=uuid7(), tenant_id=tenant, name="café ☕", type=AssetType.IMAGE,
                 status=AssetStatus.READY, created_ms=now_ms(), updated_ms=now_ms(),
                 extra={"nested": {"a": [1, 2]}}, tags=["x", "y"], sha256="ab" * 32)


def all_ids(db: Database, tenant: uuid.UUID) -> list[int]:
    with db.read() as conn:
        return list(conn.execute(sa.select(events_table.c.id).where(
            events_table.c.tenant_id == tenant).order_by(events_table.c.id)).scalars())


def test_an_event_keeps_the_asset_as_it_was(database: Database) -> None:
    tenant = new_tenant(database)
    asset = an_asset(tenant)
    with database.write() as conn:
        first = repo.append(conn, EventType.READY, asset, 1234)
        second = repo.append(conn, EventType.DELETED, asset, 1235)
    assert second > first
    with database.read() as conn:
        got = repo.after(conn, tenant, 0, 10)
        only_deleted = repo.after(conn, tenant, 0, 10, [EventType.DELETED])
    assert [e.id for e in got] == [first, second]
    assert got[0].asset == asset and got[0].type is EventType.READY
    assert got[0].created_ms == 1234 and got[0].asset_id == asset.id
    assert [e.id for e in only_deleted] == [second]


def test_a_rolled_back_transaction_leaves_no_event(database: Database) -> None:
    tenant = new_tenant(database)
    with pytest.raises(RuntimeError), database.write() as conn:
        repo.append(conn, EventType.CREATED, an_asset(tenant), now_ms())
        raise RuntimeError("the change failed")
    assert all_ids(database, tenant) == []


def test_ids_are_never_reused_after_a_sweep(database: Database) -> None:
    tenant = new_tenant(database)
    with database.write() as conn:
        old = [repo.append(conn, EventType.CREATED, an_asset(tenant), 1000) for _ in range(3)]
    with database.write() as conn:
        assert repo.sweep(conn, 2000, 2) == 2
    with database.write() as conn:
        assert repo.sweep(conn, 2000, 2) == 1
        assert repo.sweep(conn, 2000, 2) == 0
        assert repo.swept_to(conn, tenant) == old[-1]
        assert repo.swept_to(conn, uuid7()) == 0  # a tenant the sweep never saw
        fresh = repo.append(conn, EventType.CREATED, an_asset(tenant), now_ms())
    assert fresh > old[-1]
    assert all_ids(database, tenant) == [fresh]


def test_concurrent_writers_never_make_a_reader_skip(database: Database) -> None:
    """Writers hold their transactions open a random while after taking an id; readers of
    each tenant (one tenant at a time, and all at once with after_many) follow along by
    `id > last seen` and must end with every id, in order, each once."""
    tenants = [new_tenant(database) for _ in range(2)]
    writers, per_writer = 6, 15
    done = threading.Event()
    seen: dict[uuid.UUID, list[int]] = {t: [] for t in tenants}
    seen_many: dict[uuid.UUID, list[int]] = {t: [] for t in tenants}
    errors: list[BaseException] = []

    def write(i: int) -> None:
        rnd = random.Random(i)
        tenant = tenants[i % 2]
        try:
            for _ in range(per_writer):
                with database.write() as conn:
                    repo.append(conn, EventType.CREATED, an_asset(tenant), now_ms())
                    time.sleep(rnd.random() * 0.01)  # commit later than the id was taken
        except BaseException as exc:
            errors.append(exc)

    def follow() -> None:
        try:
            while True:
                last = done.is_set()
                for t in tenants:
                    with database.read() as conn:
                        got = repo.after(conn, t, seen[t][-1] if seen[t] else 0, 1000)
                    seen[t].extend(e.id for e in got)
                cursors = {t: (s[-1] if s else 0) for t, s in seen_many.items()}
                with database.read() as conn:
                    for e in repo.after_many(conn, cursors, 1000):
                        seen_many[e.tenant_id].append(e.id)
                if last:
                    return
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    reader = threading.Thread(target=follow)
    reader.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    reader.join()
    assert not errors, errors
    for t in tenants:
        stored = all_ids(database, t)
        assert len(stored) == writers // 2 * per_writer
        assert seen[t] == stored
        assert seen_many[t] == stored


def test_a_later_id_waits_for_an_earlier_one_of_the_same_tenant(database: Database) -> None:
    """The gap made on purpose: a transaction takes an id and stays open while another one of
    the same tenant appends. The second must wait for the first (PostgreSQL: a row lock), so a
    reader never sees the later id before the earlier one."""
    if database.is_sqlite:
        pytest.skip("SQLite runs one write transaction at a time: no gap to make")
    tenant = new_tenant(database)
    first_conn = database.engine.connect()
    first_tx = first_conn.begin()
    first = repo.append(first_conn, EventType.CREATED, an_asset(tenant), now_ms())
    result: list[int] = []

    def second() -> None:
        with database.write() as conn:
            result.append(repo.append(conn, EventType.CREATED, an_asset(tenant), now_ms()))

    thread = threading.Thread(target=second)
    thread.start()
    try:
        _wait_for_a_lock_wait(database)
        with database.read() as conn:
            assert repo.after(conn, tenant, 0, 10) == []  # nothing visible yet: no skip
    finally:
        first_tx.commit()
        first_conn.close()
    thread.join(30)
    assert result and result[0] > first
    with database.read() as conn:
        assert [e.id for e in repo.after(conn, tenant, 0, 10)] == [first, result[0]]


def test_another_tenant_does_not_wait(database: Database) -> None:
    """The lock is per tenant: tenant B appends and commits while A's transaction is open."""
    a, b = new_tenant(database), new_tenant(database)
    if database.is_sqlite:
        pytest.skip("SQLite runs one write transaction at a time")
    conn_a = database.engine.connect()
    tx_a = conn_a.begin()
    try:
        repo.append(conn_a, EventType.CREATED, an_asset(a), now_ms())
        with database.write() as conn:
            repo.append(conn, EventType.CREATED, an_asset(b), now_ms())
        assert len(all_ids(database, b)) == 1
    finally:
        tx_a.rollback()
        conn_a.close()
    assert all_ids(database, a) == []


def _wait_for_a_lock_wait(database: Database) -> None:
    """Until some session of ours waits on a lock (pg_stat_activity), or fail after 30 s."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with database.read() as conn:
            waiting = conn.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")).scalar_one()
        if waiting:
            return
        time.sleep(0.02)
    raise AssertionError("the second writer never waited for the first")


def test_fan_out_counts_the_deliveries_it_made(database: Database) -> None:
    """The count decides whether the deliverer is woken: a wrong one (psycopg gives -1 for an
    INSERT's rowcount) woke it, with a claim, for every event of every tenant."""
    from mediashelf.db.deliveries import DeliveryRepository
    from mediashelf.db.webhooks import WebhookRepository, events_column
    from mediashelf.domain import WebhookEndpoint

    deliveries, endpoints = DeliveryRepository(), WebhookRepository()
    tenant, other = new_tenant(database), new_tenant(database)
    asset = an_asset(tenant)

    def endpoint(owner: uuid.UUID, events: list[str], enabled: bool = True) -> None:
        with database.write() as conn:
            endpoints.add(conn, WebhookEndpoint(
                uuid7(), owner, "https://example.com/hook", events, "", enabled, None,
                "whsec_x", None, None, None, 0, now_ms(), now_ms()))

    def fan_out(type_: EventType) -> int:
        with database.write() as conn:
            event_id = repo.append(conn, type_, asset, now_ms())
            return deliveries.fan_out(conn, event_id, tenant, asset.id, type_.value, now_ms())

    assert fan_out(EventType.READY) == 0  # no endpoint at all
    endpoint(tenant, ["*"], enabled=False)
    endpoint(tenant, [EventType.DELETED.value])
    endpoint(other, ["*"])
    assert events_column(["*"]) == ",*,"
    assert fan_out(EventType.READY) == 0  # disabled, not subscribed, another tenant's
    endpoint(tenant, ["*"])
    assert fan_out(EventType.READY) == 1
    assert fan_out(EventType.DELETED) == 2


def test_a_claim_brings_each_delivery_with_its_endpoint_and_event(database: Database) -> None:
    """One statement on PostgreSQL; on SQLite the lease, then the reads after its commit: the
    same answer."""
    from mediashelf.db.deliveries import DeliveryRepository
    from mediashelf.db.webhooks import WebhookRepository
    from mediashelf.domain import DeliveryState, WebhookEndpoint

    deliveries = DeliveryRepository()
    tenant = new_tenant(database)
    asset, other = an_asset(tenant), an_asset(tenant)
    hook = WebhookEndpoint(uuid7(), tenant, "https://example.com/ü", ["*"], "desc ☕", True,
                           None, "whsec_x", None, None, None, 0, now_ms(), now_ms())
    with database.write() as conn:
        WebhookRepository().add(conn, hook)
        made = []
        for kind, which in ((EventType.CREATED, asset), (EventType.READY, asset),
                            (EventType.CREATED, other)):
            made.append(repo.append(conn, kind, which, now_ms()))
            deliveries.fan_out(conn, made[-1], tenant, which.id, kind.value, now_ms())
        deliveries.add_message(conn, hook.id, tenant, "msg_test_1", "webhook.test", "{}",
                               now_ms())
    with database.write() as conn:
        got = deliveries.claim(conn, "me", now_ms() + 1, 30_000, 10, 10)
    with database.read() as conn:  # on SQLite after the claim's commit
        got = deliveries.read(conn, got)
    assert all(g.read for g in got)
    # the asset's second event waits for its first: never sent side by side
    assert [(g.one.event_id, g.one.payload) for g in got] == [
        (made[0], None), (made[2], None), (None, "{}")]
    assert all(g.endpoint == hook and g.one.state is DeliveryState.SENDING for g in got)
    assert [g.event.id if g.event else None for g in got] == [made[0], made[2], None]
    assert got[0].event is not None and got[0].event.asset == asset
    with database.read() as conn:
        left = deliveries.page(conn, hook.id, 10, 0)[0]
    assert sorted((x.event_id, x.state.value, x.lease_owner) for x in left
                  if x.event_id == made[1]) == [(made[1], "pending", None)]
    with database.write() as conn:  # the asset's next waits while its first is being sent
        assert deliveries.claim(conn, "me", now_ms() + 1, 30_000, 10, 10) == []
