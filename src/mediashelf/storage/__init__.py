"""Pick the storage backend by URL scheme."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from mediashelf.security import UrlSigner
from mediashelf.settings import Settings
from mediashelf.storage.base import Storage
from mediashelf.storage.space import SpaceGuard


def open_storage(settings: Settings, signer: UrlSigner,
                 space: SpaceGuard | None = None) -> Storage:
    url = settings.storage_url
    if url.startswith("s3://"):
        from mediashelf.storage.s3 import S3Storage  # boto3 is an optional extra

        s3: Storage = S3Storage.from_url(url, endpoint_url=settings.s3_endpoint_url,
                                         url_ttl=settings.url_ttl,
                                         scratch=_scratch(settings),
                                         upload_lease=settings.upload_lease, space=space)
        return s3
    from mediashelf.storage.local import LocalStorage

    return LocalStorage(_root(url), settings.base_url, signer, space)


def local_folders(settings: Settings) -> list[Path]:
    """The local folders this process writes: stored files (or, on S3, scratch copies) and the
    SQLite database's."""
    url = settings.storage_url
    folders = [_scratch(settings) if url.startswith("s3://") else _root(url)]
    if settings.database_url.startswith("sqlite:"):
        from sqlalchemy.engine import make_url

        database = make_url(settings.database_url).database
        if database and database != ":memory:":
            folders.append(Path(database).absolute().parent)
    return folders


def _scratch(settings: Settings) -> Path:
    return settings.data_dir / "scratch"


def _root(url: str) -> Path:
    parsed = urlparse(url)
    root = Path(unquote(parsed.path))
    if parsed.netloc and parsed.netloc != "localhost":
        root = Path(parsed.netloc) / root.relative_to("/") if root.is_absolute() else root
    return root
