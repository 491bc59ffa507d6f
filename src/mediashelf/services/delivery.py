"""Delivering webhooks: lease due deliveries from the database, POST them signed, record each
attempt, retry on the schedule, disable an endpoint that keeps failing.

One dispatcher thread does every database statement but the lease heartbeats: each turn, in one
transaction, it stores the outcomes of the POSTs that ended and claims as many due deliveries as
there are free slots in a bounded pool of sender threads (a slow receiver holds at most half the
slots, see DeliveryRepository.claim), with their endpoints and events. The senders only render,
sign and POST. A worker runs it in a child process of its own (delivery_process.py), so that
its Python does not take the GIL from the API's requests and the jobs.
Leases are extended while a POST is in flight; a worker that dies leaves its leases to run out,
and its deliveries are sent again by whoever claims them next (at least once).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.engine import Connection

from mediashelf.db.database import Database
from mediashelf.db.deliveries import Attempt, Claimed, DeliveryRepository, Recorded
from mediashelf.db.events import Event
from mediashelf.db.webhooks import WebhookRepository
from mediashelf.domain import Delivery, DeliveryState, WebhookEndpoint, now_ms
from mediashelf.logs import Outage
from mediashelf.metrics import WEBHOOK_ATTEMPTS, WEBHOOK_DELIVERIES, WEBHOOK_SECONDS
from mediashelf.net.fetch import Fetcher, FetchFailed
from mediashelf.services.webhooks import sign

log = logging.getLogger("mediashelf.delivery")

Render = Callable[[Event], bytes]  # an event's payload

# How far apart the dispatcher's turns start. During a burst of uploads it wrote about 130 times
# a second, each turn storing one outcome and claiming one delivery; 10 ms apart, each turn
# carries several, for a fraction of the statements and commits. On SQLite, whose one writer
# lock the uploads queue for, uploads with an endpoint kept 0.91 to 1.07 of their rate without
# one (0.85 before); on PostgreSQL the deliverer's CPU during the burst fell by about a third,
# CPU the uploads share on a small machine. A backlog drains at about 200-260 a second instead
# of 330; a few events a second come further apart than this and wait for nothing.
_TURN_SPACING_S = 0.01


class Tally(Protocol):
    """Where the deliverer counts its attempts and finished deliveries (/metrics)."""

    def attempt(self, outcome: str, seconds: float) -> None: ...
    def finished(self, outcome: str) -> None: ...


class Counted:
    """This process's own metrics."""

    def attempt(self, outcome: str, seconds: float) -> None:
        WEBHOOK_ATTEMPTS.labels(outcome=outcome).inc()
        WEBHOOK_SECONDS.observe(seconds)

    def finished(self, outcome: str) -> None:
        WEBHOOK_DELIVERIES.labels(outcome=outcome).inc()


@dataclass(slots=True)
class Outcome:
    """One attempt's result, recorded by the dispatcher (endpoint None: nothing to record)."""

    one: Delivery
    endpoint: WebhookEndpoint | None
    started_ms: int = 0
    seconds: float = 0.0
    code: int | None = None
    head: str | None = None
    error: str | None = None
    final: bool = False  # no retry can help (the event is gone)
    state: DeliveryState | None = None  # set when stored
    kept: bool = False  # stored under our lease

    def report(self, tally: Tally) -> None:
        """Log and count, once stored."""
        if self.endpoint is None or self.state is None:
            return
        ctx = {"delivery_id": self.one.id, "endpoint_id": str(self.one.endpoint_id),
               "event_type": self.one.event_type, "attempt": self.one.attempts + 1,
               "state": self.state.value}
        if not self.kept:
            log.info("webhook.lease_lost", extra=ctx)
            return
        if self.state is not DeliveryState.PENDING:
            tally.finished("delivered" if self.error is None else "failed")
        log.info("webhook.attempt", extra={**ctx, "code": self.code, "error": self.error,
                                           "seconds": round(self.seconds, 3)})


