"""One contract for resumable writes (the tus uploads' bytes) on every Storage backend: saved
bytes survive a new writer at the saved offset, bytes past it do not, parts below S3's 5 MiB
minimum are carried to the next request, and dropping leaves nothing (no open S3 upload)."""

from __future__ import annotations

import os

import pytest
from tests.contract.test_storage import leftovers

from mediashelf.storage.base import Storage
from mediashelf.storage.s3 import S3Storage

MiB = 2**20


def test_resume_across_writers_then_complete(storage: Storage) -> None:
    key = "assets/r1/original"
    data = os.urandom(11 * MiB + 5)  # on S3: one 8 MiB part, then tails
    first = storage.resume(key, 0, {})
    first.write(data[:3 * MiB])
    state = first.save()
    first.close()

    lost = storage.resume(key, 3 * MiB, state)  # a request that dies before its save
    lost.write(b"x" * (6 * MiB))
    lost.save()  # its new tail or appended bytes are never recorded
    lost.close()

    second = storage.resume(key, 3 * MiB, state)
    for at in range(3 * MiB, 10 * MiB, MiB):
        second.write(data[at:at + MiB])
    state = second.save()
    second.close()
    assert not storage.exists(key)

    last = storage.resume(key, 10 * MiB, state)
    last.write(data[10 * MiB:])
    last.complete()
    with storage.open(key) as fh:
        assert fh.read() == data
    assert sorted(leftovers(storage)) == [key]


def test_drop_leaves_nothing(storage: Storage) -> None:
    key = "assets/r2/original"
    writer = storage.resume(key, 0, {})
    writer.write(os.urandom(9 * MiB))
    state = writer.save()
    writer.close()
    assert leftovers(storage)
    if isinstance(storage, S3Storage):
        assert state["upload_id"]
    storage.drop_resumable(key)
    storage.delete_prefix("assets/r2/")
    assert leftovers(storage) == []
    if isinstance(storage, S3Storage):  # and the held lease is released
        listed = storage.client.list_objects_v2(Bucket=storage.bucket,
                                                Prefix=storage.prefix + ".uploads/")
        assert not listed.get("Contents")


def test_missing_bytes_are_reported(storage: Storage) -> None:
    with pytest.raises(FileNotFoundError):
        storage.resume("assets/r3/original", 5, {})
