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
                                         url_ttl=settings.url_ttl)
        return s3
    parsed = urlparse(url)
    root = Path(unquote(parsed.path))
    if parsed.netloc and parsed.netloc != "localhost":
        root = Path(parsed.netloc) / root.relative_to("/") if root.is_absolute() else root
    from mediashelf.storage.local import LocalStorage

    return LocalStorage(root, settings.base_url, signer)
