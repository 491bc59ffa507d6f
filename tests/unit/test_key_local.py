"""The SQLite key read on the event loop's own connection: exactly as fresh as the pooled read,
the same key and versions, and a clear 503 (never a 500) when the file is not a database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mediashelf.app import build_services
from mediashelf.db import migrate
from mediashelf.db.key_local import LocalKeyReader
from mediashelf.domain import ApiKey, AssetType
from mediashelf.errors import Unavailable
from mediashelf.security import hash_api_key
from mediashelf.settings import Settings


def test_sees_every_committed_write_and_agrees_with_the_pooled_read(tmp_path: Path) -> None:
    db = tmp_path / "lib.db"
    services = build_services(Settings(data_dir=tmp_path, database_url=f"sqlite:///{db}",
                                       seed_music=False), with_worker=False)
    migrate.upgrade(services.db)
    reader = LocalKeyReader(str(db))

    def lookup(plain: str) -> ApiKey | None:
        return asyncio.run(reader.lookup(hash_api_key(plain)))

    try:
        assert lookup("msk_not_yet") is None  # opens the connection
        plain, made = services.keys.create("acme")
        found = lookup(plain)  # a key made after the connection opened
        assert found is not None and found.id == made.id and found.tenant_name == "acme"
        assert found == services.keys.resolve(plain)
        assert asyncio.run(services.keys.resolve_async(plain)).versions == found.versions
        before = found.versions
        sink = services.assets.start_upload(made.tenant_id, AssetType.IMAGE)
        sink.feed(b"bytes the worker would check")
        sink.finish("photo", "photo.jpg", "image/jpeg")
        after = lookup(plain)
        assert after is not None and after.versions[1] > before[1]  # the write is seen ...
        assert after.versions[0] == before[0] and after.versions[2:] == before[2:]  # its type's
        services.keys.revoke(plain)
        assert lookup(plain) is None
    finally:
        asyncio.run(reader.close())
        asyncio.run(services.keys.close())
        services.close()


def test_a_file_that_is_no_database_is_unavailable(tmp_path: Path) -> None:
    bad = tmp_path / "not.db"
    bad.write_bytes(b"this is not a SQLite database" * 200)
    reader = LocalKeyReader(str(bad))
    with pytest.raises(Unavailable) as err:
        asyncio.run(reader.lookup(hash_api_key("msk_any")))
    assert err.value.message == "the database is unavailable; try again shortly"
    asyncio.run(reader.close())
