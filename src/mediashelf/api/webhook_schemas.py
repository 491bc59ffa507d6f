"""Wire shapes of the webhook routes, for the OpenAPI document."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

EventName = Literal["asset.created", "asset.ready", "asset.failed", "asset.deleted",
                    "asset.restored", "asset.purged", "*"]


class WebhookCreate(BaseModel):
    """POST /v1/webhooks: these members and no others."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="https:// URL of the receiver (the URL imports' address policy)")
    events: list[EventName] = Field(min_length=1, description='Event types, or ["*"] for all')
    description: str = Field(default="", max_length=500)


class WebhookUpdate(BaseModel):
    """PATCH /v1/webhooks/{id}: any of these members."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = None
    events: list[EventName] | None = None
    enabled: bool | None = Field(default=None,
                                 description="true re-enables a disabled endpoint")
    description: str | None = Field(default=None, max_length=500)


class WebhookEndpoint(BaseModel):
    id: str = Field(json_schema_extra={"format": "uuid"})
    url: str
    events: list[EventName]
    description: str
    enabled: bool
    disabledReason: str | None = Field(description="Why the endpoint was disabled")
    failureStreak: int = Field(description="Failed attempts since the last success")
    failingSince: dt.datetime | None
    previousSecretExpiresAt: dt.datetime | None = Field(
        description="Until when the secret before the last rotation still signs")
    createdAt: dt.datetime
    updatedAt: dt.datetime


class WebhookWithSecret(WebhookEndpoint):
    secret: str = Field(description="whsec_…: shown only here (creation and rotation)")


class Attempt(BaseModel):
    at: dt.datetime
    responseCode: int | None
    durationMs: int
    response: str | None = Field(description="The first 1 KB of the answer")
    error: str | None


class Delivery(BaseModel):
    id: str
    webhookId: str = Field(description="The webhook-id header: the same on every attempt")
    eventType: str
    assetId: str | None
    status: Literal["pending", "sending", "succeeded", "failed"]
    attempts: int
    responseCode: int | None
    durationMs: int | None
    response: str | None = Field(description="The first 1 KB of the last answer")
    error: str | None
    nextAttemptAt: dt.datetime | None
    createdAt: dt.datetime
    updatedAt: dt.datetime
    history: list[Attempt]
