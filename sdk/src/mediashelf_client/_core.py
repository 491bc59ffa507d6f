"""The SDK without I/O: each operation is a generator that yields the HTTP calls and pauses it
needs and receives the outcomes, so `Client` and `AsyncClient` share every rule (paths, params,
retries, backoff, parsing, errors) and differ only in how they send a call and how they sleep.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import time
import uuid
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx

from mediashelf_client._errors import (
    APIConnectionError,
    MediashelfAPIError,
    NotFoundError,
    ProcessingFailedError,
    WaitTimeoutError,
    error_for,
)
from mediashelf_client._models import Asset, AssetPage, BatchResult
from mediashelf_client._version import __version__

T = TypeVar("T")
ProgressCallback = Callable[[int, "int | None"], None]
FileSource = str | os.PathLike[str] | IO[bytes] | bytes | bytearray | memoryview
AssetRef = str | Asset

DEFAULT_URL = "http://127.0.0.1:8000"
USER_AGENT = f"mediashelf-python/{__version__}"
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_IDEMPOTENT = frozenset({"GET", "HEAD", "DELETE"})
DIGESTS_PER_QUERY = 50  # sha256 values per listing request: a URL well under 8 KiB


@dataclass(frozen=True)
class Call:
    """One HTTP request to make; `replayable` is false when its body cannot be sent twice."""

    method: str
    path: str
    params: Sequence[tuple[str, str]] = ()
    json: Mapping[str, Any] | None = None
    data: Mapping[str, str] | None = None
    files: Mapping[str, Any] | None = None
    replayable: bool = True
    headers: Mapping[str, str] | None = None
    content: bytes | None = None

    @property
    def keyed(self) -> bool:
        """Sent with an Idempotency-Key: the server answers a repeat with the first answer."""
        return bool(self.headers and "Idempotency-Key" in self.headers)


@dataclass(frozen=True)
class Sleep:
    seconds: float


Step = Call | Sleep
Outcome = httpx.Response | httpx.TransportError | None
Op = Generator[Step, Outcome, T]


@dataclass(frozen=True)
class Config:
    """What both clients are built from: base URL, headers, timeout, retry policy, and when
    uploads go resumable (tus; files above tus_threshold bytes, 0 for never)."""

    base_url: str
    headers: Mapping[str, str]
    timeout: float
    max_retries: int
    retry_backoff: float
    max_backoff: float = 8.0
    jitter: Callable[[], float] = field(default=random.random, compare=False)
    tus_threshold: int = 16 * 2**20
    tus_chunk_size: int = 8 * 2**20


def make_config(base_url: str | None, api_key: str | None, timeout: float, max_retries: int,
                retry_backoff: float, tus_threshold: int = 16 * 2**20,
                tus_chunk_size: int = 8 * 2**20) -> Config:
    """Resolve the base URL and key (arguments first, then MEDIASHELF_URL / MEDIASHELF_API_KEY)."""
    given = base_url or os.environ.get("MEDIASHELF_URL") or DEFAULT_URL
    url = given.rstrip("/")
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 -- raises ValueError for a port that is no number
    except ValueError:
        valid = False
    if not valid:
        raise ValueError(f"base_url must be an http:// or https:// URL with a host, "
                         f"not {given!r}")
    if url.endswith("/v1"):  # Argil documents its base as https://api.argil.ai/v1
        url = url[: -len("/v1")]
    key = api_key if api_key is not None else os.environ.get("MEDIASHELF_API_KEY")
    headers = {"user-agent": USER_AGENT, "accept": "application/json"}
    if key:
        headers["x-api-key"] = key
    return Config(url, headers, timeout, max(0, max_retries), max(0.0, retry_backoff),
                  tus_threshold=max(0, tus_threshold), tus_chunk_size=max(1, tus_chunk_size))


def _retryable(call: Call, outcome: Outcome) -> bool:
    if not call.replayable:
        return False
    safe = call.method in _IDEMPOTENT or call.keyed  # a keyed POST is never done twice
    if isinstance(outcome, httpx.Response):
        if outcome.status_code == 429:  # refused before doing anything: safe for any method
            return True
        if outcome.status_code == 409 and call.keyed:  # the first try is still running
            return True
        return outcome.status_code in _RETRY_STATUSES and safe
    if isinstance(outcome, httpx.ConnectError | httpx.ConnectTimeout):
        return True  # nothing was sent
    return safe


def _new_key() -> dict[str, str]:
    """One Idempotency-Key per logical call, the same on each of its retries."""
    return {"Idempotency-Key": str(uuid.uuid4())}


def _delay(config: Config, attempt: int, outcome: Outcome) -> float:
    if isinstance(outcome, httpx.Response):
        after = outcome.headers.get("retry-after", "")
        if after.isascii() and after.isdigit():  # "²".isdigit() is true; int("²") fails
            return min(float(after), config.max_backoff * 4)
    base = min(config.retry_backoff * 2.0**attempt, config.max_backoff)
    return base * (0.5 + config.jitter() / 2)


def send(config: Config, call: Call) -> Op[httpx.Response]:
    """Make one call, retrying 429s, 5xx on reads and connection failures with backoff."""
    attempt = 0
    while True:
        outcome = yield call
        if isinstance(outcome, httpx.Response) and outcome.status_code < 400:
            return outcome
        if attempt < config.max_retries and _retryable(call, outcome):
            yield Sleep(_delay(config, attempt, outcome))
            attempt += 1
            continue
        if isinstance(outcome, httpx.Response):
            raise error_for(outcome.status_code, outcome.content)
        reason = type(outcome).__name__ if outcome is not None else "no reply"
        said = re.sub(r"^\[Errno -?[0-9]+\] ", "", str(outcome or ""))  # the OS's words only
        raise APIConnectionError(f"cannot reach {config.base_url}: {said or reason}"
                                 ) from outcome


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise MediashelfAPIError("the server's reply is not JSON (is base_url right?)",
                                 response.status_code) from None


def _asset(response: httpx.Response) -> Asset:
    data = _json(response)
    if not isinstance(data, dict) or "id" not in data:
        raise MediashelfAPIError("the server's reply is not an asset", response.status_code)
    return Asset.from_wire(data)


def _id_path(ref: AssetRef) -> str:
    asset_id = ref.id if isinstance(ref, Asset) else str(ref)
    if not asset_id.strip():
        raise NotFoundError("empty asset id", 404)
    return "/v1/assets/" + quote(asset_id.strip(), safe="")


def _values(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    return [str(v).strip().upper() for v in items if str(v).strip()]


def _header_int(response: httpx.Response, name: str) -> int | None:
    raw = response.headers.get(name, "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() else None


@dataclass(frozen=True)
class Search:
    """mediashelf's additions to a listing: words, tags (all must match), order, scope."""

    q: str | None = None
    tags: str | Sequence[str] | None = None
    sort: str | None = None
    scope: str | None = None

    def params(self) -> list[tuple[str, str]]:
        tags = [self.tags] if isinstance(self.tags, str) else list(self.tags or ())
        out = [("tag", t) for t in tags if t.strip()]
        out += [(k, v) for k, v in (("q", self.q), ("sort", self.sort), ("scope", self.scope))
                if v]
        return out


