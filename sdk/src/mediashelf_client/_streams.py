"""GET /v1/events over httpx, for `Client` (blocking) and `AsyncClient` (asyncio): following
the stream with reconnects after the last id, and waiting on it for one asset. What the lines
and events mean is in `_events`, shared by both; only reading differs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager

import httpx

from mediashelf_client import _events as events
from mediashelf_client._core import AssetRef, Config
from mediashelf_client._errors import (
    APIConnectionError,
    MediashelfAPIError,
    ProcessingFailedError,
    error_for,
)
from mediashelf_client._events import Event
from mediashelf_client._models import Asset

_QUIET_S = 30.0  # a wait reopens a stream silent for this long (heartbeats are every 15 s)


def _request(http: httpx.Client | httpx.AsyncClient, config: Config, last: int | None,
             types: Sequence[str] | None, read: float | None) -> httpx.Request:
    return http.build_request("GET", events.PATH, params=events.request_params(types),
                              headers=events.request_headers(last),
                              timeout=httpx.Timeout(config.timeout, read=read))


@contextmanager
def _opened(http: httpx.Client, request: httpx.Request) -> Iterator[httpx.Response]:
    res = http.send(request, stream=True)
    try:
        yield res
    finally:
        res.close()


@asynccontextmanager
async def _aopened(http: httpx.AsyncClient,
                   request: httpx.Request) -> AsyncIterator[httpx.Response]:
    res = await http.send(request, stream=True)
    try:
        yield res
    finally:
        await res.aclose()


def _is_stream(res: httpx.Response) -> bool:
    return res.status_code < 300 and \
        res.headers.get("content-type", "").startswith("text/event-stream")


def _refusal(res: httpx.Response, body: bytes) -> MediashelfAPIError:
    if res.status_code >= 400:
        return error_for(res.status_code, body)
    return MediashelfAPIError("the server did not answer with an event stream",
                              res.status_code)


def _backoff(config: Config, failures: int) -> float:
    return float(min(config.retry_backoff * 2 ** failures, 8.0))


def follow(http: httpx.Client, config: Config, after: int | None,
           types: Sequence[str] | None, reconnect: bool) -> Iterator[Event]:
    last, failures = after, 0
    while True:
        try:
            with _opened(http, _request(http, config, last, types, None)) as res:
                if not _is_stream(res):
                    raise _refusal(res, res.read())
                failures = 0
                parser = events.Parser()
                for line in res.iter_lines():
                    event = parser.feed(line)
                    if event is not None:
                        last = event.id if event.id is not None else last
                        yield event
        except httpx.TransportError as exc:
            if not reconnect:
                raise APIConnectionError(f"the event stream was lost: {exc}") from exc
        if not reconnect:
            return
        failures += 1
        time.sleep(_backoff(config, failures))


async def afollow(http: httpx.AsyncClient, config: Config, after: int | None,
                  types: Sequence[str] | None, reconnect: bool) -> AsyncIterator[Event]:
    last, failures = after, 0
    while True:
        try:
            async with _aopened(http, _request(http, config, last, types, None)) as res:
                if not _is_stream(res):
                    raise _refusal(res, await res.aread())
                failures = 0
                parser = events.Parser()
                async for line in res.aiter_lines():
                    event = parser.feed(line)
                    if event is not None:
                        last = event.id if event.id is not None else last
                        yield event
        except httpx.TransportError as exc:
            if not reconnect:
                raise APIConnectionError(f"the event stream was lost: {exc}") from exc
        if not reconnect:
            return
        failures += 1
        await asyncio.sleep(_backoff(config, failures))


def _settled(asset: Asset) -> Asset | None:
    if asset.is_failed:
        raise ProcessingFailedError(asset)
    return asset if asset.is_ready else None


def _id(ref: AssetRef) -> str:
    return ref.id if isinstance(ref, Asset) else str(ref).strip()


def wait_ready(http: httpx.Client, config: Config, ref: AssetRef, deadline: float,
               look: Callable[[], Asset]) -> Asset | None:
    """The asset once READY, by the stream; None to poll instead (no stream, a failure, or
    time out: the poll then looks once more and says so)."""
    last: int | None = None
    asset_id = _id(ref)
    if not asset_id:
        return None
    while (left := deadline - time.monotonic()) > 0:
        read = max(0.1, min(left, _QUIET_S))
        try:
            with _opened(http, _request(http, config, last, events.FINAL, read)) as res:
                if not _is_stream(res):  # 404: a server without the stream (Argil)
                    return None
                # it may have finished before the stream began: look once, then listen
                done = _settled(look())
                if done is not None:
                    return done
                parser = events.Parser()
                for line in res.iter_lines():
                    event = parser.feed(line)
                    if event is not None:
                        last = event.id if event.id is not None else last
                        done = events.outcome(asset_id, event)
                        if done is not None:
                            return done
        except httpx.ReadTimeout:
            continue  # quiet for too long: look again, resuming after the last id
        except httpx.TransportError:
            return None
    return None


async def await_ready(http: httpx.AsyncClient, config: Config, ref: AssetRef, deadline: float,
                      look: Callable[[], Awaitable[Asset]]) -> Asset | None:
    """As wait_ready, awaited."""
    last: int | None = None
    asset_id = _id(ref)
    if not asset_id:
        return None
    while (left := deadline - time.monotonic()) > 0:
        read = max(0.1, min(left, _QUIET_S))
        try:
            async with _aopened(http, _request(http, config, last, events.FINAL, read)) as res:
                if not _is_stream(res):
                    return None
                done = _settled(await look())
                if done is not None:
                    return done
                parser = events.Parser()
                async for line in res.aiter_lines():
                    event = parser.feed(line)
                    if event is not None:
                        last = event.id if event.id is not None else last
                        done = events.outcome(asset_id, event)
                        if done is not None:
                            return done
        except httpx.ReadTimeout:
            continue
        except httpx.TransportError:
            return None
    return None
