"""Table definitions, shared by the repositories and the first migration."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

tenants = sa.Table(
    "tenants", metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
)

api_keys = sa.Table(
    "api_keys", metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("revoked_ms", sa.BigInteger),
    sa.Column("last_used_ms", sa.BigInteger),
)

assets = sa.Table(
    "assets", metadata,
    sa.Column("id", sa.Uuid, primary_key=True),  # UUIDv7: its order is creation order
    sa.Column("tenant_id", sa.Uuid, sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("name", sa.String(256)),
    sa.Column("type", sa.String(8), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
    sa.Column("mime_type", sa.String(128)),
    sa.Column("size_bytes", sa.BigInteger),
    sa.Column("sha256", sa.String(64)),
    sa.Column("width", sa.Integer),
    sa.Column("height", sa.Integer),
    sa.Column("duration_ms", sa.BigInteger),
    sa.Column("has_audio", sa.Boolean),
    sa.Column("failure_reason", sa.Text),
    sa.Column("blurhash", sa.String(128)),
    sa.Column("source_url", sa.Text),
    sa.Column("original_name", sa.String(512)),
    sa.Column("file_key", sa.String(256)),
    sa.Column("thumb_key", sa.String(256)),
    sa.Column("thumb_mime", sa.String(64)),
    sa.Column("deleted_ms", sa.BigInteger),
    sa.Column("extra", sa.JSON, nullable=False, default=dict),
    sa.Column("declared_type", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("tags", sa.Text, nullable=False, server_default="[]"),  # a JSON array of strings
    # Not an Asset's fields: kept by AssetRepository from the name and tags (mediashelf.words).
    # search_text is what the text index holds (FTS5 on SQLite, a tsvector on PostgreSQL: made
    # by revision 0004, outside this metadata); name_key is what sort=name orders by.
    sa.Column("search_text", sa.Text, nullable=False, server_default=""),
    sa.Column("name_key", sa.Text, nullable=False, server_default=""),
    # The listing reads one range of this index per (owner, type, status) and merges them.
    sa.Index("ix_assets_list", "tenant_id", "type", "status", "id",
             sqlite_where=sa.text("deleted_ms IS NULL"),
             postgresql_where=sa.text("deleted_ms IS NULL")),
    sa.Index("ix_assets_deleted", "deleted_ms",
             sqlite_where=sa.text("deleted_ms IS NOT NULL"),
             postgresql_where=sa.text("deleted_ms IS NOT NULL")),
    # A tenant's live asset by its bytes (duplicates, ?sha256=) or by its import URL.
    sa.Index("ix_assets_sha256", "tenant_id", "sha256",
             sqlite_where=sa.text("deleted_ms IS NULL AND sha256 IS NOT NULL"),
             postgresql_where=sa.text("deleted_ms IS NULL AND sha256 IS NOT NULL")),
    sa.Index("ix_assets_source", "source_url", postgresql_using="hash",
             sqlite_where=sa.text("deleted_ms IS NULL AND source_url IS NOT NULL"),
             postgresql_where=sa.text("deleted_ms IS NULL AND source_url IS NOT NULL")),
)

# One row per tag of an asset, live or deleted (the tag filter checks deleted_ms on the asset).
asset_tags = sa.Table(
    "asset_tags", metadata,
    sa.Column("tag", sa.String(64), primary_key=True),
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("asset_id", sa.Uuid, primary_key=True),
    sa.Index("ix_asset_tags_asset", "asset_id"),
)

# Exact totals per (owner, type, status), changed in the same transaction as the asset rows,
# so X-Total-Count is a sum of at most 18 rows instead of a COUNT(*) over the library.
asset_counts = sa.Table(
    "asset_counts", metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("type", sa.String(8), primary_key=True),
    sa.Column("status", sa.String(12), primary_key=True),
    sa.Column("n", sa.BigInteger, nullable=False),
)

# The same counts per time bucket of the id's creation time, at a few nested widths (levels), so
# that the listing finds where page k starts by summing a few hundred rows, then seeks to it.
BUCKET_SHIFTS = (20, 26, 32)  # bucket = creation ms >> shift: ~17 minutes, ~19 hours, ~50 days

asset_buckets = sa.Table(
    "asset_buckets", metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("type", sa.String(8), primary_key=True),
    sa.Column("status", sa.String(12), primary_key=True),
    sa.Column("level", sa.SmallInteger, primary_key=True),
    sa.Column("bucket", sa.BigInteger, primary_key=True),
    sa.Column("n", sa.BigInteger, nullable=False),
)

# A number per (owner, type) that every write to such an asset raises, in the same transaction:
# equal numbers mean unchanged assets of that type, so a reply made at them can be served again.
type_versions = sa.Table(
    "type_versions", metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("type", sa.String(8), primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
)

jobs = sa.Table(
    "jobs", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("asset_id", sa.Uuid, sa.ForeignKey("assets.id", ondelete="CASCADE"),
              nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("run_after_ms", sa.BigInteger, nullable=False),
    sa.Column("lease_owner", sa.String(128)),
    sa.Column("lease_expires_ms", sa.BigInteger),
    sa.Column("last_error", sa.Text),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("traceparent", sa.String(64)),  # the queuing request's span (W3C), if traced
    sa.Index("ix_jobs_ready", "state", "run_after_ms"),
)

# The first answer to a POST sent with an Idempotency-Key, per tenant and key: `running` while
# the first request works (expires_ms is then its lease), `done` with the answer to replay.
idempotency_keys = sa.Table(
    "idempotency_keys", metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("state", sa.String(8), nullable=False),
    sa.Column("fingerprint", sa.String(64)),
    sa.Column("status", sa.Integer),
    sa.Column("body", sa.Text),
    sa.Column("headers", sa.JSON),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("expires_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_idempotency_expires", "expires_ms"),
)

# One row per running worker, beaten while it runs (busy or idle) and removed at a clean stop:
# what /readyz and /metrics count as live workers.
workers = sa.Table(
    "workers", metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("started_ms", sa.BigInteger, nullable=False),
    sa.Column("beat_ms", sa.BigInteger, nullable=False),
    sa.Column("concurrency", sa.Integer, nullable=False),
)

# Request budgets shared by every API process (services/limits.py): per bucket, the units handed
# out in its current window, which ends at expires_ms; `granted` is the last reservation's share.
rate_limits = sa.Table(
    "rate_limits", metadata,
    sa.Column("bucket", sa.String(160), primary_key=True),
    sa.Column("used", sa.BigInteger, nullable=False),
    sa.Column("granted", sa.BigInteger, nullable=False),
    sa.Column("expires_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_rate_limits_expires", "expires_ms"),
)

# Resumable (tus) uploads: any API process can take the next PATCH. `lock_token` is held by the
# request writing the upload; a lock whose request died runs out at `lock_expires_ms`.
uploads = sa.Table(
    "uploads", metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("length", sa.BigInteger, nullable=False),
    sa.Column("received", sa.BigInteger, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
    sa.Column("expires_ms", sa.BigInteger, nullable=False),
    sa.Column("metadata", sa.Text, nullable=False),
    sa.Column("name", sa.String(256)),
    sa.Column("filename", sa.String(512)),
    sa.Column("declared_type", sa.String(8)),
    sa.Column("content_type", sa.String(128)),
    sa.Column("dedupe", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("state", sa.JSON, nullable=False),
    sa.Column("asset_id", sa.Uuid),
    sa.Column("lock_token", sa.String(32)),
    sa.Column("lock_expires_ms", sa.BigInteger),
    sa.Index("ix_uploads_expires", "expires_ms"),
)

# Webhook endpoints per tenant (services/webhooks.py). `events` is ",asset.ready,asset.failed,"
# (or ",*,"): the fan-out matches it with LIKE on both databases. The secret signs; the old one
# signs beside it until old_secret_expires_ms after a rotation.
webhook_endpoints = sa.Table(
    "webhook_endpoints", metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("events", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("disabled_reason", sa.Text),
    sa.Column("secret", sa.String(128), nullable=False),
    sa.Column("old_secret", sa.String(128)),
    sa.Column("old_secret_expires_ms", sa.BigInteger),
    sa.Column("failing_since_ms", sa.BigInteger),
    sa.Column("failure_streak", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_webhook_endpoints_tenant", "tenant_id", "enabled"),
)

# One row per (event, endpoint): the delivery queue and its history. A test message carries its
# own payload; an event's is rendered from the events table when sent. `tries` counts the
# attempts of the current round (a manual retry starts a new one), `attempts` all of them.
webhook_deliveries = sa.Table(
    "webhook_deliveries", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("endpoint_id", sa.Uuid, sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("event_id", sa.BigInteger),
    sa.Column("message_id", sa.String(64), nullable=False),
    sa.Column("event_type", sa.String(32), nullable=False),
    sa.Column("asset_id", sa.Uuid),
    sa.Column("payload", sa.Text),
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("tries", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_ms", sa.BigInteger),
    sa.Column("lease_owner", sa.String(128)),
    sa.Column("lease_expires_ms", sa.BigInteger),
    sa.Column("response_code", sa.Integer),
    sa.Column("duration_ms", sa.Integer),
    sa.Column("response_body", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_webhook_deliveries_due", "state", "next_attempt_ms"),
    sa.Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
    sa.Index("ix_webhook_deliveries_order", "endpoint_id", "asset_id", "state"),
)

# Every attempt of a delivery, as GET /v1/webhooks/{id}/deliveries shows it.
webhook_attempts = sa.Table(
    "webhook_attempts", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("delivery_id", sa.BigInteger,
              sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False),
    sa.Column("started_ms", sa.BigInteger, nullable=False),
    sa.Column("response_code", sa.Integer),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Column("response_body", sa.Text),
    sa.Column("error", sa.Text),
    sa.Index("ix_webhook_attempts_delivery", "delivery_id"),
)

# The outbox: one row per asset event, written in the transaction of the change it reports.
# `id` orders a tenant's events (the SSE id, the webhooks' order; see db/events.py for why it
# is taken under a lock of the tenant's row); `asset` holds the asset's stored
# fields then (JSON), its links are signed when the event is sent. AUTOINCREMENT on SQLite:
# an id is never handed out twice, even after the sweep removed the newest rows.
events = sa.Table(
    "events", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("asset_id", sa.Uuid, nullable=False),
    sa.Column("type", sa.String(24), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("asset", sa.Text, nullable=False),
    sa.Index("ix_events_tenant", "tenant_id", "id"),
    sa.Index("ix_events_created", "created_ms"),
    sqlite_autoincrement=True,
)

meta = sa.Table(
    "meta", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

sa.Index("ix_jobs_lease", jobs.c.state, jobs.c.lease_expires_ms)
