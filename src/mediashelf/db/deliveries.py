"""DeliveryRepository: the webhook delivery queue (fan-out, claim with a lease, outcomes, history).

Deliveries are made when an event is recorded, in its transaction: one row per enabled endpoint
of the tenant subscribed to it. Those rows are the queue. A delivery is due when its time has
come and no earlier delivery of the same endpoint and asset is still pending or being sent, so
each receiver gets an asset's events in order, whatever the number of workers.
"""

from __future__ import annotations

import enum
import uuid
from types import SimpleNamespace
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mediashelf.db.events import Event, EventRepository, to_event
from mediashelf.db.schema import events, webhook_attempts, webhook_deliveries, webhook_endpoints
from mediashelf.db.webhooks import WebhookRepository, to_endpoint
from mediashelf.domain import Delivery, DeliveryState, WebhookEndpoint

d = webhook_deliveries
ep = webhook_endpoints
_OPEN = (DeliveryState.PENDING.value, DeliveryState.SENDING.value)
_BODY_CHARS = 1024


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row.id, endpoint_id=row.endpoint_id, tenant_id=row.tenant_id, event_id=row.event_id,
        message_id=row.message_id, event_type=row.event_type, asset_id=row.asset_id,
        payload=row.payload, state=DeliveryState(row.state), attempts=row.attempts,
        tries=row.tries, next_attempt_ms=row.next_attempt_ms, lease_owner=row.lease_owner,
        response_code=row.response_code, duration_ms=row.duration_ms,
        response_body=row.response_body, error=row.error, created_ms=row.created_ms,
        updated_ms=row.updated_ms)


class Attempt(NamedTuple):
    """One POST of a delivery, as its history keeps it (texts cut to what is kept)."""

    delivery_id: int
    started_ms: int
    duration_ms: int
    response_code: int | None
    response_body: str | None
    error: str | None

    @classmethod
    def of(cls, delivery_id: int, started_ms: int, duration_ms: int, code: int | None,
           body: str | None, error: str | None) -> Attempt:
        # PostgreSQL text holds no NUL: a receiver's answer may.
        return cls(delivery_id, started_ms, duration_ms, code,
                   body[:_BODY_CHARS].replace("\x00", "\ufffd") if body is not None else None,
                   error[:2000] if error is not None else None)


def message_id(event_id: int) -> str:
    """The webhook-id of an event: the same on every attempt and for every endpoint."""
    return f"evt_{event_id}"


def _due(now: sa.BindParameter[int]) -> sa.ColumnElement[bool]:
    earlier = d.alias("earlier")
    blocked = sa.exists().where(earlier.c.endpoint_id == d.c.endpoint_id,
                                earlier.c.asset_id == d.c.asset_id, earlier.c.id < d.c.id,
                                earlier.c.state.in_(_OPEN))
    enabled = sa.select(ep.c.id).where(ep.c.enabled == sa.true())
    return sa.and_(
        sa.or_(sa.and_(d.c.state == DeliveryState.PENDING.value, d.c.next_attempt_ms <= now),
               sa.and_(d.c.state == DeliveryState.SENDING.value, d.c.lease_expires_ms < now)),
        d.c.endpoint_id.in_(enabled),
        sa.or_(d.c.asset_id.is_(None), ~blocked))


# Built once: the dispatcher runs these on every turn, and building them cost more than running.
_NOW = sa.bindparam("now", type_=sa.BigInteger)
_ANY_DUE = sa.select(d.c.id).where(_due(_NOW)).limit(1)
_BUSY = (sa.select(d.c.endpoint_id).where(d.c.state == DeliveryState.SENDING.value,
                                           d.c.lease_expires_ms >= _NOW)
         .group_by(d.c.endpoint_id).having(sa.func.count() >= sa.bindparam("per_endpoint")))
_PICK = (sa.select(d.c.id).where(_due(_NOW), d.c.endpoint_id.not_in(_BUSY))
         .order_by(d.c.id).limit(sa.bindparam("limit")).with_for_update(skip_locked=True, of=d))