class Deliverer:
    def __init__(self, db: Database, deliveries: DeliveryRepository,
                 endpoints: WebhookRepository, sender: Fetcher,
                 render: Render, *,
                 owner: str, schedule: Sequence[float], timeout_s: float,
                 disable_after_s: float, lease_s: float, concurrency: int,
                 poll_s: float, tally: Tally | None = None) -> None:
        self._db, self._deliveries, self._endpoints = db, deliveries, endpoints
        self._tally = tally or Counted()
        self.sender = sender  # the URL imports' fetcher: same policy, re-checked every time
        self._render = render
        self._owner = owner
        self._schedule = [int(s * 1000) for s in schedule]
        self._timeout_s = timeout_s
        self._disable_ms = int(disable_after_s * 1000)
        self._lease_ms = int(lease_s * 1000)
        self._slots = concurrency
        self._per_endpoint = max(1, concurrency // 2)
        self._poll_s = poll_s
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="webhook")
        self._in_flight: set[int] = set()  # claimed, until their outcome is stored
        self._done: list[Outcome] = []  # POSTs made, outcomes not yet stored
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._claims = Outage(log, "webhook.claim_failed", worker=owner)
        self._beats = Outage(log, "webhook.heartbeat_failed", worker=owner)

    def start(self) -> None:
        for name, run in (("webhook-dispatch", self._dispatch), ("webhook-lease", self._beat)):
            t = threading.Thread(target=run, name=name, daemon=True)
            t.start()
            self._threads.append(t)

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 20.0) -> None:
        """Stop claiming, let POSTs in flight end (up to timeout), keep their outcomes, give
        back the rest."""
        self._stopping.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self._pool.shutdown(wait=False)  # those not started yet return at once (_deliver)
        while time.monotonic() < deadline:
            with self._lock:
                if len(self._done) >= len(self._in_flight):
                    break
            time.sleep(0.05)
        try:
            with self._db.write() as conn:
                self._store(conn, self._take_done())
                self._deliveries.release(conn, self._owner)
        except Exception:
            log.exception("webhook.release_failed", extra={"worker": self._owner})
        self.sender.close()

    def _take_done(self) -> list[Outcome]:
        with self._lock:
            done, self._done = self._done, []
        return done

    def _dispatch(self) -> None:
        """One write transaction per turn: the outcomes of finished POSTs, and the next claim.
        Under load a turn carries many of each, so the database sees few writes."""
        woken = False
        last = 0.0
        while not self._stopping.is_set():
            if self._stopping.wait(max(0.0, last + _TURN_SPACING_S - time.monotonic())):
                break
            last = time.monotonic()
            done = self._take_done()
            with self._lock:
                free = self._slots - len(self._in_flight) + len(done)
            claimed: list[Claimed] = []
            try:
                # after a wake something is due (rows committed just now): no read to ask
                due = woken and free > 0
                if free > 0 and not done and not woken:
                    with self._db.read() as conn:
                        due = self._deliveries.any_due(conn, now_ms())
                woken = False
                if done or due:
                    with self._db.write() as conn:
                        self._store(conn, done)
                        if free > 0:
                            claimed = self._deliveries.claim(conn, self._owner, now_ms(),
                                                             self._lease_ms, free,
                                                             self._per_endpoint)
            except Exception:
                self._claims.failed()
                with self._lock:  # the POSTs were made: record them at the next turn
                    self._done = done + self._done
                self._stopping.wait(self._poll_s * 4)
                continue
            self._claims.ok()
            try:
                claimed = self._read(claimed)
            except Exception:  # leased, so sent by whoever claims them once the leases run out
                log.exception("webhook.read_failed", extra={"worker": self._owner})
                claimed = []
            with self._lock:
                self._in_flight.difference_update(o.one.id for o in done)
                self._in_flight.update(got.one.id for got in claimed)
            for outcome in done:
                outcome.report(self._tally)
            for got in claimed:
                self._pool.submit(self._deliver, got.one, got.endpoint, got.event)
            # Every wake comes after its rows were committed or a POST ended, so a turn need
            # not ask what is due after one; a claim finds what a turn's outcomes let through
            # (the next delivery of an asset). Only a quiet poll interval asks (retries due
            # now, rows of other processes).
            woken = self._wake.wait(self._poll_s)
            self._wake.clear()  # a wake until here is seen by the next turn

    def _read(self, claimed: list[Claimed]) -> list[Claimed]:
        """Their endpoints and events, where the claim did not bring them (SQLite: read after
        its commit, outside the write lock)."""
        if all(got.read for got in claimed):
            return claimed
        with self._db.read() as conn:
            return self._deliveries.read(conn, claimed)

    def _beat(self) -> None:
        while not self._stopping.wait(max(0.2, self._lease_ms / 3000)):
            with self._lock:
                ids = list(self._in_flight)
            if not ids:
                continue
            try:
                with self._db.write() as conn:
                    self._deliveries.heartbeat(conn, self._owner, ids, now_ms(), self._lease_ms)
            except Exception:
                self._beats.failed()
            else:
                self._beats.ok()

    def _deliver(self, one: Delivery, endpoint: WebhookEndpoint | None,
                 event: Event | None) -> None:
        outcome = Outcome(one, None)
        try:
            if not self._stopping.is_set():  # else given back by stop()
                outcome = self._attempt(one, endpoint, event)
        except Exception:
            log.exception("webhook.attempt_crashed", extra={"delivery_id": one.id})
        with self._lock:
            self._done.append(outcome)
        self._wake.set()  # record it, and the slot is free

    def _attempt(self, one: Delivery, endpoint: WebhookEndpoint | None,
                 event: Event | None) -> Outcome:
        if endpoint is None:
            return Outcome(one, None)  # deleted meanwhile, with its deliveries
        body = one.payload.encode() if one.payload is not None else \
            self._render(event) if event is not None else None  # None: swept
        started_ms, started = now_ms(), time.monotonic()
        code: int | None = None
        head: str | None = None
        if body is None:
            error: str | None = "the event is no longer kept (past its retention)"
            kind = "gone"
        else:
            try:
                answer = self.sender.post(endpoint.url, body, self._headers(endpoint, one, body),
                                          self._timeout_s)
                code, head = answer.status, answer.head.decode("utf-8", "replace")
                ok = 200 <= code < 300
                error = None if ok else f"receiver answered {code}"
                kind = "success" if ok else "http_status"
            except FetchFailed as exc:
                error, kind = exc.message, exc.reason
        seconds = time.monotonic() - started
        self._tally.attempt(kind, seconds)
        return Outcome(one, endpoint, started_ms, seconds, code, head, error, kind == "gone")

    def _headers(self, endpoint: WebhookEndpoint, one: Delivery, body: bytes) -> dict[str, str]:
        ts = int(time.time())
        signatures = [sign(endpoint.secret, one.message_id, ts, body)]
        if endpoint.old_secret and endpoint.previous_secret_until(now_ms()) is not None:
            signatures.append(sign(endpoint.old_secret, one.message_id, ts, body))
        return {"webhook-id": one.message_id, "webhook-timestamp": str(ts),
                "webhook-signature": " ".join(signatures)}

    def _store(self, conn: Connection, done: list[Outcome]) -> None:
        """The attempts' outcomes, in the caller's write transaction."""
        now = now_ms()
        fine: set[uuid.UUID] = set()
        history: list[Attempt] = []
        for o in done:
            if o.endpoint is None:
                continue
            tries = o.one.tries + 1
            if o.error is None:
                o.state, next_ms = DeliveryState.SUCCEEDED, None
            elif o.final or tries > len(self._schedule):
                o.state, next_ms = DeliveryState.FAILED, None
            else:
                o.state, next_ms = DeliveryState.PENDING, now + self._schedule[tries - 1]
            attempt = Attempt.of(o.one.id, o.started_ms, int(o.seconds * 1000), o.code, o.head,
                                 o.error)
            stored = self._deliveries.record(conn, o.one, attempt, o.state, next_ms)
            if stored is Recorded.GONE:
                continue  # its endpoint was deleted meanwhile, with its deliveries
            o.kept = stored is Recorded.STORED
            history.append(attempt)
            if o.error is None:
                if o.endpoint.failure_streak or o.endpoint.failing_since_ms is not None:
                    fine.add(o.endpoint.id)  # as read at the claim: mostly nothing to end
            else:
                self._note_failure(conn, o.endpoint, now, o.error)
        self._deliveries.add_attempts(conn, history)
        self._endpoints.succeeded(conn, fine)

    def _note_failure(self, conn: Connection, endpoint: WebhookEndpoint, now: int,
                      error: str) -> None:
        current = self._endpoints.failed(conn, endpoint.id, now)
        if current is None or not current.enabled or current.failing_since_ms is None:
            return
        if now - current.failing_since_ms >= self._disable_ms:
            days = self._disable_ms / 86_400_000
            span = f"{days:g} days" if days >= 1 else f"{self._disable_ms / 1000:g} s"
            reason = (f"disabled after failing every delivery for {span} "
                      f"({current.failure_streak} attempts); the last: {error}")
            self._endpoints.update(conn, endpoint.id, enabled=False, disabled_reason=reason,
                                   updated_ms=now)
            log.warning("webhook.disabled", extra={"endpoint_id": str(endpoint.id),
                                                   "tenant_id": str(endpoint.tenant_id)})
