"""API-key hashing and HMAC-signed, expiring file URLs."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

KEY_PREFIX = "msk_"


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """Keys are long random strings, so one SHA-256 is enough (no salt or stretching needed)."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_display_prefix(key: str) -> str:
    return key[: len(KEY_PREFIX) + 6]


def load_or_create_secret(data_dir: Path) -> bytes:
    """The signing secret lives in the data dir, created on first start, readable by us only."""
    path = data_dir / "secret.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(secrets.token_bytes(32))
        tmp.chmod(0o600)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # atomic: the first process to start wins
        tmp.unlink(missing_ok=True)
    return path.read_bytes()


_hmac_new: Callable[..., Any] = hmac.new
with contextlib.suppress(ImportError):  # OpenSSL's HMAC itself: its copy() is one C call,
    import _hashlib  # hmac.HMAC's copy() builds a Python object around one

    _hmac_new = _hashlib.hmac_new


def keyed_sha256(key: bytes) -> Any:
    """HMAC-SHA256 keyed with `key`, nothing hashed yet: copy() it, then update the copy."""
    return _hmac_new(key, digestmod="sha256")


class UrlSigner:
    """HMAC-SHA256 of the parts joined by newlines, 40 hex digits. The key's padded blocks are
    hashed once; each signature copies that state (a listing signs two URLs a row)."""

    def __init__(self, secret: bytes) -> None:
        self._keyed = keyed_sha256(secret)

    def sign(self, *parts: str | int) -> str:
        return self.sign_text("\n".join(str(p) for p in parts))

    def sign_text(self, text: str) -> str:
        """sign() of the parts already joined by newlines."""
        mac: hmac.HMAC = self._keyed.copy()
        mac.update(text.encode())
        return mac.hexdigest()[:40]

    def verify(self, signature: str, *parts: str | int) -> bool:
        # As bytes: compare_digest refuses str with characters outside ASCII (a TypeError).
        return hmac.compare_digest(self.sign(*parts).encode(),
                                   signature.encode("utf-8", "replace"))