# picked and leased in one statement: one round trip of the claim's transaction less
_CLAIM = (d.update().where(d.c.id.in_(_PICK.correlate(None)))  # its own FROM, not the UPDATE's
          .values(state=DeliveryState.SENDING.value, lease_owner=sa.bindparam("owner"),
                  lease_expires_ms=sa.bindparam("until", type_=sa.BigInteger))
          .returning(*d.c))
# PostgreSQL: the claimed rows with their endpoints and events, one statement for the three
_CLAIMED = _CLAIM.cte("claimed")
_CLAIM_WITH = sa.select(
    _CLAIMED, *[c.label(f"ep_{c.name}") for c in ep.c],
    *[c.label(f"ev_{c.name}") for c in events.c]).select_from(
    _CLAIMED.outerjoin(ep, ep.c.id == _CLAIMED.c.endpoint_id)
    .outerjoin(events, events.c.id == _CLAIMED.c.event_id))


class Claimed(NamedTuple):
    """A leased delivery, with its endpoint and event once read (None: deleted meanwhile,
    swept, or a delivery with its own payload)."""

    one: Delivery
    endpoint: WebhookEndpoint | None = None
    event: Event | None = None
    read: bool = True  # False: endpoint and event are still to be read (DeliveryRepository.read)


def _part(row: Any, prefix: str) -> SimpleNamespace | None:
    """The columns of one joined table, under their own names (None when the join found none)."""
    fields = {k.removeprefix(prefix): v for k, v in row._mapping.items() if k.startswith(prefix)}
    return SimpleNamespace(**fields) if fields["id"] is not None else None

# Built once: every event runs it, inside its transaction.
_FAN_OUT = d.insert().from_select(
    ["endpoint_id", "tenant_id", "event_id", "message_id", "event_type", "asset_id", "state",
     "attempts", "tries", "next_attempt_ms", "created_ms", "updated_ms"],
    sa.select(ep.c.id, ep.c.tenant_id, sa.bindparam("event_id", type_=sa.BigInteger),
              sa.bindparam("message_id", type_=sa.String),
              sa.bindparam("event_type", type_=sa.String),
              sa.bindparam("asset_id", type_=sa.Uuid),
              sa.literal(DeliveryState.PENDING.value, sa.String), sa.literal(0, sa.Integer),
              sa.literal(0, sa.Integer), *[sa.bindparam("now", type_=sa.BigInteger)] * 3)
    .where(ep.c.tenant_id == sa.bindparam("tenant_id"), ep.c.enabled == sa.true(),
           sa.or_(ep.c.events == ",*,", ep.c.events.contains(sa.bindparam("subscribed")))),
).returning(d.c.id)  # counted from the rows: an INSERT's rowcount is -1 on psycopg

# Built once: every delivery's outcome runs it (building it cost more than running it).
_RECORD = d.update().where(
    d.c.id == sa.bindparam("one"), d.c.lease_owner == sa.bindparam("owner"),
    d.c.state == DeliveryState.SENDING.value).values(
    state=sa.bindparam("to"), attempts=d.c.attempts + 1, tries=d.c.tries + 1,
    next_attempt_ms=sa.bindparam("next", type_=sa.BigInteger), lease_owner=None,
    lease_expires_ms=None, response_code=sa.bindparam("code", type_=sa.Integer),
    duration_ms=sa.bindparam("took", type_=sa.Integer),
    response_body=sa.bindparam("answer", type_=sa.Text),
    error=sa.bindparam("why", type_=sa.Text), updated_ms=sa.bindparam("at", type_=sa.BigInteger))


class Recorded(enum.Enum):
    """What became of an attempt's outcome (DeliveryRepository.record)."""

    STORED = "stored"  # under our lease
    LEASE_LOST = "lease_lost"  # another worker took the delivery meanwhile (at least once)
    GONE = "gone"  # the delivery was deleted with its endpoint


