"""An embedded library moved with `library export` / `library import` onto each backend."""

from __future__ import annotations

import json
import uuid
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
            ready = {k: wait_for(c, upload(c, media[k], name=f"my {k}",
                                         **({"tags": "beach,drone"} if k == "png" else {}))["id"])
                     for k in ("png", "jpeg", "mp3", "mp4")}
            failed = wait_for(c, upload(c, media["corrupt"])["id"])
            assert failed["status"] == "FAILED"
            assert c.delete(f"/v1/assets/{ready['jpeg']['id']}").status_code == 200
            before = c.get("/v1/assets", params=ALL)
            assert before.headers["X-Total-Count"] == "4"
            made = c.post("/v1/webhooks", json={"url": "https://hooks.example.com/ünïcode",
                                                "events": ["asset.ready"], "description": "📦"})
            assert made.status_code == 201, made.text
            hooks = c.get("/v1/webhooks").json()
    finally:
        source.stop()
    export = tmp_path / "export"
    out = source.cli("library", "export", str(export))
    assert "exported 5 assets" in out.stdout and "1 webhook endpoints" in out.stdout
    again = source.cli("library", "export", str(export), check=False)
    assert again.returncode != 0 and "not empty" in again.stderr

    target = make_server(start=False)
    out = target.cli("library", "import", str(export))
    assert "imported 5 assets" in out.stdout and "1 webhook endpoints" in out.stdout
    target.start()
    with target.client(key) as c, httpx.Client() as anonymous:
        after = c.get("/v1/assets", params=ALL)
        assert after.headers["X-Total-Count"] == "4"
        assert without_urls(after.json()) == without_urls(before.json())
        assert c.get("/v1/webhooks").json() == hooks  # the subscriptions moved too
        # tags and search words travel with the assets (the words are made again on import)
        found = c.get("/v1/assets", params={"q": "my pn", "tag": "drone"}).json()
        assert [(a["id"], a["tags"]) for a in found] == [(ready["png"]["id"], ["beach", "drone"])]
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


# Exported by the release before `declared_type` became a column (schema 0002): the flag is in
# each asset's extra. Two assets were still PROCESSING: a PNG uploaded as VIDEO, and an MPEG-TS
# clip named clip.mp3 uploaded without a type (so first taken for AUDIO).
BEFORE_DECLARED_TYPE = Path(__file__).parent.parent / "data" / "export-v1"
BEFORE_KEY = "msk_aef5wn36Iuedaikv63MiwGRqevn6JcL2eKnWe8vbcdM"


def test_an_export_from_before_declared_type_still_imports(
        make_server: Callable[..., Server], tmp_path: Path) -> None:
    target = make_server(start=False)
    out = target.cli("library", "import", str(BEFORE_DECLARED_TYPE))
    # an export from before the webhooks has none, and imports without them
    assert "imported 5 assets" in out.stdout and "0 webhook endpoints" in out.stdout
    target.start()
    with target.client(BEFORE_KEY) as c:
        listed = c.get("/v1/assets", params=ALL).json()
        by_name = {a["name"]: a for a in listed}
        assert set(by_name) == {"declared png", "sniffed mp3", "broken", "png declared as video",
                                "ts named mp3"}
        ids = {name: a["id"] for name, a in by_name.items()}
        declared = {name: target.services.assets.peek(uuid.UUID(i)).declared_type
                    for name, i in ids.items()}
        assert declared == {"declared png": True, "sniffed mp3": False, "broken": False,
                            "png declared as video": True, "ts named mp3": False}
        assert by_name["declared png"]["metadata"] == {"format": "png", "colorMode": "RGB",
                                                       "frames": 1, "hasAlpha": False}
        assert by_name["sniffed mp3"]["metadata"]["container"] == "mp3"
        assert all("declaredType" not in a["metadata"] for a in listed)
        # the two left PROCESSING are queued again and judged by the flag they were sent with
        mismatch = wait_for(c, ids["png declared as video"])
        assert mismatch["status"] == "FAILED"
        assert mismatch["failureReason"] == "declared VIDEO but the file is a PNG image"
        detected = wait_for(c, ids["ts named mp3"])
        assert (detected["status"], detected["type"]) == ("READY", "VIDEO"), \
            detected["failureReason"]

    again = tmp_path / "again"
    target.cli("library", "export", str(again))
    assert json.loads((again / "manifest.json").read_text())["version"] == 2
    rows = [json.loads(line) for line in (again / "assets.jsonl").read_text().splitlines()]
    assert {r["name"]: r["declared_type"] for r in rows} == declared
    assert all("declaredType" not in r["extra"] for r in rows)
