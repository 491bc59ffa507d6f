"""The vocabulary of mediashelf: asset types, statuses, jobs, and the records they describe."""

from __future__ import annotations

import enum
import functools
import os
import time
import uuid
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class AssetType(enum.StrEnum):
    AUDIO = "AUDIO"
    IMAGE = "IMAGE"
    VIDEO = "VIDEO"


class AssetStatus(enum.StrEnum):
    PROCESSING = "PROCESSING"
    READY = "READY"
    FAILED = "FAILED"


class EventType(enum.StrEnum):
    """What happened to a tenant's asset (the outbox, the SSE stream and the webhooks)."""

    CREATED = "asset.created"
    READY = "asset.ready"
    FAILED = "asset.failed"
    DELETED = "asset.deleted"
    RESTORED = "asset.restored"
    PURGED = "asset.purged"


class JobKind(enum.StrEnum):
    PROCESS = "process"  # probe, measure and thumbnail a stored original
    IMPORT = "import"  # download from a URL, then process


class JobState(enum.StrEnum):  # a finished job's row is removed
    QUEUED = "queued"
    RUNNING = "running"


class JobOutcome(enum.StrEnum):  # a transient error is raised, and the worker retries the job
    DONE = "done"  # the asset reached a final status
    SKIPPED = "skipped"  # nothing to do (deleted, already final)


class Sort(enum.StrEnum):
    """A listing's order; each breaks ties by id in the same direction, so pages never overlap."""

    NEWEST = "-createdAt"
    OLDEST = "createdAt"
    NAME = "name"
    NAME_DESC = "-name"
    LARGEST = "-sizeBytes"
    LONGEST = "-durationMs"


class Scope(enum.StrEnum):
    """Whose assets a listing shows: the tenant's own, or the system library's (None: both)."""

    MINE = "mine"
    SYSTEM = "system"


SYSTEM_TENANT_ID = uuid.UUID("00000000-0000-7000-8000-000000000000")
SYSTEM_TENANT_NAME = "system"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def uuid7(ms: int | None = None) -> uuid.UUID:
    """A time-ordered UUID (RFC 9562 version 7) whose first 48 bits are the creation time in ms."""
    ts = now_ms() if ms is None else ms
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ts & 0xFFFF_FFFF_FFFF) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def uuid7_ms(value: uuid.UUID) -> int:
    """The creation time in ms carried by a UUIDv7."""
    return value.int >> 80


@dataclass(slots=True)
class Tenant:
    id: uuid.UUID
    name: str
    created_ms: int


@dataclass(slots=True)
class ApiKey:
    id: uuid.UUID
    tenant_id: uuid.UUID
    tenant_name: str
    prefix: str
    created_ms: int
    revoked_ms: int | None = None
    last_used_ms: int | None = None
    # The versions of the tenant's types, then the system library's (AssetType's order), read
    # with the key when a request resolves it: a cached reply made at the same versions of the
    # types it shows can be served as it is.
    versions: tuple[int, ...] = (0,) * 6


@dataclass(slots=True)
class Asset:
    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str | None
    type: AssetType
    status: AssetStatus
    created_ms: int
    updated_ms: int
    mime_type: str | None = None
    size_bytes: int | None = None
    sha256: str | None = None
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None
    has_audio: bool | None = None
    failure_reason: str | None = None
    blurhash: str | None = None
    source_url: str | None = None
    original_name: str | None = None
    file_key: str | None = None
    thumb_key: str | None = None
    thumb_mime: str | None = None
    deleted_ms: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The client named the type: processing fails the asset if the content is of another.
    declared_type: bool = False
    tags: list[str] = field(default_factory=list)  # trimmed, lower case, sorted, distinct

    @property
    def is_system(self) -> bool:
        return self.tenant_id == SYSTEM_TENANT_ID


