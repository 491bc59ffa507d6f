"""AsyncClient against the real server, the guarded public surface, and a light import."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

import mediashelf
import mediashelf_client
from mediashelf_client import AsyncClient, NotFoundError
from tests.support.server import Server


def test_async_client_uploads_waits_lists_and_deletes(server: Server, api_key: str,
                                                      media: dict[str, Path]) -> None:
    async def go() -> None:
        sent: list[int] = []
        async with AsyncClient(server.url, api_key) as c:
            asset = await c.upload(media["jpeg"], name="async",
                                   progress=lambda s, t: sent.append(s))
            assert sent[-1] == media["jpeg"].stat().st_size
            ready = await c.wait_until_ready(asset, timeout=60)
            assert ready.is_ready and ready.width and ready.mime_type == "image/jpeg"
            page = await c.list(type="IMAGE", scope="mine")
            assert page.total_count == 1 and page.items[0].id == asset.id
            assert [a.id async for a in c.iter_assets(scope="mine", page_size=1)] == [asset.id]
            await c.delete(asset.id)
            with pytest.raises(NotFoundError):
                await c.get(asset.id)

    asyncio.run(go())


def _public(module: object) -> set[str]:
    return {name for name, value in vars(module).items()
            if (not name.startswith("_") or name == "__version__")
            and not isinstance(value, type(mediashelf))}  # submodules are not API


def test_all_public_names_are_exported() -> None:
    public = _public(mediashelf_client)
    assert sorted(mediashelf_client.__all__) == sorted(public)
    assert len(set(mediashelf_client.__all__)) == len(mediashelf_client.__all__)
    for name in public - {"__version__"}:
        assert getattr(mediashelf_client, name).__module__ == "mediashelf_client"


def test_the_server_package_re_exports_the_sdk_unchanged() -> None:
    assert sorted(mediashelf.__all__) == sorted(_public(mediashelf))
    assert mediashelf.__all__ == mediashelf_client.__all__
    for name in mediashelf.__all__:
        assert getattr(mediashelf, name) is getattr(mediashelf_client, name)


def test_importing_the_sdk_loads_no_server_code() -> None:
    heavy = ["fastapi", "starlette", "sqlalchemy", "uvicorn", "alembic", "pydantic", "av", "PIL",
             "numpy", "mediashelf.app", "mediashelf.cli"]
    code = ("import sys; from mediashelf import Client; "
            f"print([m for m in {heavy!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
