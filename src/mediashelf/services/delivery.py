"""Delivering webhooks: lease due deliveries from the database, POST them signed, record each
attempt, retry on the schedule, disable an endpoint that keeps failing.

One dispatcher thread claims as many deliveries as there are free slots in a bounded pool of
sender threads; a slow receiver holds at most half the slots (see DeliveryRepository.claim).
Leases are extended while a POST is in flight; a worker that dies leaves its leases to run out,
and the deliveries are sent again by whoever claims them next (at least once).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.engine import Connection

from mediashelf.db.database import Database
from mediashelf.db.deliveries import DeliveryRepository
from mediashelf.db.webhooks import WebhookRepository
from mediashelf.domain import Delivery, DeliveryState, WebhookEndpoint, now_ms
from mediashelf.metrics import WEBHOOK_ATTEMPTS, WEBHOOK_DELIVERIES, WEBHOOK_SECONDS
from mediashelf.net.fetch import Fetcher, FetchFailed
from mediashelf.services.webhooks import sign

log = logging.getLogger("mediashelf.delivery")

_QUICK = (0.01, 0.03, 0.1)  # looks again this soon after a wake that found nothing
Render = Callable[[int], bytes | None]  # an event's payload by its id; None once swept


class Deliverer:
    def __init__(self, db: Database, deliveries: DeliveryRepository,
                 endpoints: WebhookRepository, sender: Fetcher, render: Render, *,
                 owner: str, schedule: Sequence[float], timeout_s: float,
                 disable_after_s: float, lease_s: float, concurrency: int,
                 poll_s: float) -> None:
        self._db, self._deliveries, self._endpoints = db, deliveries, endpoints
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
        self._in_flight: set[int] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for name, run in (("webhook-dispatch", self._dispatch), ("webhook-lease", self._beat)):
            t = threading.Thread(target=run, name=name, daemon=True)
            t.start()
            self._threads.append(t)

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 20.0) -> None:
        """Stop claiming, let POSTs in flight end (up to timeout), give back the rest."""
        self._stopping.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self._pool.shutdown(wait=False)  # those not started yet return at once (_deliver)
        while self._in_flight and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            with self._db.write() as conn:
                self._deliveries.release(conn, self._owner)
        except Exception:
            log.exception("webhook.release_failed", extra={"worker": self._owner})

    def _dispatch(self) -> None:
        quick: list[float] = []
        while not self._stopping.is_set():
            with self._lock:
                free = self._slots - len(self._in_flight)
            claimed: list[Delivery] = []
            if free > 0:
                try:
                    with self._db.read() as conn:
                        due = self._deliveries.any_due(conn, now_ms())
                    if due:
                        with self._db.write() as conn:
                            claimed = self._deliveries.claim(conn, self._owner, now_ms(),
                                                             self._lease_ms, free,
                                                             self._per_endpoint)
                except Exception:
                    log.exception("webhook.claim_failed", extra={"worker": self._owner})
                    self._stopping.wait(self._poll_s * 4)
                    continue
            for one in claimed:
                with self._lock:
                    self._in_flight.add(one.id)
                self._pool.submit(self._deliver, one)
            if claimed:
                quick = []
            elif quick:  # woken from inside a transaction: its rows show once it commits
                self._stopping.wait(quick.pop(0))
            else:
                if self._wake.wait(self._poll_s):
                    quick = list(_QUICK)
                self._wake.clear()

    def _beat(self) -> None:
        while not self._stopping.wait(max(0.2, self._lease_ms / 3000)):
            with self._lock:
                ids = list(self._in_flight)
            try:
                with self._db.write() as conn:
                    self._deliveries.heartbeat(conn, self._owner, ids, now_ms(), self._lease_ms)
            except Exception:
                log.exception("webhook.heartbeat_failed", extra={"worker": self._owner})

    def _deliver(self, one: Delivery) -> None:
        try:
            if not self._stopping.is_set():  # else given back by stop()
                self._attempt(one)
        except Exception:
            log.exception("webhook.attempt_crashed", extra={"delivery_id": one.id})
        finally:
            with self._lock:
                self._in_flight.discard(one.id)
            self._wake.set()  # a slot is free, and the asset's next event may be due

    def _attempt(self, one: Delivery) -> None:
        with self._db.read() as conn:
            endpoint = self._endpoints.by_id(conn, one.endpoint_id)
        if endpoint is None:
            return  # deleted meanwhile, with its deliveries
        body = one.payload.encode() if one.payload is not None else \
            self._render(one.event_id) if one.event_id is not None else None
        started_ms, started = now_ms(), time.monotonic()
        code: int | None = None
        head: str | None = None
        if body is None:
            error: str | None = "the event is no longer kept (past its retention)"
            outcome = "gone"
        else:
            try:
                answer = self.sender.post(endpoint.url, body, self._headers(endpoint, one, body),
                                          self._timeout_s)
                code, head = answer.status, answer.head.decode("utf-8", "replace")
                ok = 200 <= code < 300
                error = None if ok else f"receiver answered {code}"
                outcome = "success" if ok else "http_status"
            except FetchFailed as exc:
                error, outcome = exc.message, exc.reason
        seconds = time.monotonic() - started
        WEBHOOK_ATTEMPTS.labels(outcome=outcome).inc()
        WEBHOOK_SECONDS.observe(seconds)
        self._record(one, endpoint, started_ms, seconds, code, head, error,
                     final=outcome == "gone")

    def _headers(self, endpoint: WebhookEndpoint, one: Delivery, body: bytes) -> dict[str, str]:
        ts = int(time.time())
        signatures = [sign(endpoint.secret, one.message_id, ts, body)]
        if endpoint.old_secret and (endpoint.old_secret_expires_ms or 0) > now_ms():
            signatures.append(sign(endpoint.old_secret, one.message_id, ts, body))
        return {"webhook-id": one.message_id, "webhook-timestamp": str(ts),
                "webhook-signature": " ".join(signatures)}

    def _record(self, one: Delivery, endpoint: WebhookEndpoint, started_ms: int,
                seconds: float, code: int | None, head: str | None, error: str | None,
                *, final: bool) -> None:
        now = now_ms()
        tries = one.tries + 1
        if error is None:
            state, next_ms = DeliveryState.SUCCEEDED, None
        elif final or tries > len(self._schedule):
            state, next_ms = DeliveryState.FAILED, None
        else:
            state, next_ms = DeliveryState.PENDING, now + self._schedule[tries - 1]
        ctx = {"delivery_id": one.id, "endpoint_id": str(one.endpoint_id),
               "event_type": one.event_type, "attempt": one.attempts + 1, "state": state.value}
        with self._db.write() as conn:
            kept = self._deliveries.record(conn, one, started_ms=started_ms,
                                           duration_ms=int(seconds * 1000), code=code,
                                           body=head, error=error, state=state, next_ms=next_ms)
            if error is None:
                self._endpoints.succeeded(conn, endpoint.id)
            else:
                self._note_failure(conn, endpoint, now, error)
        if not kept:
            log.info("webhook.lease_lost", extra=ctx)
            return
        if state is not DeliveryState.PENDING:
            WEBHOOK_DELIVERIES.labels(outcome="delivered" if error is None else "failed").inc()
        log.info("webhook.attempt", extra={**ctx, "code": code, "error": error,
                                           "seconds": round(seconds, 3)})

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