@dataclass(slots=True)
class Upload:
    """A resumable (tus) upload: the asset it becomes has the same id, and its bytes the key."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    length: int
    received: int
    created_ms: int
    expires_ms: int
    metadata: str = ""  # the Upload-Metadata header as sent, answered again by HEAD
    name: str | None = None
    filename: str | None = None
    declared_type: AssetType | None = None
    content_type: str | None = None
    dedupe: bool = True  # bytes the tenant already holds end as that asset
    state: dict[str, Any] = field(default_factory=dict)  # the storage's (S3 upload id, parts)
    asset_id: uuid.UUID | None = None  # set by the final PATCH

    @property
    def key(self) -> str:
        return asset_prefix(self.id) + "original"


def asset_prefix(asset_id: uuid.UUID) -> str:
    """Every stored object of one asset lives under this prefix, so one call removes them all."""
    return f"assets/{asset_id}/"


def trash_prefix(asset_id: uuid.UUID) -> str:
    return f"trash/{asset_id}/"


@dataclass(slots=True)
class Job:
    id: int
    asset_id: uuid.UUID
    kind: JobKind
    attempts: int
    lease_owner: str | None = None
    traceparent: str | None = None  # the span of the request that queued it, if traced


_TYPES, _STATUSES = tuple(AssetType), tuple(AssetStatus)


@dataclass(frozen=True, slots=True)
class ListQuery:
    """One listing, normalised (types and statuses in their enums' order, no repeats), so equal
    queries mean equal replies: with the tenant, the links hour and the library versions it is
    the reply cache's key. Built once from the request and passed down to the SQL unchanged."""

    types: tuple[AssetType, ...] = tuple(AssetType)  # none given: every type
    statuses: tuple[AssetStatus, ...] = (AssetStatus.READY,)  # none given: READY
    scope: Scope | None = None
    page: int = 1
    page_size: int = 20
    # The search's folded words (words.query_words), each a word prefix; None: no search. An
    # empty tuple is a search with no words in it (only punctuation, say): it matches nothing.
    q: tuple[str, ...] | None = None
    tags: frozenset[str] = frozenset()  # all must be the asset's
    sort: Sort = Sort.NEWEST
    sha256: tuple[str, ...] = ()  # lowercase hex digests, sorted: any of them matches

    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        types = tuple(t for t in _TYPES if t in self.types) or _TYPES
        statuses = tuple(s for s in _STATUSES if s in self.statuses) or (AssetStatus.READY,)
        object.__setattr__(self, "types", types)
        object.__setattr__(self, "statuses", statuses)
        if self.page < 1 or self.page_size < 1:
            raise ValueError("page and page_size start at 1")
        object.__setattr__(self, "_hash", hash((types, statuses, self.scope, self.page,
                                                self.page_size, self.q, self.tags, self.sort,
                                                self.sha256)))

    def __hash__(self) -> int:  # kept: a cached reply's lookup hashes its key more than once
        return self._hash

    @property
    def bounded(self) -> bool:
        """Whether any page of it reads a bounded number of rows: by date, without a search or
        tags (counts, bucket sums and a seek; db/listing.py), or by digest."""
        return self.q is None and not self.tags and self.sort in (Sort.NEWEST, Sort.OLDEST)

    @property
    def offset(self) -> int:
        """Rows before this page."""
        return (self.page - 1) * self.page_size

    def owners(self, tenant_id: uuid.UUID) -> tuple[uuid.UUID, ...]:
        """The libraries listed, the tenant's before the system's."""
        if self.scope is Scope.MINE:
            return (tenant_id,)
        if self.scope is Scope.SYSTEM:
            return (SYSTEM_TENANT_ID,)
        return (tenant_id, SYSTEM_TENANT_ID)

    def versions(self, key_versions: tuple[int, ...]) -> tuple[int, ...]:
        """Of the versions read with a key (ApiKey.versions), those of the listed types of
        owners(), owner by owner: a write to another type or owner leaves them as they are."""
        return tuple(key_versions[i] for i in _version_slots(self.scope, self.types))


@functools.cache
def _version_slots(scope: Scope | None, types: tuple[AssetType, ...]) -> tuple[int, ...]:
    owners = (0,) if scope is Scope.MINE else (1,) if scope is Scope.SYSTEM else (0, 1)
    return tuple(o * len(_TYPES) + _TYPES.index(t) for o in owners for t in types)


class StoredRow(Hashable, Protocol):
    """An asset's row as the database returned it: equal rows, equal assets."""

    @property
    def id(self) -> Hashable: ...


@dataclass(slots=True, frozen=True)
class RowForm:
    """How a database's rows spell what the wire spells otherwise: a page's rows go to the
    wire as they were read, without becoming Assets first."""

    id_text: Callable[[Any], str]  # a returned id as str(UUID) spells it
    system_owner: Hashable  # the system library's tenant_id as returned


@dataclass(slots=True)
class Page:
    query: ListQuery
    total: int
    versions: tuple[int, ...] = ()  # the owners' library versions the page was read at
    rows: Sequence[StoredRow] = ()  # each listed asset's stored row as read
    form: RowForm | None = None  # how to read them (None: no rows)

    @property
    def total_pages(self) -> int:
        return -(-self.total // self.query.page_size)


# Webhooks: what an endpoint may subscribe to ("*" is all), and the test message's type.
WEBHOOK_EVENT_TYPES = tuple(t.value for t in EventType)
WEBHOOK_TEST_TYPE = "webhook.test"


class DeliveryState(enum.StrEnum):
    PENDING = "pending"  # waiting for its time (and for earlier deliveries of its asset)
    SENDING = "sending"  # leased by a worker
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # every retry of its round failed, or it could not be rendered


@dataclass(slots=True)
class WebhookEndpoint:
    id: uuid.UUID
    tenant_id: uuid.UUID
    url: str
    events: list[str]
    description: str
    enabled: bool
    disabled_reason: str | None
    secret: str
    old_secret: str | None
    old_secret_expires_ms: int | None
    failing_since_ms: int | None
    failure_streak: int
    created_ms: int
    updated_ms: int

    def previous_secret_until(self, now: int) -> int | None:
        """Until when the secret before the last rotation still signs; None once it does not
        (it is kept, unused, until the next rotation)."""
        expires = self.old_secret_expires_ms
        return expires if self.old_secret and expires is not None and expires > now else None


@dataclass(slots=True)
class Delivery:
    id: int
    endpoint_id: uuid.UUID
    tenant_id: uuid.UUID
    event_id: int | None
    message_id: str
    event_type: str
    asset_id: uuid.UUID | None
    payload: str | None
    state: DeliveryState
    attempts: int
    tries: int
    next_attempt_ms: int | None
    lease_owner: str | None
    response_code: int | None
    duration_ms: int | None
    response_body: str | None
    error: str | None
    created_ms: int
    updated_ms: int
