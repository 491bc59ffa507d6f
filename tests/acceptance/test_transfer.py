"""An embedded library moved with `library export` / `library import` onto each backend."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from tests.support.server import Server, upload, wait_for

ALL = {"status": "READY,PROCESSING,FAILED", "pageSize": 100}


def without_urls(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in a.items() if k not in ("fileUrl", "thumbnailUrl")} for a in items]


def test_embedded_library_moves_to_another_backend(
        make_server: Callable[..., Server], media: dict[str, Path], tmp_path: Path) -> None:
    source = Server(tmp_path / "embedded").start()  # always the embedded default
    try:
        key = source.new_key("movers")
        with source.client(key) as c:
            ready = {k: wait_for(c, upload(c, media[k], name=f"my {k}")["id"])
                     for k in ("png", "jpeg", "mp3", "mp4")}
            failed = wait_for(c, upload(c, media["corrupt"])["id"])
            assert failed["status"] == "FAILED"
            assert c.delete(f"/v1/assets/{ready['jpeg']['id']}").status_code == 200
            before = c.get("/v1/assets", params=ALL)
            assert before.headers["X-Total-Count"] == "4"
    finally:
        source.stop()
    export = tmp_path / "export"
    out = source.cli("library", "export", str(export))
    assert "exported 5 assets" in out.stdout
    again = source.cli("library", "export", str(export), check=False)
    assert again.returncode != 0 and "not empty" in again.stderr

    target = make_server(start=False)
    out = target.cli("library", "import", str(export))
    assert "imported 5 assets" in out.stdout
    target.start()
    with target.client(key) as c, httpx.Client() as anonymous:
        after = c.get("/v1/assets", params=ALL)
        assert after.headers["X-Total-Count"] == "4"
        assert without_urls(after.json()) == without_urls(before.json())
        for kind in ("png", "mp3", "mp4"):
            moved = c.get(f"/v1/assets/{ready[kind]['id']}").json()
            assert moved["status"] == "READY"
            assert anonymous.get(moved["fileUrl"]).content == media[kind].read_bytes()
            if moved["thumbnailUrl"]:
                thumb = anonymous.get(moved["thumbnailUrl"])
                assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp"
        # what was in the trash travelled too, and can still be brought back
        deleted = ready["jpeg"]["id"]
        assert c.get(f"/v1/assets/{deleted}").status_code == 404
        target.cli("assets", "restore", deleted)
        back = c.get(f"/v1/assets/{deleted}").json()
        assert anonymous.get(back["fileUrl"]).content == media["jpeg"].read_bytes()

    refused = target.cli("library", "import", str(export), check=False)
    assert refused.returncode != 0 and "not empty" in refused.stderr
