"""API-key hashing and signed, expiring file URLs."""

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
    """A keyed BLAKE2b-160 of the parts joined by newlines, 40 hex digits: a MAC by design (the
    key is a parameter of the hash, not padded blocks around it), and in one C object whose
    keyed state is copied per signature, half the cost of HMAC-SHA256's (a listing signs two
    URLs a row). Links an earlier version signed with HMAC-SHA256 are still accepted until they
    expire."""

    def __init__(self, secret: bytes) -> None:
        # BLAKE2b takes keys of up to 64 bytes (ours are 32): a longer one is hashed to 64
        key = secret if len(secret) <= 64 else hashlib.blake2b(secret).digest()
        self._keyed = hashlib.blake2b(key=key, digest_size=20)
        self._legacy = keyed_sha256(secret)

    def sign(self, *parts: str | int) -> str:
        return self.sign_text("\n".join(str(p) for p in parts))

    def sign_text(self, text: str) -> str:
        """sign() of the parts already joined by newlines."""
        mac = self._keyed.copy()
        mac.update(text.encode())
        return mac.hexdigest()

    def verify(self, signature: str, *parts: str | int) -> bool:
        # As bytes: compare_digest refuses str with characters outside ASCII (a TypeError).
        given = signature.encode("utf-8", "replace")
        text = "\n".join(str(p) for p in parts).encode()
        mac = self._keyed.copy()
        mac.update(text)
        if hmac.compare_digest(mac.hexdigest().encode(), given):
            return True
        legacy = self._legacy.copy()  # a link handed out by an earlier version
        legacy.update(text)
        return hmac.compare_digest(legacy.hexdigest()[:40].encode(), given)
