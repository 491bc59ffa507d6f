"""The Python SDK: `Client` and `AsyncClient` for mediashelf and Argil-compatible v1 Assets APIs.

    from mediashelf_client import Client   # or: from mediashelf import Client

    with Client("http://127.0.0.1:8000", api_key="…") as ms:
        asset = ms.upload("clip.mp4", progress=lambda sent, total: print(sent, total))
        ready = ms.wait_until_ready(asset, timeout=120)
        for a in ms.iter_assets(type="VIDEO"):
            print(a.id, a.name, a.file_url)

Both clients run the same I/O-free operations from `_core`; only sending and sleeping differ.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx

from mediashelf_client import _core as core
from mediashelf_client import _streams as streams
from mediashelf_client._core import (
    AssetRef,
    FileSource,
    Op,
    Outcome,
    ProgressCallback,
    Resume,
    Sleep,
)
from mediashelf_client._errors import AuthenticationError, MediashelfAPIError
from mediashelf_client._events import Event
from mediashelf_client._files import HashCache, media_files
from mediashelf_client._models import Asset, AssetPage, BatchResult, FolderUpload
from mediashelf_client._webhooks import AsyncWebhooks, Webhooks

T = TypeVar("T")
Filter = str | Sequence[str] | None
PathLike = str | os.PathLike[str]
Results = list[BatchResult]  # named here: the clients' own `list` method hides the builtin


def _digests(files: Sequence[Path]) -> dict[Path, str]:
    cache = HashCache()
    try:
        return cache.digests(files)
    finally:
        cache.close()


def _http_args(config: core.Config) -> dict[str, Any]:
    return {"base_url": config.base_url, "headers": dict(config.headers),
            "timeout": httpx.Timeout(config.timeout), "follow_redirects": True}


def _request_args(call: core.Call) -> dict[str, Any]:
    return {"params": list(call.params) or None, "json": call.json, "data": call.data,
            "files": call.files, "headers": dict(call.headers) if call.headers else None,
            "content": call.content}


class Client:
    """A synchronous client; `transport=` takes any `httpx.BaseTransport` (tests, proxies)."""

    def __init__(self, base_url: str | None = None, api_key: str | None = None, *,
                 transport: httpx.BaseTransport | None = None, timeout: float = 30.0,
                 max_retries: int = 3, retry_backoff: float = 0.5,
                 tus_threshold: int = 16 * 2**20, tus_chunk_size: int = 8 * 2**20) -> None:
        self._config = core.make_config(base_url, api_key, timeout, max_retries, retry_backoff,
                                        tus_threshold, tus_chunk_size)
        self._http = httpx.Client(transport=transport, **_http_args(self._config))
        self.webhooks = Webhooks(self._config, self._run)

    @property
    def base_url(self) -> str:
        return self._config.base_url

    def _run(self, op: Op[T]) -> T:
        outcome: Outcome = None
        try:
            while True:
                try:
                    step = op.send(outcome)
                except StopIteration as done:
                    result: T = done.value
                    return result
                if isinstance(step, Sleep):
                    time.sleep(step.seconds)
                    outcome = None
                    continue
                try:
                    outcome = self._http.request(step.method, step.path, **_request_args(step))
                except httpx.TransportError as exc:
                    outcome = exc
        finally:
            op.close()

    def list(self, *, type: Filter = None, status: Filter = None, page: int = 1,
             page_size: int = 20, scope: str | None = None, q: str | None = None,
             tags: Filter = None, sort: str | None = None) -> AssetPage:
        """One page of assets (the server's default status filter is READY); `q` searches
        names and tags by word prefix, `tags` must all match, `sort` orders (e.g. "name")."""
        return self._run(core.list_page(self._config, type, status, page, page_size,
                                        core.Search(q, tags, sort, scope)))

    def iter_assets(self, *, type: Filter = None, status: Filter = None, page_size: int = 100,
                    scope: str | None = None, q: str | None = None, tags: Filter = None,
                    sort: str | None = None) -> Iterator[Asset]:
        """Every matching asset, fetching one page at a time as the iteration reaches it."""
        seen: set[str] = set()
        number = 1
        while True:
            page = self.list(type=type, status=status, page=number, page_size=page_size,
                             scope=scope, q=q, tags=tags, sort=sort)
            yield from core.unseen(page, seen)
            if not page.items or not page.has_next:
                return
            number += 1

    def get(self, asset: AssetRef) -> Asset:
        """One asset by id; NotFoundError if it does not exist for this key."""
        return self._run(core.get(self._config, asset))

    def delete(self, asset: AssetRef) -> None:
        """Delete an asset; NotFoundError if it does not exist for this key."""
        self._run(core.delete(self._config, asset))

    def update(self, asset: AssetRef, *, name: str | None = None,
               tags: Sequence[str] | None = None) -> Asset:
        """Rename an asset and/or replace its tags; PermissionDeniedError for system assets."""
        return self._run(core.update(self._config, asset, name, tags))

    def tag(self, asset: AssetRef, *, add: Sequence[str] = (),
            remove: Sequence[str] = ()) -> Asset:
        """Add and remove some of an asset's tags, keeping the others."""
        return self._run(core.tag(self._config, asset, add, remove))

    def batch_delete(self, assets: Sequence[AssetRef]) -> Results:
        """Delete many assets, each on its own; one result per distinct id."""
        return self._run(core.batch(self._config, "delete", assets))

    def batch_update(self, assets: Sequence[AssetRef], *, add_tags: Sequence[str] = (),
                     remove_tags: Sequence[str] = ()) -> Results:
        """Add and remove tags on many assets, each on its own; one result per distinct id."""
        return self._run(core.batch(self._config, "update", assets, add_tags, remove_tags))

    def trash(self, *, page: int = 1, page_size: int = 20) -> AssetPage:
        """Deleted assets within the grace period (newest deletion first), with purge times."""
        return self._run(core.trash_page(self._config, page, page_size))

    def restore(self, asset: AssetRef) -> Asset:
        """Bring back a deleted asset within the grace period."""
        return self._run(core.restore(self._config, asset))

    def upload(self, file: FileSource, *, name: str | None = None, type: str | None = None,
               progress: ProgressCallback | None = None, tags: Sequence[str] = (),
               dedupe: bool = True, resume: Resume | None = None) -> Asset:
        """Upload a path, a binary file object or bytes, streamed; `progress(sent, total)` per
        chunk. Bytes the library already holds answer that asset (unless dedupe=False). Files
        above `tus_threshold` go resumable (tus): a dropped connection or a restarted server
        costs only the chunk in flight; `resume` carries a URL from an earlier run."""
        return self._run(core.upload(self._config, file, name, type, progress, tags, dedupe,
                                     resume))

    def find_existing(self, digests: Sequence[str]) -> dict[str, Asset]:
        """This key's own PROCESSING or READY assets with these SHA-256 digests, by digest."""
        return self._run(core.find_existing(self._config, digests))

    def upload_dir(self, *paths: PathLike, type: str | None = None,
                   skip_existing: bool = True) -> FolderUpload:
        """Upload folders' media files (hidden ones skipped) and files; with skip_existing,
        files whose bytes the library already holds are not sent at all (their digests are
        remembered between runs, see HashCache, so a folder sent again is not even read)."""
        files = media_files([Path(p).expanduser() for p in paths])
        result = FolderUpload()
        held = {}
        if skip_existing and files:
            digests = _digests(files)
            found = self.find_existing(list(digests.values()))
            held = {f: found[d] for f, d in digests.items() if d in found}
        for f in files:
            if f in held:
                result.skipped.append((f, held[f]))
                continue
            try:
                result.uploaded.append((f, self.upload(f, type=type)))
            except AuthenticationError:
                raise
            except (MediashelfAPIError, OSError) as exc:
                result.failed.append((f, exc))
        return result

    def import_url(self, url: str, name: str, type: str, *, tags: Sequence[str] = (),
                   dedupe: bool = True) -> Asset:
        """Ask the server to fetch a file from a URL; the asset starts PROCESSING. A URL this
        library imported before and still holds answers that asset (unless dedupe=False)."""
        return self._run(core.import_url(self._config, url, name, type, tags, dedupe))

    def wait_until_ready(self, asset: AssetRef, *, timeout: float = 300.0,
                         poll_interval: float = 0.25) -> Asset:
        """Until READY, following the server's event stream (polling with backoff where the
        server has none, or it fails); ProcessingFailedError / WaitTimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        found = streams.wait_ready(self._http, self._config, asset, deadline,
                                   lambda: self._run(core.get(self._config, asset)))
        if found is not None:
            return found
        left = max(0.0, deadline - time.monotonic())
        return self._run(core.wait_until_ready(self._config, asset, left, poll_interval))

    def events(self, *, after: int | None = None, types: Sequence[str] | None = None,
               reconnect: bool = True) -> Iterator[Event]:
        """The tenant's asset events as they happen: after the event id `after`, else from
        now. A dropped stream is reopened after the last id seen, so none is lost (a `resync`
        event says some were too old to keep). NotFoundError where the server has no stream."""
        return streams.follow(self._http, self._config, after, types, reconnect)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class AsyncClient:
    """The asyncio client: the same methods as `Client`, awaited; `transport=` is async."""

    def __init__(self, base_url: str | None = None, api_key: str | None = None, *,
                 transport: httpx.AsyncBaseTransport | None = None, timeout: float = 30.0,
                 max_retries: int = 3, retry_backoff: float = 0.5,
                 tus_threshold: int = 16 * 2**20, tus_chunk_size: int = 8 * 2**20) -> None:
        self._config = core.make_config(base_url, api_key, timeout, max_retries, retry_backoff,
                                        tus_threshold, tus_chunk_size)
        self._http = httpx.AsyncClient(transport=transport, **_http_args(self._config))
        self.webhooks = AsyncWebhooks(self._config, self._run)

    @property
    def base_url(self) -> str:
        return self._config.base_url

    async def _run(self, op: Op[T]) -> T:
        outcome: Outcome = None
        try:
            while True:
                try:
                    step = op.send(outcome)
                except StopIteration as done:
                    result: T = done.value
                    return result
                if isinstance(step, Sleep):
                    await asyncio.sleep(step.seconds)
                    outcome = None
                    continue
                try:
                    outcome = await self._http.request(step.method, step.path,
                                                       **_request_args(step))
                except httpx.TransportError as exc:
                    outcome = exc
        finally:
            op.close()

    async def list(self, *, type: Filter = None, status: Filter = None, page: int = 1,
                   page_size: int = 20, scope: str | None = None, q: str | None = None,
                   tags: Filter = None, sort: str | None = None) -> AssetPage:
        """One page of assets (the server's default status filter is READY)."""
        return await self._run(core.list_page(self._config, type, status, page, page_size,
                                              core.Search(q, tags, sort, scope)))

    async def iter_assets(self, *, type: Filter = None, status: Filter = None,
                          page_size: int = 100, scope: str | None = None, q: str | None = None,
                          tags: Filter = None, sort: str | None = None
                          ) -> AsyncIterator[Asset]:
        """Every matching asset, fetching one page at a time as the iteration reaches it."""
        seen: set[str] = set()
        number = 1
        while True:
            page = await self.list(type=type, status=status, page=number, page_size=page_size,
                                   scope=scope, q=q, tags=tags, sort=sort)
            for asset in core.unseen(page, seen):
                yield asset
            if not page.items or not page.has_next:
                return
            number += 1

    async def get(self, asset: AssetRef) -> Asset:
        """One asset by id; NotFoundError if it does not exist for this key."""
        return await self._run(core.get(self._config, asset))

    async def delete(self, asset: AssetRef) -> None:
        """Delete an asset; NotFoundError if it does not exist for this key."""
        await self._run(core.delete(self._config, asset))

    async def update(self, asset: AssetRef, *, name: str | None = None,
                     tags: Sequence[str] | None = None) -> Asset:
        """Rename an asset and/or replace its tags; PermissionDeniedError for system assets."""
        return await self._run(core.update(self._config, asset, name, tags))

    async def tag(self, asset: AssetRef, *, add: Sequence[str] = (),
                  remove: Sequence[str] = ()) -> Asset:
        """Add and remove some of an asset's tags, keeping the others."""
        return await self._run(core.tag(self._config, asset, add, remove))

    async def batch_delete(self, assets: Sequence[AssetRef]) -> Results:
        """Delete many assets, each on its own; one result per distinct id."""
        return await self._run(core.batch(self._config, "delete", assets))

    async def batch_update(self, assets: Sequence[AssetRef], *, add_tags: Sequence[str] = (),
                           remove_tags: Sequence[str] = ()) -> Results:
        """Add and remove tags on many assets, each on its own; one result per distinct id."""
        return await self._run(core.batch(self._config, "update", assets, add_tags,
                                          remove_tags))

    async def trash(self, *, page: int = 1, page_size: int = 20) -> AssetPage:
        """Deleted assets within the grace period (newest deletion first), with purge times."""
        return await self._run(core.trash_page(self._config, page, page_size))

    async def restore(self, asset: AssetRef) -> Asset:
        """Bring back a deleted asset within the grace period."""
        return await self._run(core.restore(self._config, asset))

    async def upload(self, file: FileSource, *, name: str | None = None,
                     type: str | None = None, progress: ProgressCallback | None = None,
                     tags: Sequence[str] = (), dedupe: bool = True,
                     resume: Resume | None = None) -> Asset:
        """Upload a path, a binary file object or bytes, streamed; `progress(sent, total)` per
        chunk; dedupe and resumable (tus) above `tus_threshold`, as Client.upload."""
        return await self._run(core.upload(self._config, file, name, type, progress, tags,
                                            dedupe, resume))

    async def find_existing(self, digests: Sequence[str]) -> dict[str, Asset]:
        """This key's own PROCESSING or READY assets with these SHA-256 digests, by digest."""
        return await self._run(core.find_existing(self._config, digests))

    async def upload_dir(self, *paths: PathLike, type: str | None = None,
                         skip_existing: bool = True) -> FolderUpload:
        """Upload folders' media files (hidden ones skipped) and files; with skip_existing,
        files whose bytes the library already holds are not sent at all (their digests are
        remembered between runs, see HashCache, so a folder sent again is not even read)."""
        files = media_files([Path(p).expanduser() for p in paths])
        result = FolderUpload()
        held = {}
        if skip_existing and files:
            digests = await asyncio.to_thread(_digests, files)
            found = await self.find_existing(list(digests.values()))
            held = {f: found[d] for f, d in digests.items() if d in found}
        for f in files:
            if f in held:
                result.skipped.append((f, held[f]))
                continue
            try:
                result.uploaded.append((f, await self.upload(f, type=type)))
            except AuthenticationError:
                raise
            except (MediashelfAPIError, OSError) as exc:
                result.failed.append((f, exc))
        return result

    async def import_url(self, url: str, name: str, type: str, *, tags: Sequence[str] = (),
                         dedupe: bool = True) -> Asset:
        """Ask the server to fetch a file from a URL; the asset starts PROCESSING. A URL this
        library imported before and still holds answers that asset (unless dedupe=False)."""
        return await self._run(core.import_url(self._config, url, name, type, tags, dedupe))

    async def wait_until_ready(self, asset: AssetRef, *, timeout: float = 300.0,
                               poll_interval: float = 0.25) -> Asset:
        """As Client.wait_until_ready: the event stream, else polling with backoff."""
        deadline = time.monotonic() + timeout
        found = await streams.await_ready(self._http, self._config, asset, deadline,
                                          lambda: self._run(core.get(self._config, asset)))
        if found is not None:
            return found
        left = max(0.0, deadline - time.monotonic())
        return await self._run(core.wait_until_ready(self._config, asset, left, poll_interval))

    def events(self, *, after: int | None = None, types: Sequence[str] | None = None,
               reconnect: bool = True) -> AsyncIterator[Event]:
        """As Client.events, for `async for`."""
        return streams.afollow(self._http, self._config, after, types, reconnect)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()
