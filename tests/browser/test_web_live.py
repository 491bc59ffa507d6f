"""The page follows the event stream: an asset turns READY on screen with no listing or asset
poll, and a page whose stream cannot open falls back to polling."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import _login
from tests.browser.test_web import card
from tests.support import samples
from tests.support.server import Server

pytestmark = pytest.mark.browser


@pytest.fixture
def quiet_server(tmp_path: Path) -> Iterator[Server]:
    """A server with no worker: uploads wait in PROCESSING until a test starts one."""
    srv = Server(tmp_path / "data", args=("--no-worker",)).start()
    yield srv
    srv.stop()


def asset_reads(log: list[str]) -> list[str]:
    """The listing and single-asset requests among those logged (the stream excluded)."""
    return [u for u in log if "/v1/assets" in u and "/v1/events" not in u]


def test_an_asset_turns_ready_without_polling(new_page: Any, quiet_server: Server,
                                              tmp_path: Path) -> None:
    key = quiet_server.new_key("live")
    png = samples.png(tmp_path / "dawn.png", size=(64, 40))
    page = new_page()
    log: list[str] = []
    page.on("request", lambda r: log.append(f"{r.method} {r.url}"))
    _login(page, quiet_server.url, key)
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Upload").click()
    chooser.value.set_files(str(png))
    item = card(page, "dawn.png")
    expect(item).to_have_attribute("data-status", "PROCESSING", timeout=30_000)
    expect(page.locator(".upload", has_text="dawn.png")).to_have_attribute(
        "data-state", "processing")
    assert any("/v1/events" in u for u in log)
    page.wait_for_timeout(3000)  # longer than the page's first poll delay (1.5 s)
    settled = len(log)
    worker = subprocess.Popen([*quiet_server.command, "worker"], env=quiet_server.env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        expect(item).to_have_attribute("data-status", "READY", timeout=30_000)
        expect(page.locator(".upload", has_text="dawn.png")).to_have_attribute(
            "data-state", "ready")
        expect(item.locator(".status")).to_have_text("Ready")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
    assert asset_reads(log[settled:]) == [], log[settled:]


def test_without_the_stream_the_page_polls(new_page: Any, quiet_server: Server,
                                           tmp_path: Path) -> None:
    key = quiet_server.new_key("fallback")
    png = samples.png(tmp_path / "dusk.png", size=(64, 40))
    page = new_page()
    page.route("**/v1/events*", lambda route: route.fulfill(
        status=404, content_type="application/json",
        body='{"code": 404, "message": "Not Found"}'))  # as a server without the stream
    log: list[str] = []
    page.on("request", lambda r: log.append(f"{r.method} {r.url}"))
    _login(page, quiet_server.url, key)
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Upload").click()
    chooser.value.set_files(str(png))
    item = card(page, "dusk.png")
    expect(item).to_have_attribute("data-status", "PROCESSING", timeout=30_000)
    settled = len(log)
    worker = subprocess.Popen([*quiet_server.command, "worker"], env=quiet_server.env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        expect(item).to_have_attribute("data-status", "READY", timeout=30_000)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
    assert asset_reads(log[settled:])  # it got there by polling
