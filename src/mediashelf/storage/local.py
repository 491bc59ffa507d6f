"""Files under a local folder; atomic writes; URLs signed here and served by api/files.py."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote, quote_plus

from mediashelf.security import UrlSigner
from mediashelf.storage.base import LinkSigner
from mediashelf.storage.scratch import ScratchDir, ScratchFile, Swept
from mediashelf.storage.space import SpaceGuard, is_disk_full

_CHECK_EVERY = 1 << 20  # bytes written between two looks at the free space
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.~/-]*")  # what quote() leaves as it is (keys mostly)
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_.~ -]*")  # what quote_plus() leaves, but " " -> "+"


class LocalWriter:
    """A streamed write into a locked scratch file, moved into place by commit()."""

    def __init__(self, scratch: ScratchFile, final: Path, space: SpaceGuard | None) -> None:
        self._scratch, self._final, self._space = scratch, final, space
        self._unchecked = 0

    def write(self, data: bytes) -> None:
        if self._space is not None:
            self._unchecked += len(data)
            if self._unchecked >= _CHECK_EVERY:  # a large upload can fill the disk mid-way
                self._unchecked = 0
                self._space.check(len(data))
        self._scratch.write(data)

    def commit(self) -> None:
        self._scratch.keep_as(self._final)

    def abort(self) -> None:
        self._scratch.discard()


class LocalResumable:
    """Appends to `<key>.part` beside the final file; complete() renames it into place."""

    def __init__(self, partial: Path, final: Path, offset: int,
                 space: SpaceGuard | None) -> None:
        self._partial, self._final, self._space = partial, final, space
        self._unchecked = 0
        partial.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(partial, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._file: BinaryIO | None = os.fdopen(fd, "r+b")
        if os.fstat(fd).st_size < offset:
            self.close()
            raise FileNotFoundError("the saved bytes of this upload are gone")
        self._file.truncate(offset)  # past the offset: a request that died before its save
        self._file.seek(offset)

    def write(self, data: bytes) -> None:
        assert self._file is not None, "resumable write already closed"
        if self._space is not None:
            self._unchecked += len(data)
            if self._unchecked >= _CHECK_EVERY:
                self._unchecked = 0
                self._space.check(len(data))
        self._file.write(data)

    def save(self) -> dict[str, Any]:
        assert self._file is not None, "resumable write already closed"
        self._file.flush()
        os.fsync(self._file.fileno())
        return {}

    def complete(self) -> None:
        self.save()
        self.close()
        os.replace(self._partial, self._final)

    def close(self) -> None:
        fh, self._file = self._file, None
        if fh is not None:
            with contextlib.suppress(OSError):
                fh.close()


class LocalStorage:
    def __init__(self, root: Path, base_url: str, signer: UrlSigner,
                 space: SpaceGuard | None = None) -> None:
        self.root = root.absolute()
        self._tmp = self.root / ".tmp"
        self.scratch = ScratchDir(self._tmp)
        self._base_url = base_url
        self._signer = signer
        self._space = space

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts[:-1]) \
                or parts[-1] in (".", ".."):
            raise ValueError("invalid storage key")
        return self.root.joinpath(*[p for p in parts if p])

    def writer(self, key: str, content_type: str | None = None) -> LocalWriter:
        final = self._path(key)
        if self._space is not None:
            self._space.check()
        return LocalWriter(self.scratch.file(), final, self._space)

    def resume(self, key: str, offset: int, state: dict[str, Any]) -> LocalResumable:
        if self._space is not None:
            self._space.check()
        final = self._path(key)
        return LocalResumable(final.with_name(final.name + ".part"), final, offset, self._space)

    def drop_resumable(self, key: str) -> None:
        final = self._path(key)
        final.with_name(final.name + ".part").unlink(missing_ok=True)

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        if self._space is not None:
            self._space.check(len(data))
        w = self.writer(key, content_type)
        try:
            w.write(data)
            w.commit()
        except BaseException:
            w.abort()
            raise

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(key)
        yield path

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def delete_prefix(self, prefix: str) -> None:
        path = self._path(prefix.rstrip("/"))
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)

    def move_prefix(self, src: str, dst: str) -> None:
        """Move src's files under dst, merging with what is there (a late thumbnail, say)."""
        source, target = self._path(src.rstrip("/")), self._path(dst.rstrip("/"))
        if not source.exists():
            return
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
            return
        for path in sorted(source.rglob("*")):
            if path.is_file():
                dest = target / path.relative_to(source)
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, dest)
        shutil.rmtree(source, ignore_errors=True)

    def list_keys(self, prefix: str) -> Iterator[str]:
        base = self._path(prefix.rstrip("/")) if prefix.strip("/") else self.root
        if base.is_file():
            yield prefix
            return
        for path in sorted(base.rglob("*")):
            if path.is_file() and self._tmp not in path.parents:
                yield path.relative_to(self.root).as_posix()

    def signed_url(self, key: str, *, filename: str, content_type: str, expires_at: int) -> str:
        return self.link_signer(expires_at)(key, filename, content_type)

    def link_signer(self, expires_at: int) -> LinkSigner:
        base, exp, sign = self._base_url, str(expires_at), self._signer.sign_text

        def signed(key: str, filename: str, content_type: str) -> str:
            path = "/files/" + (key if _PLAIN_KEY.fullmatch(key) else quote(key))
            sig = sign(f"{path}\n{exp}\n{content_type}\n{filename}")
            # urlencode()'s output, built directly: listings sign two URLs per asset
            return (f"{base}{path}?exp={exp}&ct={_quoted_type(content_type)}"
                    f"&fn={_quoted_name(filename)}&sig={sig}")

        return signed

    def fixed_signer(self, expires_at: int, filename: str, content_type: str
                     ) -> Callable[[str], str]:
        base, sign = self._base_url, self._signer.sign_text
        tail = f"\n{expires_at}\n{content_type}\n{filename}"
        query = (f"?exp={expires_at}&ct={_quoted_type(content_type)}"
                 f"&fn={_quoted_name(filename)}&sig=")

        def signed(key: str) -> str:
            path = "/files/" + (key if _PLAIN_KEY.fullmatch(key) else quote(key))
            return base + path + query + sign(path + tail)

        return signed

    def file_path(self, key: str) -> Path:
        """Where a key's bytes are, for the file route."""
        return self._path(key)

    def sweep(self) -> Swept:
        """Remove scratch files that no live process is writing."""
        return self.scratch.sweep()

    def ping(self) -> None:
        """Raise if the folder cannot be written; a full disk still counts as reachable (the
        free space is reported on its own)."""
        probe = self._tmp / f".ping-{uuid.uuid4().hex}"
        try:
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except OSError as exc:
            if not is_disk_full(exc):
                raise
        finally:
            probe.unlink(missing_ok=True)


def _quoted_name(filename: str) -> str:
    """quote_plus(filename), the common names (letters, digits, spaces) without its machinery."""
    if _PLAIN_VALUE.fullmatch(filename):
        return filename.replace(" ", "+")
    return quote_plus(filename)


@functools.lru_cache(maxsize=256)
def _quoted_type(content_type: str) -> str:
    return quote_plus(content_type)