def list_page(config: Config, types: str | Sequence[str] | None,
              statuses: str | Sequence[str] | None, page: int, page_size: int,
              search: Search = Search()) -> Op[AssetPage]:
    """GET /v1/assets with the seed's parameters and ours; totals from the X-* headers."""
    params = [("type", t) for t in _values(types)] + [("status", s) for s in _values(statuses)]
    params += [("page", str(page)), ("pageSize", str(page_size)), *search.params()]
    return (yield from _page(config, "/v1/assets", params, page, page_size))


def trash_page(config: Config, page: int, page_size: int) -> Op[AssetPage]:
    """GET /v1/trash: deleted assets within the grace period, newest deletion first."""
    params = [("page", str(page)), ("pageSize", str(page_size))]
    return (yield from _page(config, "/v1/trash", params, page, page_size))


def _page(config: Config, path: str, params: list[tuple[str, str]], page: int,
          page_size: int) -> Op[AssetPage]:
    response = yield from send(config, Call("GET", path, params=params))
    data = _json(response)
    if not isinstance(data, list):
        raise MediashelfAPIError("the server's reply is not a list of assets",
                                 response.status_code)
    return AssetPage(
        items=tuple(Asset.from_wire(a) for a in data if isinstance(a, dict) and "id" in a),
        page=_header_int(response, "X-Page") or page,
        page_size=_header_int(response, "X-Page-Size") or page_size,
        total_count=_header_int(response, "X-Total-Count"),
        total_pages=_header_int(response, "X-Total-Pages"),
    )


