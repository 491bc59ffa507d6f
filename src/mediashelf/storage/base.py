"""The storage interface: one protocol, a backend per URL scheme."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from mediashelf.storage.scratch import Swept

# (key, filename, content_type) -> the signed URL; see Storage.link_signer
LinkSigner = Callable[[str, str, str], str]


class StorageWriter(Protocol):
    """A streamed write: bytes go in as they come; nothing is visible until commit()."""

    def write(self, data: bytes) -> None: ...
    def commit(self) -> None: ...
    def abort(self) -> None: ...


class ResumableWriter(Protocol):
    """One object written over many requests, maybe by many processes. Between requests the
    database keeps the offset and `state` (small, JSON-able); what a request wrote past the
    last saved offset is dropped by the next one, so a request that dies leaves nothing wrong."""

    def write(self, data: bytes) -> None: ...
    def save(self) -> dict[str, Any]:
        """Make the bytes written so far durable; the state to keep with the new offset."""
    def complete(self) -> None:
        """Make the object visible at its key (all bytes written)."""
    def close(self) -> None:
        """Let go of open files; bytes written since the last save() are not kept."""


class Storage(Protocol):
    def writer(self, key: str, content_type: str | None = None) -> StorageWriter:
        """Start a streamed write of one object."""

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Write a small object at once."""

    def open(self, key: str) -> BinaryIO:
        """Open an object for reading; FileNotFoundError if absent."""

    def local_path(self, key: str) -> AbstractContextManager[Path]:
        """A local file with the object's bytes, for decoders that want a path."""

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int: ...

    def delete_prefix(self, prefix: str) -> None:
        """Remove every object under prefix; absent is fine."""

    def move_prefix(self, src: str, dst: str) -> None:
        """Move every object under src to dst (used to trash and restore an asset)."""

    def list_keys(self, prefix: str) -> Iterator[str]: ...

    def signed_url(self, key: str, *, filename: str, content_type: str, expires_at: int) -> str:
        """An absolute URL that serves the object without an API key until expires_at (unix s)."""

    def link_signer(self, expires_at: int) -> LinkSigner:
        """signed_url(key, filename=…, content_type=…, expires_at) as a function of
        (key, filename, content_type), for the many links of a listing: what their signatures
        share is worked out once."""

    def fixed_signer(self, expires_at: int, filename: str, content_type: str
                     ) -> Callable[[str], str]:
        """link_signer(expires_at) for links that share their filename and type (thumbnails),
        as a function of the key: what they share is escaped and laid out once."""

    def resume(self, key: str, offset: int, state: dict[str, Any]) -> ResumableWriter:
        """Go on writing a resumable object at `offset` (0 and {} for a new one);
        FileNotFoundError if the bytes saved so far are gone."""

    def drop_resumable(self, key: str) -> None:
        """Remove an unfinished resumable object: its bytes and any open multipart upload."""

    def ping(self) -> None:
        """Raise if the storage cannot be reached."""

    def sweep(self) -> Swept:
        """Remove the scratch files and unfinished uploads that no live writer owns."""
