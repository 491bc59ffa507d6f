"""Client.upload takes a path, a binary file or bytes; an upload whose answer is lost is retried
under its Idempotency-Key and makes one asset; folder uploads skip what the library holds."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import httpx
import pytest

from mediashelf_client import AsyncClient, Client
from tests.inproc.test_dedupe import fresh_png
from tests.support.server import Server


class LosesFirstAnswer(httpx.HTTPTransport):
    """The real transport, except that the first POST's answer never reaches the client (as
    when a proxy times out after the server did the work)."""

    def __init__(self) -> None:
        super().__init__()
        self.posts: list[httpx.Request] = []
        self.sha256_queries = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method == "GET" and "sha256" in request.url.params:
            self.sha256_queries += 1
        if request.method == "POST":
            self.posts.append(request)
            if len(self.posts) == 1:
                response.read()
                raise httpx.ReadTimeout("the answer was lost", request=request)
        return response


def test_upload_takes_paths_binary_files_and_bytes(sdk: Client, tmp_path: Path) -> None:
    paths = [fresh_png(tmp_path) for _ in range(5)]
    from_path = sdk.upload(str(paths[0]))
    assert from_path.name == paths[0].name
    with open(paths[1], "rb") as fh:
        assert sdk.upload(fh).name == paths[1].name
    assert sdk.upload(paths[2].read_bytes()).name == "upload"  # named "upload" unless named
    assert sdk.upload(bytearray(paths[3].read_bytes()), name="mine").name == "mine"
    assert sdk.upload(memoryview(paths[4].read_bytes())).size_bytes == paths[4].stat().st_size
    again = sdk.upload(paths[0].read_bytes(), name="other")  # the same bytes: the same asset
    assert again.id == from_path.id
    assert sdk.upload(paths[0].read_bytes(), dedupe=False).id != from_path.id
    with open(paths[0], encoding="latin-1") as text, pytest.raises(TypeError, match="binary"):
        sdk.upload(text)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="int"):
        sdk.upload(42)  # type: ignore[arg-type]


def test_a_lost_answer_is_retried_under_the_same_key(server: Server, api_key: str,
                                                     tmp_path: Path) -> None:
    transport = LosesFirstAnswer()
    data = fresh_png(tmp_path).read_bytes()
    with Client(server.url, api_key, transport=transport, retry_backoff=0.01) as c:
        made = c.upload(io.BytesIO(data), name="once", dedupe=False)  # dedupe off: the key
        keys = [r.headers["idempotency-key"] for r in transport.posts]
        assert len(keys) == 2 and keys[0] == keys[1]
        listed = c.list(status=["PROCESSING", "READY"], scope="mine")
        assert [a.id for a in listed] == [made.id]


def test_upload_dir_skips_what_the_library_holds(server: Server, api_key: str,
                                                 tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    (folder / ".hidden").mkdir(parents=True)
    files = [fresh_png(folder) for _ in range(3)]
    fresh_png(folder / ".hidden")
    transport = LosesFirstAnswer()
    transport.posts.append(httpx.Request("POST", server.url))  # lose no answer here
    with Client(server.url, api_key, transport=transport) as c:
        held = c.upload(files[0])
        first = c.upload_dir(folder)
        assert [p for p, _ in first.skipped] == [files[0]] and first.skipped[0][1].id == held.id
        assert sorted(p for p, _ in first.uploaded) == sorted(files[1:])
        assert first.summary() == "2 uploaded, skipped 1 already in the library"
        posts = len(transport.posts)
        again = c.upload_dir(str(folder))
        assert len(again.skipped) == 3 and not again.uploaded and not again.failed
        assert len(transport.posts) == posts  # not a byte sent
        assert transport.sha256_queries == 2  # one query per folder upload

    async def go() -> tuple[str, int]:
        async with AsyncClient(server.url, api_key) as ac:
            one = await ac.upload(fresh_png(tmp_path).read_bytes(), name="async")
            result = await ac.upload_dir(folder)
            return one.name or "", len(result.skipped)

    assert asyncio.run(go()) == ("async", 3)


def test_the_digest_cache_reads_a_file_again_only_once_it_changed(tmp_path: Path) -> None:
    from mediashelf_client._files import HashCache, sha256_of

    files = [fresh_png(tmp_path) for _ in range(2)]
    first = HashCache(tmp_path / "cache")
    assert first.digests(files) == {f: sha256_of(f) for f in files}
    first.close()
    files[0].write_bytes(files[0].read_bytes()[::-1])  # same size, other bytes
    again = HashCache(tmp_path / "cache")
    got = again.digests([*files, tmp_path / "missing.png"])  # a missing file is left out
    assert got == {files[0]: sha256_of(files[0]), files[1]: sha256_of(files[1])}
    again.close()
    nowhere = HashCache(Path("/proc/no-such-place"))  # cannot be written: hashes each time
    assert nowhere.digests(files[:1]) == {files[0]: sha256_of(files[0])}