def get(config: Config, ref: AssetRef) -> Op[Asset]:
    return _asset((yield from send(config, Call("GET", _id_path(ref)))))


def delete(config: Config, ref: AssetRef) -> Op[None]:
    yield from send(config, Call("DELETE", _id_path(ref)))


def update(config: Config, ref: AssetRef, name: str | None,
           tags: Sequence[str] | None) -> Op[Asset]:
    """PATCH an asset's name and/or its whole set of tags."""
    body: dict[str, Any] = {}
    if name is not None:
        body["name"] = name
    if tags is not None:
        body["tags"] = [tags] if isinstance(tags, str) else list(tags)
    return _asset((yield from send(config, Call("PATCH", _id_path(ref), json=body))))


def restore(config: Config, ref: AssetRef) -> Op[Asset]:
    return _asset((yield from send(config, Call("POST", _id_path(ref) + "/restore"))))


def _ids(refs: Sequence[AssetRef]) -> list[str]:
    return [r.id if isinstance(r, Asset) else str(r) for r in refs]


def batch(config: Config, action: str, refs: Sequence[AssetRef], add: Sequence[str] = (),
          remove: Sequence[str] = ()) -> Op[list[BatchResult]]:
    """POST /v1/assets/batch-delete or batch-update, 100 ids a request; a result per id."""
    ids, out = _ids(refs), []
    for start in range(0, len(ids), 100):
        body: dict[str, Any] = {"ids": ids[start:start + 100]}
        if action == "update":
            body.update(addTags=list(add), removeTags=list(remove))
        response = yield from send(config, Call("POST", f"/v1/assets/batch-{action}",
                                                json=body))
        data = _json(response)
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list):
            raise MediashelfAPIError("the server's reply is not a list of results",
                                     response.status_code)
        out += [BatchResult.from_wire(r) for r in results if isinstance(r, dict)]
    return out


def tag(config: Config, ref: AssetRef, add: Sequence[str],
        remove: Sequence[str]) -> Op[Asset]:
    """Add and remove some tags of one asset, keeping the others."""
    result = (yield from batch(config, "update", [ref], add, remove))[0]
    if not result.ok or result.asset is None:
        body = json.dumps({"code": result.code, "message": result.message or ""}).encode()
        raise error_for(result.code or 500, body)
    return result.asset


def import_url(config: Config, url: str, name: str, type_: str, tags: Sequence[str] = (),
               dedupe: bool = True) -> Op[Asset]:
    body: dict[str, Any] = {"url": url, "name": name, "type": type_.upper()}
    if tags:
        body["tags"] = list(tags)
    if not dedupe:
        body["dedupe"] = False
    call = Call("POST", "/v1/assets", json=body, headers=_new_key())
    return _asset((yield from send(config, call)))


def find_existing(config: Config, digests: Sequence[str]) -> Op[dict[str, Asset]]:
    """The key's own live (PROCESSING or READY) assets with these SHA-256 digests, by digest,
    asked DIGESTS_PER_QUERY at a time."""
    wanted = sorted({d.lower() for d in digests})
    found: dict[str, Asset] = {}
    for start in range(0, len(wanted), DIGESTS_PER_QUERY):
        batch = ",".join(wanted[start:start + DIGESTS_PER_QUERY])
        number = 1
        while True:
            params = [("sha256", batch), ("status", "PROCESSING,READY"), ("scope", "mine"),
                      ("page", str(number)), ("pageSize", "100")]
            response = yield from send(config, Call("GET", "/v1/assets", params=params))
            data = _json(response)
            items = [Asset.from_wire(a) for a in data if isinstance(a, dict) and "id" in a] \
                if isinstance(data, list) else []
            for asset in items:
                if asset.sha256:
                    found.setdefault(asset.sha256, asset)
            pages = _header_int(response, "X-Total-Pages") or 1
            if not items or number >= pages:
                break
            number += 1
    return found


def _length(raw: IO[bytes]) -> int | None:
    """The file's size without reading it (httpx sends a seekable file from its start)."""
    try:
        if not raw.seekable():
            return None
        here = raw.tell()
        end = raw.seek(0, os.SEEK_END)
        raw.seek(here)
        return end
    except (AttributeError, OSError, ValueError):
        return None