class DeliveryRepository:
    def fan_out(self, conn: Connection, event_id: int, tenant_id: uuid.UUID,
                asset_id: uuid.UUID | None, event_type: str, now: int) -> int:
        """One delivery per enabled endpoint of the tenant subscribed to the event (or to *)."""
        res = conn.execute(_FAN_OUT, {"event_id": event_id, "message_id": message_id(event_id),
                                      "event_type": event_type, "asset_id": asset_id,
                                      "now": now, "tenant_id": tenant_id,
                                      "subscribed": f",{event_type},"})
        return len(res.all())

    def add_message(self, conn: Connection, endpoint_id: uuid.UUID, tenant_id: uuid.UUID,
                    msg_id: str, event_type: str, payload: str, now: int) -> int:
        """A delivery with its own payload (a test message), due now."""
        return int(conn.execute(d.insert().values(
            endpoint_id=endpoint_id, tenant_id=tenant_id, message_id=msg_id,
            event_type=event_type, payload=payload, state=DeliveryState.PENDING.value,
            attempts=0, tries=0, next_attempt_ms=now, created_ms=now, updated_ms=now,
        ).returning(d.c.id)).scalar_one())

    def any_due(self, conn: Connection, now: int) -> bool:
        return conn.execute(_ANY_DUE, {"now": now}).first() is not None

    def claim(self, conn: Connection, owner: str, now: int, lease_ms: int, limit: int,
              per_endpoint: int) -> list[Claimed]:
        """Lease up to `limit` due deliveries, oldest first, at most `per_endpoint` in flight
        per endpoint (so a slow receiver holds only its share of the workers), each with its
        endpoint and event.

        PostgreSQL: FOR UPDATE SKIP LOCKED, and one statement for the lease and the reads.
        SQLite: the caller's write transaction serialises; the claimed come unread, to be read
        with read() once it has committed, so that the one write lock that every upload waits
        for is held for the lease alone.
        """
        params = {"now": now, "limit": limit, "per_endpoint": per_endpoint, "owner": owner,
                  "until": now + lease_ms}
        found: list[Claimed] = []
        if conn.dialect.name == "postgresql":
            for r in conn.execute(_CLAIM_WITH, params):
                endpoint, event = _part(r, "ep_"), _part(r, "ev_")
                found.append(Claimed(_delivery(r), to_endpoint(endpoint) if endpoint else None,
                                     to_event(vars(event)) if event else None))
        else:
            found = [Claimed(_delivery(r), read=False) for r in conn.execute(_CLAIM, params)]
        # Of two due deliveries of one endpoint and asset in this batch, keep the first.
        out: list[Claimed] = []
        seen: set[tuple[uuid.UUID, uuid.UUID]] = set()
        for got in sorted(found, key=lambda x: x.one.id):
            one = got.one
            if one.asset_id is not None:
                if (one.endpoint_id, one.asset_id) in seen:
                    self.release_one(conn, one, now)
                    continue
                seen.add((one.endpoint_id, one.asset_id))
            out.append(got)
        return out

    def read(self, conn: Connection, claimed: list[Claimed]) -> list[Claimed]:
        """The claimed with their endpoints and events, read for those that came unread."""
        unread = [got.one for got in claimed if not got.read]
        if not unread:
            return claimed
        endpoints = WebhookRepository().many(conn, {x.endpoint_id for x in unread})
        kept = EventRepository().many(conn, [x.event_id for x in unread
                                             if x.event_id is not None])
        return [got if got.read else
                Claimed(got.one, endpoints.get(got.one.endpoint_id),
                        kept.get(got.one.event_id) if got.one.event_id is not None else None)
                for got in claimed]

    def release_one(self, conn: Connection, one: Delivery, now: int) -> None:
        conn.execute(d.update().where(d.c.id == one.id).values(
            state=DeliveryState.PENDING.value, lease_owner=None, lease_expires_ms=None))

    def heartbeat(self, conn: Connection, owner: str, ids: list[int], now: int,
                  lease_ms: int) -> None:
        if ids:
            conn.execute(d.update().where(d.c.id.in_(ids), d.c.lease_owner == owner,
                                          d.c.state == DeliveryState.SENDING.value)
                         .values(lease_expires_ms=now + lease_ms))

    def release(self, conn: Connection, owner: str) -> int:
        """Give back this worker's leased deliveries at a clean stop, uncounted."""
        return conn.execute(d.update().where(d.c.lease_owner == owner,
                                             d.c.state == DeliveryState.SENDING.value)
                            .values(state=DeliveryState.PENDING.value, lease_owner=None,
                                    lease_expires_ms=None)).rowcount

    def record(self, conn: Connection, one: Delivery, attempt: Attempt, state: DeliveryState,
               next_ms: int | None) -> Recorded:
        """An attempt's outcome on the delivery, if it is still ours and still there (see
        Recorded). The attempt itself goes into the history with add_attempts, unless GONE."""
        res = conn.execute(_RECORD, {
            "one": one.id, "owner": one.lease_owner, "to": state.value, "next": next_ms,
            "code": attempt.response_code, "took": attempt.duration_ms,
            "answer": attempt.response_body, "why": attempt.error,
            "at": attempt.started_ms + attempt.duration_ms})
        if res.rowcount == 1:
            return Recorded.STORED
        gone = conn.execute(sa.select(d.c.id).where(d.c.id == one.id)).first() is None
        return Recorded.GONE if gone else Recorded.LEASE_LOST

    def add_attempts(self, conn: Connection, attempts: list[Attempt]) -> None:
        """Attempts into the deliveries' histories, in one statement."""
        if attempts:
            conn.execute(webhook_attempts.insert(), [a._asdict() for a in attempts])

    def get(self, conn: Connection, endpoint_id: uuid.UUID, delivery_id: int) -> Delivery | None:
        row = conn.execute(sa.select(d).where(d.c.id == delivery_id,
                                              d.c.endpoint_id == endpoint_id)).first()
        return _delivery(row) if row else None

    def page(self, conn: Connection, endpoint_id: uuid.UUID, limit: int,
             offset: int) -> tuple[list[Delivery], int]:
        """Newest first, and the total."""
        total = int(conn.execute(sa.select(sa.func.count()).select_from(d)
                                 .where(d.c.endpoint_id == endpoint_id)).scalar_one())
        if offset >= total:  # past the end: no rows to read (and an offset past 2**63 - 1
            return [], total  # would not fit the database's integer)
        rows = conn.execute(sa.select(d).where(d.c.endpoint_id == endpoint_id)
                            .order_by(d.c.id.desc()).limit(limit).offset(offset))
        return [_delivery(r) for r in rows], total

    def history(self, conn: Connection, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        """The attempts of these deliveries, oldest first."""
        out: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        if ids:
            a = webhook_attempts
            for r in conn.execute(sa.select(a).where(a.c.delivery_id.in_(ids))
                                  .order_by(a.c.delivery_id, a.c.id)):
                out[r.delivery_id].append(dict(r._mapping))
        return out

    def again(self, conn: Connection, delivery_id: int, now: int) -> bool:
        """Send a finished (or waiting) delivery again now, as a new round of retries."""
        res = conn.execute(d.update().where(d.c.id == delivery_id,
                                            d.c.state != DeliveryState.SENDING.value)
                           .values(state=DeliveryState.PENDING.value, tries=0,
                                   next_attempt_ms=now))
        return res.rowcount == 1

    def oldest_open_ms(self, conn: Connection) -> int | None:
        """When the oldest delivery still to be made was created (None with none)."""
        value = conn.execute(sa.select(sa.func.min(d.c.created_ms))
                             .where(d.c.state.in_(_OPEN))).scalar_one()
        return int(value) if value is not None else None

    def sweep(self, conn: Connection, before_ms: int) -> int:
        """Forget finished deliveries (and their attempts) last touched before before_ms."""
        old = sa.select(d.c.id).where(
            d.c.state.in_((DeliveryState.SUCCEEDED.value, DeliveryState.FAILED.value)),
            d.c.updated_ms < before_ms).limit(1000).scalar_subquery()
        ids = [r.id for r in conn.execute(sa.select(d.c.id).where(d.c.id.in_(old)))]
        if ids:
            conn.execute(webhook_attempts.delete().where(webhook_attempts.c.delivery_id.in_(ids)))
            conn.execute(d.delete().where(d.c.id.in_(ids)))
        return len(ids)
