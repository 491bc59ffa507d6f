"""Resumable uploads (tus 1.0) without I/O, as the other operations in _core: create the upload,
PATCH it chunk by chunk, and after a dropped connection, a restarted server or a 409/423 ask
its offset (HEAD) and go on from there. The last PATCH answers the asset's id (X-Asset-Id).

`ResumeStore` keeps each file's upload URL (by path, size and mtime), so that a new run of the
same upload, after the process itself was stopped, resumes instead of starting over.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

import httpx

from mediashelf_client._core import Call, Config, Op, ProgressCallback, Sleep, _new_key, send
from mediashelf_client._errors import APIConnectionError, MediashelfAPIError, error_for
from mediashelf_client._files import cache_dir

THRESHOLD = 16 * 2**20  # files above this go with tus
CHUNK_SIZE = 8 * 2**20
_TUS = {"tus-resumable": "1.0.0"}
UrlCallback = Callable[[str | None], None]
_AGAIN = frozenset({409, 423, 429, 500, 502, 503, 504})  # ask the offset, then go on


class ResumeStore:
    """Upload URLs by file (absolute path, size, mtime) in a small JSON file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @staticmethod
    def key(file: Path, base_url: str) -> str:
        info = file.stat()
        return f"{base_url}|{file.resolve()}|{info.st_size}|{info.st_mtime_ns}"

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def get(self, key: str) -> str | None:
        return self._read().get(key)

    def put(self, key: str, url: str | None) -> None:
        data = self._read()
        if url is None:
            data.pop(key, None)
        else:
            data[key] = url
        with contextlib.suppress(OSError):  # a read-only cache only costs the resume
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data), "utf-8")
            os.replace(tmp, self.path)


def default_store() -> ResumeStore:
    """uploads.json in the client's cache folder (MEDIASHELF_CACHE_DIR, default
    $XDG_CACHE_HOME/mediashelf or ~/.cache/mediashelf), beside the digest cache."""
    return ResumeStore(cache_dir() / "uploads.json")


def _metadata(pairs: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


def _resolve(config: Config, location: str) -> str:
    """Location as httpx should reach it: relative to the base URL when it is on it."""
    if location.startswith(config.base_url + "/"):
        return location[len(config.base_url):]
    return location


def upload(config: Config, fh: IO[bytes], total: int, filename: str, name: str | None,
           type_: str | None, progress: ProgressCallback | None, *,
           chunk_size: int = CHUNK_SIZE, resume_url: str | None = None,
           on_url: UrlCallback | None = None, patience: int = 12,
           dedupe: bool = True, tags: Sequence[str] = ()) -> Op[str]:
    """Send a seekable file with tus; the asset's id when done. `on_url(url)` is told the
    upload's URL as soon as it exists (None once finished), for a later run to resume. The
    creation carries an Idempotency-Key, so its retries make one upload, not several; with
    dedupe, bytes the library already holds end as that asset (the server decides at the end)."""
    url = resume_url
    offset = 0
    if url is not None:
        found = yield from _offset(config, url, total)
        if isinstance(found, str):  # that upload had finished: its asset
            _tell(on_url, None)
            return found
        if found is None:
            url = None
        else:
            offset = found
    if url is None:
        meta = {"filename": filename}
        if name:
            meta["name"] = name
        if type_:
            meta["type"] = type_.upper()
        if not dedupe:
            meta["dedupe"] = "false"
        if tags:
            meta["tags"] = ",".join(tags)
        created = yield from send(config, Call("POST", "/v1/uploads", headers={
            **_TUS, **_new_key(), "upload-length": str(total),
            "upload-metadata": _metadata(meta)}))
        url = _resolve(config, created.headers.get("location", ""))
        if not url:
            raise MediashelfAPIError("the server answered no upload location", 502)
        _tell(on_url, url)
    if progress is not None:
        progress(offset, total)
    failures = 0
    while True:
        fh.seek(offset)
        chunk = fh.read(chunk_size)
        outcome = yield Call("PATCH", url, content=chunk, replayable=False, headers={
            **_TUS, "upload-offset": str(offset),
            "content-type": "application/offset+octet-stream"})
        if isinstance(outcome, httpx.Response) and outcome.status_code == 204:
            offset = int(outcome.headers.get("upload-offset", offset + len(chunk)))
            failures = 0
            if progress is not None:
                progress(offset, total)
            asset_id: str | None = outcome.headers.get("x-asset-id")
            if asset_id:
                _tell(on_url, None)
                return str(asset_id)
            continue
        if isinstance(outcome, httpx.Response) and outcome.status_code not in _AGAIN:
            if outcome.status_code in (404, 410):
                _tell(on_url, None)
            raise error_for(outcome.status_code, outcome.content)
        failures += 1  # dropped, refused while busy, or the server is restarting
        if failures > patience:
            if isinstance(outcome, httpx.Response):
                raise error_for(outcome.status_code, outcome.content)
            raise APIConnectionError(f"cannot reach {config.base_url}: {outcome}") from outcome
        yield Sleep(min(config.retry_backoff * 2.0 ** min(failures, 4), 8.0))
        found = yield from _offset(config, url, total, patience)
        if isinstance(found, str):
            _tell(on_url, None)
            return found
        if found is None:
            raise MediashelfAPIError("the upload expired on the server; start it again", 410)
        offset = found


def _offset(config: Config, url: str, total: int, patience: int = 0
            ) -> Op[int | str | None]:
    """The upload's offset; its asset's id once finished; None if it is gone or another."""
    tries = 0
    while True:
        outcome = yield Call("HEAD", url, headers=dict(_TUS))
        if isinstance(outcome, httpx.Response):
            if outcome.status_code == 200:
                if outcome.headers.get("x-asset-id"):
                    return outcome.headers["x-asset-id"]
                if outcome.headers.get("upload-length") != str(total):
                    return None
                return int(outcome.headers.get("upload-offset", "0"))
            if outcome.status_code in (404, 410):
                return None
            if outcome.status_code not in _AGAIN:
                raise error_for(outcome.status_code, outcome.content)
        tries += 1
        if tries > patience:
            if isinstance(outcome, httpx.Response):
                raise error_for(outcome.status_code, outcome.content)
            raise APIConnectionError(f"cannot reach {config.base_url}: {outcome}") from outcome
        yield Sleep(min(config.retry_backoff * 2.0 ** min(tries, 4), 8.0))


def _tell(on_url: UrlCallback | None, url: str | None) -> None:
    if on_url is not None:
        on_url(url)
