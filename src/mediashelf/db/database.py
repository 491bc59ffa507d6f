"""open_database(url): a SQLAlchemy engine for SQLite or PostgreSQL, and transactions on it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, Engine

if TYPE_CHECKING:
    from mediashelf.db.async_reads import AsyncReads
    from mediashelf.db.keys import KeyReader
    from mediashelf.db.local_reads import LocalReads

T = TypeVar("T")
_AFTER_COMMIT = "mediashelf.after_commit"
_BEFORE_COMMIT = "mediashelf.before_commit"  # (order, run) pairs; present only inside write()
_PING_IDLE_S = 1.0  # a pooled PostgreSQL connection idle for longer is checked before use


class Database:
    def __init__(self, engine: Engine, snapshots: Engine | None = None,
                 snapshot_options: str = "") -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._snapshots = snapshots or engine  # the listing's reads (see open_database)
        self._snapshot_options = snapshot_options  # ... and their connections' options

    @property
    def read_threads(self) -> int:
        """Reads worth running at once on an API process's threads: more threads than that only
        contend for the GIL, which costs more CPU per request than they overlap waiting. A
        SQLite read never waits for the network, so one; PostgreSQL reads do, so a few."""
        return 1 if self.is_sqlite else 4

    @property
    def local_reads(self) -> bool:
        """Whether a read is local work that never waits on the network (SQLite)."""
        return self.is_sqlite

    @property
    def one_writer(self) -> bool:
        """Whether the whole database has one write lock (SQLite): a process preempted while it
        holds it makes every writer of every process wait."""
        return self.is_sqlite

    def key_reader(self) -> KeyReader:
        """The event loop's key lookup: on SQLite a read on the loop's own connection, on
        PostgreSQL a batcher whose concurrent lookups share one round trip (psycopg is the
        postgres extra, so it is imported only here)."""
        if self.is_sqlite:
            from mediashelf.db.key_local import LocalKeyReader

            return LocalKeyReader(str(self.engine.url.database))
        from mediashelf.db.key_batch import KeyBatcher

        return KeyBatcher(self.libpq_url())

    def async_reads(self) -> AsyncReads | None:
        """The event loop's listing and asset reads: on PostgreSQL, on asynchronous connections
        (as many as reads worth running at once, read_threads); None on SQLite, whose reads are
        local work (see Replies)."""
        if self.is_sqlite:
            return None
        from mediashelf.db.async_reads import AsyncReads

        return AsyncReads(self.libpq_url(), size=self.read_threads,
                          options=self._snapshot_options)

    def sync_reads(self) -> LocalReads | None:
        """Listing and asset reads on the driver's own connection of the thread that asks: on
        SQLite, whose reads are local work; None on PostgreSQL (see async_reads)."""
        if not self.is_sqlite:
            return None
        from mediashelf.db.local_reads import LocalReads

        return LocalReads(str(self.engine.url.database))

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction; on SQLite it takes the write lock at once (BEGIN IMMEDIATE).
        What before_commit() registered runs last inside it; what after_commit() registered
        runs once it has committed."""
        with self.engine.connect().execution_options(immediate=True) as conn:
            try:
                with conn.begin():
                    closing = conn.info[_BEFORE_COMMIT] = _Closing()
                    yield conn
                    last = closing.runs
                    while last:  # the lowest order first, then as registered; a run may add
                        first = min(range(len(last)), key=lambda i: last[i][0])
                        last.pop(first)[1]()
            finally:
                # the pooled connection keeps its info dict: nothing may stay for the next user
                conn.info.pop(_BEFORE_COMMIT, None)
                runs = conn.info.pop(_AFTER_COMMIT, ())
            for run in runs:  # reached only when the transaction committed
                run()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read-only transaction whose statements all see one snapshot (SQLite's read
        transactions already do; on PostgreSQL REPEATABLE READ, sent with the BEGIN)."""
        if self.is_sqlite:
            with self.read() as conn:
                yield conn
            return
        with self._snapshots.connect().execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True) as conn, \
                conn.begin():
            yield conn

    def reading(self, read: Callable[[Connection], T], *, snapshot: bool = False) -> T:
        """read(conn) in a read transaction, run once more on a fresh connection if the pooled
        one turns out to be lost (a server restart): the caller never sees that."""
        for attempt in (1, 2):
            try:
                with self.snapshot() if snapshot else self.read() as conn:
                    return read(conn)
            except exc.DBAPIError as err:
                if attempt == 2 or not err.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    @contextmanager
    def read_one(self) -> Iterator[Connection]:
        """A connection for one single-statement read, with no transaction around it: on
        PostgreSQL that saves the BEGIN and COMMIT round trips (a request's key lookup)."""
        if self.is_sqlite:  # a local read: the plain transaction costs next to nothing
            with self.read() as conn:
                yield conn
            return
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            yield conn

    def libpq_url(self) -> str:
        """The database's address for psycopg itself (PostgreSQL only)."""
        return self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def close(self) -> None:
        self.engine.dispose()
        if self._snapshots is not self.engine:
            self._snapshots.dispose()


class _Closing:
    """What a write transaction does last, and the state it is done from."""

    __slots__ = ("kept", "runs")

    def __init__(self) -> None:
        self.runs: list[tuple[int, Callable[[], None]]] = []
        self.kept: dict[str, Any] = {}


def before_commit(conn: Connection, order: int, run: Callable[[], None]) -> None:
    """Call run() at the end of the write transaction on conn, just before its commit (lowest
    order first, then as registered); at once outside Database.write(). On PostgreSQL a write
    holds the row locks of a tenant's shared rows (its counts, its event order) from its first
    change of them until its commit: made last, those changes keep the tenant's other writers
    waiting for a few statements, not for the whole transaction."""
    closing: _Closing | None = conn.info.get(_BEFORE_COMMIT)
    if closing is None:
        run()
    else:
        closing.runs.append((order, run))


def transaction_kept(conn: Connection) -> dict[str, Any] | None:
    """A dict that lives as long as the write transaction on conn (Database.write), for what
    its before_commit() runs write; None outside one."""
    closing: _Closing | None = conn.info.get(_BEFORE_COMMIT)
    return None if closing is None else closing.kept


def after_commit(conn: Connection, run: Callable[[], None]) -> None:
    """Call run() once the write transaction on conn (Database.write) has committed, and not
    at all if it rolls back: a wake-up whose reader would otherwise not see the rows yet."""
    conn.info.setdefault(_AFTER_COMMIT, []).append(run)


def engine_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def open_database(url: str, *, pool_size: int = 5, max_overflow: int = 10) -> Database:
    url = engine_url(url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, pool_size=pool_size, max_overflow=max_overflow,
                                  connect_args={"check_same_thread": False, "timeout": 30})
        _tune_sqlite(engine)
        return Database(engine)
    # The listing runs the same few statements again and again, and their best plans do not
    # depend on the values (index ranges in the listing's order, counts by primary key), yet
    # PostgreSQL kept planning them anew on every run (custom plans), which cost more than
    # running them. Its own pool holds generic plans for those; every other statement, the
    # purge's range scan say, keeps plans made for its values.
    given = sa.engine.make_url(url).query.get("options")
    generic = " ".join(filter(None, [given if isinstance(given, str) else None,
                                     "-c plan_cache_mode=force_generic_plan"]))
    return Database(_pg_engine(url, pool_size, max_overflow),
                    _pg_engine(url, pool_size, max_overflow, options=generic), generic)


def _pg_engine(url: str, pool_size: int, max_overflow: int, **connect: str) -> Engine:
    # A bounded connect time keeps /readyz and the worker loop from hanging on a lost server.
    engine = sa.create_engine(url, pool_size=pool_size, max_overflow=max_overflow,
                              pool_timeout=30,
                              connect_args={"connect_timeout": 10,
                                            "application_name": "mediashelf", **connect})
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only if it sat idle (pool_pre_ping would cost a
    round trip on every checkout of a busy server); a connection lost while in use is
    invalidated by SQLAlchemy and reads are run again (Database.reading)."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < _PING_IDLE_S:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception:
            alive = False
        if not alive:
            raise exc.DisconnectionError("the pooled connection was lost")  # the pool retries


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA cache_size=-65536")
        cur.execute("PRAGMA mmap_size=268435456")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
