"""Idempotency keys (draft-ietf-httpapi-idempotency-key-header): the first answer to a POST is
kept per tenant and key, in the database so that every API process sees it.

A request with a key first claims it. A new key (or an expired one) is the caller's to answer;
a key whose first request is still running is a 409; a done key is replayed if the request is
the same one (equal fingerprints), else it is a 422. The fingerprint is known only once the body
has been read (an upload's bytes are hashed as they stream), so the caller checks it then.

What is kept: 2xx answers and the 4xx answers that the same request would get again. Not kept
(the key is given back, so a retry runs anew): 5xx, 409 and 429, and requests that failed before
their body could be read whole (no fingerprint to compare a retry with).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field

from mediashelf.db.database import Database
from mediashelf.db.idempotency import DONE, IdempotencyRepository, KeptAnswer
from mediashelf.domain import now_ms
from mediashelf.errors import BadRequest, Conflict, Unprocessable

log = logging.getLogger("mediashelf.idempotency")

MAX_KEY_LENGTH = 255
_NOT_KEPT = frozenset({409, 429})


def parse_key(raw: str | None) -> str | None:
    """The key of an Idempotency-Key header (an sf-string, or the bare token most clients
    send), None without one; BadRequest if it is empty, too long or not printable ASCII."""
    if raw is None:
        return None
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
        if '"' in value.replace('\\"', "") or value.endswith("\\"):
            raise BadRequest("invalid Idempotency-Key: a quoted key must escape its quotes")
        value = value.replace('\\"', '"').replace("\\\\", "\\")
    if not value:
        raise BadRequest("invalid Idempotency-Key: it is empty")
    if len(value) > MAX_KEY_LENGTH:
        raise BadRequest(f"invalid Idempotency-Key: longer than {MAX_KEY_LENGTH} characters")
    if not all(" " <= c <= "~" for c in value):
        raise BadRequest("invalid Idempotency-Key: only printable ASCII characters are allowed")
    return value


@dataclass(slots=True)
class Answer:
    """An answer as kept and replayed: status, JSON body, the headers worth repeating."""

    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)


class Replayed(Exception):  # not an error: the way out of a request answered before
    """The request was answered before under its key: unwind, and send this answer again."""

    def __init__(self, answer: Answer) -> None:
        super().__init__("replayed")
        self.answer = answer


@dataclass(slots=True)
class Claim:
    """One request's hold on its key."""

    tenant_id: uuid.UUID
    key: str
    kept: KeptAnswer | None  # the done answer of the first request, or None: ours to give
    fingerprint: str | None = None
    _renewed: float = field(default_factory=time.monotonic)

    def check(self, fingerprint: str) -> None:
        """Record what the request is; raise Replayed if it was answered before, or
        Unprocessable if the key was used for another request."""
        self.fingerprint = fingerprint
        if self.kept is None:
            return
        if self.kept.fingerprint != fingerprint:
            raise Unprocessable("this Idempotency-Key was already used for a different request; "
                                "use a new key for a new request")
        raise Replayed(Answer(self.kept.status or 200, self.kept.body or "",
                              dict(self.kept.headers)))


class IdempotencyService:
    def __init__(self, db: Database, repo: IdempotencyRepository, ttl_s: float,
                 lease_s: float) -> None:
        self._db, self._repo = db, repo
        self._ttl_ms = int(ttl_s * 1000)
        self._lease_ms = int(lease_s * 1000)
        self._renew_every = lease_s / 3

    def begin(self, tenant_id: uuid.UUID, key: str) -> Claim:
        """Claim the key; Conflict while another request holds it."""
        with self._db.write() as conn:
            kept = self._repo.claim(conn, tenant_id, key, now_ms(), self._lease_ms)
        if kept is not None and kept.state != DONE:
            raise Conflict("a request with this Idempotency-Key is still being processed; "
                           "try again when it has finished")
        return Claim(tenant_id, key, kept)

    def renewal_due(self, claim: Claim) -> bool:
        """Whether keep_alive has anything to do (cheap: no I/O)."""
        return claim.kept is None and time.monotonic() - claim._renewed >= self._renew_every

    def keep_alive(self, claim: Claim) -> None:
        """Extend the claim's lease now and then while a long upload streams in, so that a
        process that died mid-request frees its key after one lease, not after the request."""
        if not self.renewal_due(claim):
            return
        claim._renewed = time.monotonic()
        with self._db.write() as conn:
            self._repo.renew(conn, claim.tenant_id, claim.key, now_ms() + self._lease_ms)

    def settle(self, claim: Claim, answer: Answer | None) -> None:
        """Keep the answer for the key's time, or give the key back (see the module's rules)."""
        if claim.kept is not None:
            return
        with self._db.write() as conn:
            if answer is None or claim.fingerprint is None or answer.status >= 500 \
                    or answer.status in _NOT_KEPT:
                self._repo.release(conn, claim.tenant_id, claim.key)
                return
            self._repo.complete(conn, claim.tenant_id, claim.key, claim.fingerprint,
                                answer.status, answer.body, answer.headers,
                                now_ms() + self._ttl_ms)

    def purge_expired(self) -> int:
        """Drop the keys whose time is over (the worker's housekeeping)."""
        with self._db.write() as conn:
            removed = self._repo.purge(conn, now_ms())
        if removed:
            log.info("idempotency.purged", extra={"keys": removed})
        return removed
