"""Replies: GET /v1/assets and /v1/assets/{id}, answered from this process's caches when the
assets they show have not changed, else read and kept: on a few threads, or on the event loop
itself (on SQLite a bounded read; on PostgreSQL every listing and asset read, awaited on its own
connections).

A cached reply is keyed by what it depends on: the tenant, the query, the hour its signed links
count from, and the versions of the (owner, type) pairs it lists, read with the request's key
(an asset's reply: its own owner's and type's). Every write raises the versions of the pairs it
changes in its own transaction, so a kept reply is never stale, and a write to one type or
tenant leaves the others' replies kept; a hit is answered on the event loop, without a trip
through the thread pool. Identical misses in flight are read once (services/flight.py).
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

import orjson
from starlette.responses import Response

from mediashelf.db.sql import AssetRow
from mediashelf.domain import ApiKey, AssetType, ListQuery, Page, RowForm, StoredRow
from mediashelf.errors import NotFound
from mediashelf.lru import BoundedLRU
from mediashelf.metrics import REPLIES
from mediashelf.services.assets import AssetService, Links
from mediashelf.services.flight import SingleFlight
from mediashelf.services.wire import row_to_wire

REPLY_BYTES_PER_ENTRY = 64 << 10  # a cache of N replies holds at most N x 64 KiB of them
WIRE_MEMO_ASSETS = 10_000  # listed assets' wire bytes kept per API process (~15 MB) ...
WIRE_MEMO_BYTES = 24 << 20  # ... and never more than this

if TYPE_CHECKING:  # psycopg is the postgres extra
    from mediashelf.db.async_reads import AsyncReads
    from mediashelf.db.local_reads import LocalReads

P = ParamSpec("P")
R = TypeVar("R")
Kept = tuple[bytes, list[tuple[bytes, bytes]]]  # a reply's body and its encoded headers
_COUNTED = {(kind, outcome): REPLIES.labels(kind, outcome)
            for kind in ("list", "get") for outcome in ("hit", "miss", "read")}


class Replay(Response):
    """A kept reply: its body and its headers as they were encoded the first time."""

    media_type = "application/json"

    def __init__(self, body: bytes, raw_headers: list[tuple[bytes, bytes]]) -> None:
        self.status_code, self.body, self.background = 200, body, None
        self.raw_headers = list(raw_headers)  # middleware (CORS) adds to a reply's own list


def _kept_size(kept: Kept) -> int:
    return len(kept[0]) + sum(len(k) + len(v) for k, v in kept[1])


class ReplyCache:
    """Replies by key, capped by count and by bytes (MEDIASHELF_LIST_CACHE entries)."""

    def __init__(self, entries: int) -> None:
        self._lru: BoundedLRU[Hashable, Kept] = BoundedLRU(
            entries, entries * REPLY_BYTES_PER_ENTRY, _kept_size)
        self.hits = 0  # replies served from here (seen by tests and the benchmark)

    def replay(self, key: Hashable) -> Response | None:
        hit = self._lru.get(key)
        if hit is None:
            return None
        self.hits += 1
        return Replay(*hit)

    def keep(self, key: Hashable, reply: Response) -> None:
        self._lru.put(key, _kept(reply))


def _kept(reply: Response) -> Kept:
    return bytes(reply.body), list(reply.raw_headers)


_Fragment = orjson.Fragment
_LINKS_AT, _LINKS_END = b',"fileUrl":', b',"createdAt":'  # the links sit between these


class WireMemo:
    """Listed assets' wire bytes, one entry per asset, each with the stored row it was made
    from and the links hour of its links: an equal row is served from it (never stale), its
    links signed again when the hour has changed. A listing whose reply cache missed because
    one asset changed, or because the hour turned, finds the others here.

    Once the memo is full, an asset is kept the second time it is listed, not the first (a
    doorkeeper, as in TinyLFU): keeping one costs more than writing it, and in a library far
    larger than the memo (a million assets browsed at random) most are listed once; so those
    cost what they cost without a memo, and the assets listed again and again still get in.
    While there is room, every asset is kept at once (a library the memo holds whole)."""

    def __init__(self, entries: int, max_bytes: int) -> None:
        self._lru: BoundedLRU[Hashable, _Made] = BoundedLRU(
            entries, max_bytes, lambda made: len(made.body) + 512)  # + the row, roughly
        self._seen: set[Hashable] = set()  # listed once since the last clearing
        self._seen_max = 4 * entries
        self._entries, self._max_bytes = entries, max_bytes

    def body(self, page: Page, epoch: int, links: Callable[[AssetRow], Links]) -> bytes:
        """The JSON array of the page's items, as orjson.dumps of their to_wire() writes it."""
        rows = cast(Sequence[AssetRow], page.rows)
        form = page.form
        found = self._lru.get_many(row.id for row in rows)
        seen = self._seen
        # while there is room nothing is pushed out: an asset is kept the first time
        room = len(self._lru) < self._entries and self._lru.nbytes < self._max_bytes * 0.9
        items: list[Any] = []
        made: list[tuple[Hashable, _Made]] = []
        for row, entry in zip(rows, found, strict=True):
            if entry is not None and entry.row == row:
                if entry.epoch != epoch:  # the same asset, its links of another hour
                    entry = entry.relinked(links(row), epoch)
                    made.append((row.id, entry))
                items.append(_Fragment(entry.body))
                continue
            assert form is not None  # a page with rows says how to read them
            if entry is None and not room and row.id not in seen:  # listed once: not kept
                seen.add(row.id)
                items.append(row_to_wire(row, form, links(row)))
                continue
            entry = _Made(row, epoch, orjson.dumps(row_to_wire(row, form, links(row))))
            made.append((row.id, entry))
            items.append(_Fragment(entry.body))
        if len(seen) > self._seen_max:
            seen.clear()
        if made:
            self._lru.put_many(made)
        return orjson.dumps(items)

    def __len__(self) -> int:
        """How many assets' bytes are kept."""
        return len(self._lru)

    def __contains__(self, asset_id: object) -> bool:
        return asset_id in self._lru


