"""One contract for the repositories on SQLite and PostgreSQL: exact counts and the job queue."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from mediashelf.db.assets import AssetRepository
from mediashelf.db.database import Database
from mediashelf.db.jobs import JobRepository
from mediashelf.db.keys import KeyRepository
from mediashelf.domain import Asset, AssetStatus, AssetType, Job, JobKind, Tenant, now_ms, uuid7

assets, jobs = AssetRepository(), JobRepository()
LEASE = 10_000


def new_tenant(db: Database) -> uuid.UUID:
    tenant = Tenant(uuid7(), f"t-{uuid.uuid4().hex[:8]}", now_ms())
    with db.write() as conn:
        KeyRepository().insert_tenant(conn, tenant)
    return tenant.id


def new_asset(db: Database, tenant: uuid.UUID, type_: AssetType = AssetType.IMAGE,
              job: bool = False) -> Asset:
    asset_id = uuid7()
    asset = Asset(id=asset_id, tenant_id=tenant, name="a", type=type_,
                  status=AssetStatus.PROCESSING, created_ms=now_ms(), updated_ms=now_ms(),
                  file_key=f"assets/{asset_id}/original", declared_type=True)
    with db.write() as conn:
        assets.insert(conn, asset)
        if job:
            jobs.enqueue(conn, asset.id, JobKind.PROCESS, now_ms())
    return asset


def assert_counts_exact(db: Database) -> None:
    with db.read() as conn:
        assert assets.kept_counts(conn) == assets.recount(conn)


def count(db: Database, tenant: uuid.UUID, *statuses: AssetStatus) -> int:
    with db.read() as conn:
        return assets.count(conn, [tenant], list(AssetType), list(statuses))


def in_threads(n: int, fn: Callable[[int], object]) -> list[object]:
    """Run fn(i) for i in range(n) on n threads released together."""
    gate = threading.Barrier(n)

    def run(i: int) -> object:
        gate.wait()
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


# --- assets and their counts ------------------------------------------------------------------

def test_counts_follow_every_transition(database: Database) -> None:
    db, tenant = database, new_tenant(database)
    made = [new_asset(db, tenant, t) for t in (AssetType.IMAGE, AssetType.VIDEO, AssetType.AUDIO)
            for _ in range(3)]
    assert count(db, tenant, AssetStatus.PROCESSING) == 9
    with db.write() as conn:
        assert assets.finish(conn, made[0], AssetStatus.READY, type=AssetType.VIDEO.value)
        assert not assets.finish(conn, made[0], AssetStatus.READY)  # once only
        assert assets.finish(conn, made[1], AssetStatus.FAILED, failure_reason="bad")
        assert assets.mark_deleted(conn, made[2], now_ms())
        assert not assets.mark_deleted(conn, made[2], now_ms())
    assert count(db, tenant, AssetStatus.PROCESSING) == 6
    assert count(db, tenant, AssetStatus.READY, AssetStatus.FAILED) == 2
    with db.read() as conn:
        assert assets.count(conn, [tenant], [AssetType.VIDEO], [AssetStatus.READY]) == 1
        assert assets.get(conn, made[0].id).type is AssetType.VIDEO  # type: ignore[union-attr]
    assert_counts_exact(db)
    with db.write() as conn:
        assert assets.restore(conn, made[2], now_ms())
    assert count(db, tenant, AssetStatus.PROCESSING) == 7
    assert_counts_exact(db)


def test_concurrent_writers_lose_no_count(database: Database) -> None:
    """Inserts, finishes and deletes of one (tenant, type) group from many threads at once."""
    db, tenant = database, new_tenant(database)

    def work(i: int) -> None:
        for n in range(15):
            asset = new_asset(db, tenant)
            with db.write() as conn:
                if n % 3 == 0:
                    assets.finish(conn, asset, AssetStatus.READY)
                elif n % 3 == 1:
                    assets.mark_deleted(conn, asset, now_ms())

    in_threads(8, work)
    assert count(db, tenant, AssetStatus.READY) == 8 * 5
    assert count(db, tenant, AssetStatus.PROCESSING) == 8 * 5
    assert_counts_exact(db)


def test_concurrent_finish_of_one_asset_succeeds_once(database: Database) -> None:
    db, tenant = database, new_tenant(database)
    asset = new_asset(db, tenant)

    def finish(i: int) -> bool:
        with db.write() as conn:
            return assets.finish(conn, asset, AssetStatus.READY if i % 2 else AssetStatus.FAILED)

    assert sorted(in_threads(8, finish)) == [False] * 7 + [True]  # type: ignore[type-var]
    assert count(db, tenant, AssetStatus.READY, AssetStatus.FAILED) == 1
    assert_counts_exact(db)


# --- the job queue ----------------------------------------------------------------------------

def claim(db: Database, owner: str, now: int, lease: int = LEASE) -> Job | None:
    with db.write() as conn:
        return jobs.claim(conn, owner, now, lease)


def test_claim_lease_takeover_and_finish(database: Database) -> None:
    db, tenant = database, new_tenant(database)
    asset = new_asset(db, tenant, job=True)
    now = now_ms()
    first = claim(db, "w1", now)
    assert first is not None and first.asset_id == asset.id and first.attempts == 1
    assert claim(db, "w2", now + LEASE - 1) is None  # leased
    with db.write() as conn:
        assert jobs.heartbeat(conn, "w1", now + LEASE // 2, LEASE) == 1
    assert claim(db, "w2", now + LEASE + 1) is None  # the heartbeat extended the lease
    taken = claim(db, "w2", now + 2 * LEASE)  # w1 went silent: its lease ran out
    assert taken is not None and taken.id == first.id and taken.attempts == 2
    with db.write() as conn:
        assert jobs.heartbeat(conn, "w1", now + 2 * LEASE, LEASE) == 0
        assert not jobs.finish(conn, first)  # the old owner no longer holds it
        assert jobs.finish(conn, taken)
        assert jobs.pending(conn) == 0


def test_release_and_retry(database: Database) -> None:
    db, tenant = database, new_tenant(database)
    new_asset(db, tenant, job=True)
    now = now_ms()
    job = claim(db, "w1", now)
    assert job is not None
    with db.write() as conn:
        assert jobs.release(conn, "w1", now) == 1
    again = claim(db, "w2", now)
    assert again is not None and again.attempts == 1  # a clean stop does not count
    with db.write() as conn:
        jobs.retry(conn, again, now + 5000, "RuntimeError: flaky")
    assert claim(db, "w3", now + 4999) is None
    last = claim(db, "w3", now + 5000)
    assert last is not None and last.attempts == 2


def test_a_skipping_job_waits_for_a_restore_under_way(database: Database) -> None:
    """A job that read its asset as deleted asks, before it ends, whether the asset is live
    and PROCESSING again, under the row's lock: a restore in flight (which queues a job only
    if the asset has none, and this one still exists) is waited for and seen."""
    db, tenant = database, new_tenant(database)
    asset = new_asset(db, tenant, job=True)
    job = claim(db, "w1", now_ms())
    assert job is not None
    repo = AssetRepository()
    with db.write() as conn:
        assert repo.mark_deleted(conn, asset, now_ms())
    with db.write() as conn:
        assert not jobs.still_wanted(conn, job)  # deleted: the job may end
    seen: list[bool] = []

    def check() -> None:
        with db.write() as conn:
            seen.append(jobs.still_wanted(conn, job))

    waiting = threading.Thread(target=check)
    with db.write() as conn:
        assert repo.restore(conn, asset, now_ms())
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive() and not seen  # held until the restore commits
    waiting.join(30)
    assert seen == [True]


def test_concurrent_claims_never_share_a_job(database: Database) -> None:
    db, tenant = database, new_tenant(database)
    for _ in range(60):
        new_asset(db, tenant, job=True)
    now = now_ms()

    def drain(i: int) -> list[int]:
        got = []
        while (job := claim(db, f"w{i}", now)) is not None:
            got.append(job.id)
        return got

    claimed = [job_id for got in in_threads(8, drain) for job_id in got]  # type: ignore[attr-defined]
    assert len(claimed) == 60
    assert Counter(claimed).most_common(1)[0][1] == 1
