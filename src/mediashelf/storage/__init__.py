"""Pick the storage backend by URL scheme."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from mediashelf.security import UrlSigner
from mediashelf.settings import Settings
from mediashelf.storage.base import Storage


def open_storage(settings: Settings, signer: UrlSigner) -> Storage:
    url = settings.storage_url
    if url.startswith("s3://"):
        from mediashelf.storage.s3 import S3Storage  # boto3 is an optional extra

        s3: Storage = S3Storage.from_url(url, endpoint_url=settings.s3_endpoint_url,
                                         url_ttl=settings.url_ttl,
                                         scratch=_scratch(settings),
                                         upload_lease=settings.upload_lease)
        return s3
    from mediashelf.storage.local import LocalStorage

    return LocalStorage(_root(url), settings.base_url, signer)


def _scratch(settings: Settings) -> Path:
    return settings.data_dir / "scratch"


def _root(url: str) -> Path:
    parsed = urlparse(url)
    root = Path(unquote(parsed.path))
    if parsed.netloc and parsed.netloc != "localhost":
        root = Path(parsed.netloc) / root.relative_to("/") if root.is_absolute() else root
    return root
