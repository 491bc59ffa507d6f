"""Tenants and API keys: create, revoke, list, and resolve a presented key."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from sqlalchemy.exc import IntegrityError

from mediashelf.db.database import Database
from mediashelf.db.keys import KeyRepository
from mediashelf.domain import SYSTEM_TENANT_NAME, ApiKey, Tenant, now_ms, uuid7
from mediashelf.errors import BadRequest, NotFound, Unauthorized
from mediashelf.security import hash_api_key, key_display_prefix, new_api_key

log = logging.getLogger("mediashelf.keys")

_TOUCH_EVERY_MS = 60_000  # last-used time is kept to the minute: no write on every request


class KeyService:
    def __init__(self, db: Database, repo: KeyRepository) -> None:
        self._db, self._repo = db, repo
        self._reader = db.key_reader()
        self._touched: dict[str, int] = {}
        self._lock = threading.Lock()

    def ensure_tenant(self, name: str) -> Tenant:
        name = name.strip()
        if not name or len(name) > 128:
            raise BadRequest("tenant name must be 1-128 characters")
        if name.lower() == SYSTEM_TENANT_NAME:
            raise BadRequest(f"'{SYSTEM_TENANT_NAME}' is reserved for the shared library; "
                             "add to it with `mediashelf system import`")
        try:
            with self._db.write() as conn:
                tenant = self._repo.tenant_by_name(conn, name)
                if tenant is None:
                    tenant = Tenant(uuid7(), name, now_ms())
                    self._repo.insert_tenant(conn, tenant)
            return tenant
        except IntegrityError:  # another process created it at the same moment
            with self._db.read() as conn:
                found = self._repo.tenant_by_name(conn, name)
            if found is None:
                raise
            return found

    def create(self, tenant_name: str) -> tuple[str, ApiKey]:
        """A new key for the tenant (created if new); the plain key is returned only here."""
        tenant = self.ensure_tenant(tenant_name)
        plain = new_api_key()
        key = ApiKey(uuid7(), tenant.id, tenant.name, key_display_prefix(plain), now_ms())
        with self._db.write() as conn:
            self._repo.insert_key(conn, key, hash_api_key(plain))
        return plain, key

    def revoke(self, presented: str) -> ApiKey:
        """Revoke by the full key or by the prefix shown in `keys list`."""
        with self._db.write() as conn:
            found = self._repo.find(conn, key_hash=hash_api_key(presented))
            if not found:
                found = self._repo.find(conn, prefix=presented)
            if not found:
                raise NotFound("no such key")
            if len(found) > 1:
                raise BadRequest("that prefix matches several keys; give the full key")
            self._repo.revoke(conn, found[0].id, now_ms())
            return found[0]

    def list(self) -> list[ApiKey]:
        with self._db.read() as conn:
            return self._repo.list(conn)

    def resolve(self, presented: str | None) -> ApiKey:
        """The live key behind a presented secret, or Unauthorized."""
        key = _live(self._read(_digest(presented)))
        self._maybe_touch(key)
        return key

    async def resolve_async(self, presented: str | None) -> ApiKey:
        """As resolve(), on the event loop (see Database.key_reader): no thread-pool trip."""
        key = _live(await self._reader.lookup(_digest(presented)))
        if self._touch_due(key):  # a write, which may wait for SQLite's lock: not on the loop
            await asyncio.to_thread(self._touch, key)
        return key

    async def close(self) -> None:
        """Release the key reader's connections (on the loop they were used on)."""
        await self._reader.close()

    def _read(self, digest: str) -> ApiKey | None:
        with self._db.read_one() as conn:
            return self._repo.live_key(conn, digest)

    def _maybe_touch(self, key: ApiKey) -> None:
        if self._touch_due(key):
            self._touch(key)

    def _touch_due(self, key: ApiKey) -> bool:
        now = int(time.time() * 1000)
        with self._lock:
            if now - self._touched.get(str(key.id), 0) < _TOUCH_EVERY_MS:
                return False
            self._touched[str(key.id)] = now
            return True

    def _touch(self, key: ApiKey) -> None:
        # Bookkeeping only: a write that cannot be made (a full disk) must not fail the read.
        try:
            with self._db.write() as conn:
                self._repo.touch(conn, key.id, int(time.time() * 1000))
        except Exception:
            log.warning("key.touch_failed", exc_info=True, extra={"key_id": str(key.id)})


def _digest(presented: str | None) -> str:
    if not presented:
        raise Unauthorized("missing API key: send it in the x-api-key header")
    return hash_api_key(presented)


def _live(key: ApiKey | None) -> ApiKey:
    if key is None:
        raise Unauthorized("invalid or revoked API key")
    return key