class _Made:
    """An asset's wire bytes, the row they were made from and the links hour of its links.

    A plain slotted class: a cold page makes a hundred, and a frozen dataclass's __init__
    (object.__setattr__ a field) cost a good part of a miss. Where the links sit in the bytes
    is looked up only when they are signed again, once an hour at most."""

    __slots__ = ("body", "epoch", "row")

    def __init__(self, row: StoredRow, epoch: int, body: bytes) -> None:
        self.row, self.epoch, self.body = row, epoch, body

    def relinked(self, links: Links, epoch: int) -> _Made:
        # In JSON text a string's own quotes are escaped, so these bytes are the keys' only
        # occurrences; "fileUrl" is the first key after name, "createdAt" the first after the
        # links.
        body = self.body
        at = body.index(_LINKS_AT)
        end = body.index(_LINKS_END, at)
        middle = (_LINKS_AT + orjson.dumps(links.file_url) + b',"thumbnailUrl":'
                  + orjson.dumps(links.thumbnail_url))
        return _Made(self.row, epoch, body[:at] + middle + body[end:])


class Replies:
    """The read side of /v1/assets for one API process (caches off when entries is 0)."""

    def __init__(self, assets: AssetService, entries: int, threads: int, *,
                 reads: AsyncReads | None = None, local: LocalReads | None = None) -> None:
        self._assets = assets
        # PostgreSQL: listings and assets awaited on the loop, on asynchronous connections
        # (they wait on the network, and a thread hand-off per statement cost more than they do)
        self._reads = reads
        # SQLite: reads on the driver's own connection of the thread (the loop's or a read
        # thread's), without the pool's checkout and transaction around them
        self._local = local
        # ... and on the event loop itself (local work that never waits on the network):
        # handing a request to a thread and back cost more CPU than a cold page of 20 does,
        # in GIL hand-offs. Only bounded reads (an asset; a listing by date: counts, at most
        # three bucket sums and a page by index); searches and other orders, whose deep pages
        # read many rows, stay on threads, where SQLite works without the GIL meanwhile.
        self._on_loop = local is not None
        self._lists = ReplyCache(entries) if entries else None
        self._gets = ReplyCache(entries) if entries else None
        # which of ApiKey.versions an asset's reply depends on: its owner's and type's
        self._slots: BoundedLRU[Hashable, int] = BoundedLRU(max(entries, 1),
                                                             max(entries, 1) * 128,
                                                             lambda _slot: 128)
        self._memo = WireMemo(WIRE_MEMO_ASSETS, WIRE_MEMO_BYTES) if entries else None
        # The read threads: a plain executor, whose hand-off costs a fraction of anyio's
        # to_thread (its limiter and cancel scopes) with many requests in flight.
        self.threads = ThreadPoolExecutor(threads, thread_name_prefix="mediashelf-read")
        # misses in flight by their reply key (with the caches on: off, every request reads)
        self.list_reads: SingleFlight[Kept] = SingleFlight()
        self.get_reads: SingleFlight[Kept] = SingleFlight()

    async def listing(self, key: ApiKey, query: ListQuery) -> Response:
        """A page of the listing, with the pagination headers."""
        on_loop = self._on_loop and query.bounded
        if self._lists is None:
            if on_loop:
                return self._list(key, query)
            return await self._read_list(key, query)
        reply_key = (key.tenant_id, query, self._assets.links_epoch(),
                     query.versions(key.versions))
        hit = self._lists.replay(reply_key)
        if hit is not None:
            _COUNTED["list", "hit"].inc()
            return hit
        _COUNTED["list", "miss"].inc()
        if on_loop:  # nothing else runs meanwhile: the next identical request finds it kept
            _COUNTED["list", "read"].inc()
            return self._list(key, query)

        # A request that joins a read in flight has the same versions as its leader: nothing
        # it lists changed between the two key reads, so the leader's read is fresh enough.
        async def read() -> Kept:
            _COUNTED["list", "read"].inc()
            return _kept(await self._read_list(key, query))

        return Replay(*await self.list_reads.run(reply_key, read))

    async def _read_list(self, key: ApiKey, query: ListQuery) -> Response:
        """A listing read where it costs least: awaited on the loop (PostgreSQL), or on a
        read thread."""
        if self._reads is None:
            return await self._off_loop(self._list, key, query)
        page = await self._reads.listing(
            functools.partial(self._assets.list_steps, key.tenant_id, query),
            functools.partial(self._assets.list_guess, key.tenant_id, query,
                              query.versions(key.versions)))
        return self._reply(key, query, page)

    async def asset(self, key: ApiKey, asset_id: uuid.UUID) -> Response:
        """One asset the tenant sees (its own or the system library's)."""
        # pipelines poll an asset until it is READY: kept like listings, at the version of
        # its owner's type (known once it was read)
        epoch = self._assets.links_epoch()
        if self._gets is None:
            if self._on_loop:
                return self._get(key, asset_id, epoch)
            return await self._read_asset(key, asset_id, epoch)
        slot = self._slots.get((key.tenant_id, asset_id))
        if slot is not None:
            hit = self._gets.replay((key.tenant_id, asset_id, epoch, slot, key.versions[slot]))
            if hit is not None:
                _COUNTED["get", "hit"].inc()
                return hit
        _COUNTED["get", "miss"].inc()
        if self._on_loop:
            _COUNTED["get", "read"].inc()
            return self._get(key, asset_id, epoch)

        async def read() -> Kept:
            _COUNTED["get", "read"].inc()
            return _kept(await self._read_asset(key, asset_id, epoch))

        return Replay(*await self.get_reads.run((key.tenant_id, asset_id, epoch, key.versions),
                                                read))

    async def _read_asset(self, key: ApiKey, asset_id: uuid.UUID, epoch: int) -> Response:
        """An asset read where it costs least: awaited on the loop (PostgreSQL), or on a read
        thread."""
        if self._reads is None:
            return await self._off_loop(self._get, key, asset_id, epoch)
        step, form = self._assets.get_read(key.tenant_id, asset_id)
        return self._found(key, asset_id, epoch, await self._reads.rows(step), form)

    async def _off_loop(self, read: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """read(*args) on a read thread; a caller that goes away leaves it to finish there."""
        return await asyncio.get_running_loop().run_in_executor(
            self.threads, functools.partial(read, *args, **kwargs))

    async def close(self) -> None:
        """End the reads once those under way are done (before the pools close)."""
        self.threads.shutdown(wait=True)
        if self._reads is not None:
            await self._reads.close()
        if self._local is not None:
            self._local.close()

    def _list(self, key: ApiKey, query: ListQuery) -> Response:
        if self._local is None:
            return self._reply(key, query, self._assets.list(key.tenant_id, query))
        page = self._local.listing(
            functools.partial(self._assets.list_steps, key.tenant_id, query),
            functools.partial(self._assets.list_guess, key.tenant_id, query,
                              query.versions(key.versions)))
        return self._reply(key, query, page)

    def _reply(self, key: ApiKey, query: ListQuery, page: Page) -> Response:
        epoch = self._assets.links_epoch()  # once: the body and its cache key share the hour
        links = self._assets.linker(self._assets.links_expiry(epoch))
        if self._memo is not None:
            body = self._memo.body(page, epoch, links)
        elif page.form is not None:
            form, rows = page.form, cast(Sequence[AssetRow], page.rows)
            body = orjson.dumps([row_to_wire(row, form, links(row)) for row in rows])
        else:
            body = b"[]"
        headers = {"X-Total-Count": str(page.total), "X-Page": str(query.page),
                   "X-Page-Size": str(query.page_size), "X-Total-Pages": str(page.total_pages)}
        reply = Response(body, media_type="application/json", headers=headers)
        if self._lists is not None:
            self._lists.keep((key.tenant_id, query, epoch, page.versions), reply)
        return reply

    def _get(self, key: ApiKey, asset_id: uuid.UUID, epoch: int) -> Response:
        if self._local is None:
            return self._asset_reply(key, asset_id, epoch,
                                     *self._assets.get_row(key.tenant_id, asset_id))
        step, form = self._assets.get_read(key.tenant_id, asset_id)
        return self._found(key, asset_id, epoch, self._local.rows(step), form)

    def _found(self, key: ApiKey, asset_id: uuid.UUID, epoch: int, rows: list[AssetRow],
               form: RowForm) -> Response:
        """The reply of get_read()'s rows: the asset, or NotFound if there is none."""
        if not rows:
            raise NotFound("asset not found")
        return self._asset_reply(key, asset_id, epoch, rows[0], form)

    def _asset_reply(self, key: ApiKey, asset_id: uuid.UUID, epoch: int, row: AssetRow,
                     form: RowForm) -> Response:
        """An asset's reply from its stored row, written as a listing writes its rows."""
        links = self._assets.links(row, expires=self._assets.links_expiry(epoch))
        reply = Response(orjson.dumps(row_to_wire(row, form, links)),
                         media_type="application/json")
        # The asset is read after the versions were, so it is at least as new as they say: a
        # reply kept under its type's version is never older than a fresh read at it would be
        # (a write that changes its type raises both types' versions).
        if self._gets is not None:
            slot = _slot(form.id_text(row.tenant_id) == str(key.tenant_id), AssetType(row.type))
            self._gets.keep((key.tenant_id, asset_id, epoch, slot, key.versions[slot]), reply)
            self._slots.put((key.tenant_id, asset_id), slot)
        return reply


_TYPES = tuple(AssetType)


def _slot(mine: bool, type_: AssetType) -> int:
    """Where ApiKey.versions holds the version of the type of an asset of the key's own
    library (mine) or of the system library's."""
    return (0 if mine else 1) * len(_TYPES) + _TYPES.index(type_)