class _ProgressReader:
    """Wraps a binary file so httpx's multipart encoder reports each chunk it reads."""

    def __init__(self, raw: IO[bytes], progress: ProgressCallback | None) -> None:
        self._raw = raw
        self._progress = progress
        self._sent = 0
        self.total = _length(raw)

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size)
        if chunk:
            self._sent += len(chunk)
            if self._progress is not None:
                self._progress(self._sent, self.total)
        return chunk

    def seekable(self) -> bool:
        try:
            return self._raw.seekable()
        except (AttributeError, ValueError):
            return False

    def seek(self, offset: int, whence: int = 0) -> int:
        position = self._raw.seek(offset, whence)
        self._sent = position
        return position

    def tell(self) -> int:
        return self._raw.tell()


def upload(config: Config, source: FileSource, name: str | None, type_: str | None,
           progress: ProgressCallback | None, tags: Sequence[str] = (),
           dedupe: bool = True, resume: Resume | None = None) -> Op[Asset]:
    """POST a multipart upload of a path, a binary file or bytes, streamed in 64 KiB chunks,
    or (a seekable file above the tus threshold) a resumable upload, chunk by chunk."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = io.BytesIO(bytes(source))
        return (yield from _upload(config, data, name or "upload", name, type_, progress,
                                   tags, dedupe, resume))
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        with path.open("rb") as fh:
            return (yield from _upload(config, fh, path.name, name, type_, progress, tags,
                                       dedupe, resume))
    if isinstance(source, io.TextIOBase):
        raise TypeError("upload() needs a file opened in binary mode (open(path, 'rb'))")
    if not callable(getattr(source, "read", None)):
        raise TypeError("upload() takes a path, a binary file object or bytes, not "
                        f"{type(source).__name__}")
    filename = Path(str(getattr(source, "name", "") or "upload")).name
    return (yield from _upload(config, source, filename, name, type_, progress, tags, dedupe,
                               resume))


@dataclass(frozen=True)
class Resume:
    """Where a resumable upload was left (`url`), and who to tell its URL as it changes."""

    url: str | None = None
    on_url: Callable[[str | None], None] | None = None


def _upload(config: Config, fh: IO[bytes], filename: str, name: str | None,
            type_: str | None, progress: ProgressCallback | None, tags: Sequence[str] = (),
            dedupe: bool = True, resume: Resume | None = None) -> Op[Asset]:
    total = _length(fh)
    if total is not None and config.tus_threshold and total > config.tus_threshold:
        from mediashelf_client import _tus

        resume = resume or Resume()
        asset_id = yield from _tus.upload(
            config, fh, total, filename, name, type_, progress,
            chunk_size=config.tus_chunk_size, resume_url=resume.url, on_url=resume.on_url,
            dedupe=dedupe, tags=tags)
        return (yield from get(config, asset_id))
    reader = _ProgressReader(fh, progress)
    fields = {"name": name} if name else {}
    if type_:
        fields["type"] = type_.upper()
    if tags:
        fields["tags"] = ",".join(tags)
    if not dedupe:
        fields["dedupe"] = "false"
    call = Call("POST", "/v1/assets", data=fields, files={"file": (filename, reader)},
                replayable=reader.seekable(), headers=_new_key())
    return _asset((yield from send(config, call)))


def wait_until_ready(config: Config, ref: AssetRef, timeout: float, poll_interval: float,
                     max_interval: float = 5.0) -> Op[Asset]:
    """Poll until READY; FAILED raises ProcessingFailedError, time out WaitTimeoutError."""
    deadline = time.monotonic() + timeout
    interval = poll_interval
    while True:
        asset = yield from get(config, ref)
        if asset.is_ready:
            return asset
        if asset.is_failed:
            raise ProcessingFailedError(asset)
        left = deadline - time.monotonic()
        if left <= 0:
            raise WaitTimeoutError(f"asset {asset.id} still {asset.status} after {timeout:g} s")
        yield Sleep(min(interval, left))
        interval = min(interval * 1.5, max_interval)


def unseen(page: AssetPage, seen: set[str]) -> list[Asset]:
    """The page's assets not yet yielded (a listing can shift while it is walked)."""
    fresh = [a for a in page.items if a.id not in seen]
    seen.update(a.id for a in fresh)
    return fresh
