"""WebhookRepository: every statement about webhook endpoints (deliveries: db/deliveries.py)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mediashelf.db.schema import (
    tenants,
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
)
from mediashelf.domain import WebhookEndpoint

ep = webhook_endpoints
# Built once: the deliverer runs it on every turn with a success.
_SUCCEEDED = (ep.update().where(ep.c.id.in_(sa.bindparam("ids", expanding=True)),
                                ep.c.failure_streak != 0)
              .values(failure_streak=0, failing_since_ms=None))


def events_column(events: list[str]) -> str:
    """The stored form of a subscription: ",asset.ready,asset.failed," (LIKE-able anywhere)."""
    return "," + ",".join(events) + ","


def to_endpoint(row: Any) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=row.id, tenant_id=row.tenant_id, url=row.url,
        events=[e for e in row.events.split(",") if e], description=row.description,
        enabled=bool(row.enabled), disabled_reason=row.disabled_reason, secret=row.secret,
        old_secret=row.old_secret, old_secret_expires_ms=row.old_secret_expires_ms,
        failing_since_ms=row.failing_since_ms, failure_streak=row.failure_streak,
        created_ms=row.created_ms, updated_ms=row.updated_ms)


class WebhookRepository:
    def count(self, conn: Connection, tenant_id: uuid.UUID) -> int:
        """The tenant's endpoints, its row locked until commit (PostgreSQL) so that two
        creations at once cannot both pass the limit."""
        conn.execute(sa.select(tenants.c.id).where(tenants.c.id == tenant_id).with_for_update())
        return int(conn.execute(sa.select(sa.func.count()).select_from(ep)
                                .where(ep.c.tenant_id == tenant_id)).scalar_one())

    def add(self, conn: Connection, endpoint: WebhookEndpoint) -> None:
        conn.execute(ep.insert().values(
            id=endpoint.id, tenant_id=endpoint.tenant_id, url=endpoint.url,
            events=events_column(endpoint.events), description=endpoint.description,
            enabled=endpoint.enabled, secret=endpoint.secret, failure_streak=0,
            created_ms=endpoint.created_ms, updated_ms=endpoint.updated_ms))

    def get(self, conn: Connection, tenant_id: uuid.UUID,
            endpoint_id: uuid.UUID) -> WebhookEndpoint | None:
        row = conn.execute(sa.select(ep).where(ep.c.id == endpoint_id,
                                               ep.c.tenant_id == tenant_id)).first()
        return to_endpoint(row) if row else None

    def by_id(self, conn: Connection, endpoint_id: uuid.UUID) -> WebhookEndpoint | None:
        row = conn.execute(sa.select(ep).where(ep.c.id == endpoint_id)).first()
        return to_endpoint(row) if row else None

    def of_tenant(self, conn: Connection, tenant_id: uuid.UUID) -> list[WebhookEndpoint]:
        rows = conn.execute(sa.select(ep).where(ep.c.tenant_id == tenant_id)
                            .order_by(ep.c.created_ms, ep.c.id))
        return [to_endpoint(r) for r in rows]

    def update(self, conn: Connection, endpoint_id: uuid.UUID, **values: Any) -> None:
        if "events" in values:
            values["events"] = events_column(values["events"])
        conn.execute(ep.update().where(ep.c.id == endpoint_id).values(**values))

    def delete(self, conn: Connection, endpoint_id: uuid.UUID) -> None:
        """The endpoint, its deliveries and their attempts (no reliance on FK cascades)."""
        mine = sa.select(webhook_deliveries.c.id).where(
            webhook_deliveries.c.endpoint_id == endpoint_id)
        conn.execute(webhook_attempts.delete().where(webhook_attempts.c.delivery_id.in_(mine)))
        conn.execute(webhook_deliveries.delete().where(
            webhook_deliveries.c.endpoint_id == endpoint_id))
        conn.execute(ep.delete().where(ep.c.id == endpoint_id))

    def many(self, conn: Connection, ids: Collection[uuid.UUID]) -> dict[uuid.UUID,
                                                                        WebhookEndpoint]:
        """These endpoints by id (those still there)."""
        if not ids:
            return {}
        return {r.id: to_endpoint(r) for r in conn.execute(sa.select(ep).where(ep.c.id.in_(ids)))}

    def succeeded(self, conn: Connection, endpoint_ids: Collection[uuid.UUID]) -> None:
        """A 2xx to each of these: their failure streaks end."""
        if endpoint_ids:
            conn.execute(_SUCCEEDED, {"ids": list(endpoint_ids)})

    def failed(self, conn: Connection, endpoint_id: uuid.UUID, now: int) -> WebhookEndpoint | None:
        """One more failure in the streak; the endpoint as it is now."""
        conn.execute(ep.update().where(ep.c.id == endpoint_id).values(
            failure_streak=ep.c.failure_streak + 1,
            failing_since_ms=sa.func.coalesce(ep.c.failing_since_ms, now)))
        return self.by_id(conn, endpoint_id)

    def streaks(self, conn: Connection) -> list[tuple[uuid.UUID, int]]:
        """Endpoints failing right now and their streaks (the /metrics gauge)."""
        rows = conn.execute(sa.select(ep.c.id, ep.c.failure_streak)
                            .where(ep.c.failure_streak > 0).order_by(ep.c.id).limit(1000))
        return [(r.id, int(r.failure_streak)) for r in rows]
